/**
 * The benchmark's second exchange process: the simulated Kalshi exchange (src/sim, with a
 * configurable status mix, which src/sim/main.ts has no flag for) plus a lifecycle-frame
 * "blaster" — a WebSocket endpoint that speaks just enough of Kalshi's protocol (subscribe →
 * `subscribed`) and then writes pre-encoded, legal `market_lifecycle_v2` frames straight onto
 * the TCP socket as fast as the socket drains. The sim's own random lifecycle generator is far
 * too slow (and too branchy) to drive 200k+ msgs/s.
 *
 *   node --import tsx bench/sim-child.ts --markets N [--active 0.3] [--seed 1]
 *
 * Prints {"restUrl","wsUrl","blastUrl","ctlUrl","active"} on stdout. Control (HTTP, JSON):
 *   POST /prepare {"conn": name, "kind": "toggle", "offset", "tickers", "frames"}
 *        {"conn": name, "kind": "close", "offset", "tickers", "closeTs"}  → {frames, bytes}
 *   POST /send {"conn": name}   → writes the prepared frames, answers when they are all written
 *   GET  /conns                 → names of the subscribed blaster connections
 * Blaster connections are opened at `${blastUrl}?name=NAME`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { rawDataToString } from '../src/util/ws-data.js';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { startSimExchange } from '../src/sim/index.js';
import { createLogger } from '../src/log.js';
import { parseArgsOrExit } from './lib.js';

const args = parseArgsOrExit(
  process.argv.slice(2),
  {
    markets: { kind: 'number', default: 1_000_000, min: 1 },
    active: { kind: 'number', default: 0.3, min: 0 },
    seed: { kind: 'number', default: 1 },
    // The live figures want every active market blastable on market_lifecycle_v2; combo markets
    // (whose frames belong on multivariate_market_lifecycle) would leave fewer than the 300k of 1M.
    'combo-share': { kind: 'number', default: 0.1, min: 0 },
  },
  'bench sim-child',
);
const markets = args.markets;
const activeShare = args.active;
const seed = args.seed;

/** Status mix with `activeShare` active; the rest spread like a live exchange. */
function statusMix(active: number): Record<string, number> {
  const rest = 1 - active;
  return {
    active,
    initialized: rest * 0.1,
    inactive: rest * 0.05,
    closed: rest * 0.15,
    determined: rest * 0.1,
    disputed: rest * 0.01,
    amended: rest * 0.01,
    finalized: rest * 0.58,
  };
}

const logger = createLogger('warn', 'kalshi-sim');
const sim = await startSimExchange({ markets, seed, statusMix: statusMix(activeShare), comboShare: args['combo-share'], logger, pingIntervalMs: 10_000 });

// Active ordinary tickers in the sim's stable order (the registry learns them over REST). Combo
// markets are left out: their frames belong on multivariate_market_lifecycle, never on the
// market_lifecycle_v2 frames the blaster writes.
const st = sim.core.store;
const now = Date.now();
// Markets that close by themselves within the hour are left out: a toggle frame for one that
// closed during a run would be rejected. The order stays the simulator's (the registry's
// insertion order, as in every earlier run of this bench: a toggle round walks the store's cells
// roughly in order; the same frames in random cell order cost noticeably more per frame).
const activeTickers: string[] = [];
for (let i = 0; i < st.count; i++) {
  if (st.effStatus(i, now) === 2 /* ST_ACTIVE */ && !st.isCombo(i) && (st.close[i] ?? 0) > now + 3_600_000) activeTickers.push(st.ticker[i] as string);
}

// ---- blaster -----------------------------------------------------------------------------------

interface Conn {
  ws: WebSocket;
  socket: Socket;
  sid: number;
  seq: number;
  subscribed: boolean;
  prepared: Buffer[] | null;
  preparedFrames: number;
}
const conns = new Map<string, Conn>();
let nextSid = 1;

/** An unmasked server→client text frame around an ASCII payload. */
function encodeFrame(payload: string): Buffer {
  const len = payload.length;
  const headerLen = len < 126 ? 2 : len < 65_536 ? 4 : 10;
  const buf = Buffer.allocUnsafe(headerLen + len);
  buf[0] = 0x81;
  if (len < 126) buf[1] = len;
  else if (len < 65_536) {
    buf[1] = 126;
    buf.writeUInt16BE(len, 2);
  } else {
    buf[1] = 127;
    buf.writeBigUInt64BE(BigInt(len), 2);
  }
  buf.write(payload, headerLen, 'latin1');
  return buf;
}

const CHUNK = 1 << 20;

/** Builds the frames of one blast into ~1 MiB chunks that each end on a frame boundary. */
function prepare(conn: Conn, spec: PrepareSpec): { frames: number; bytes: number } {
  const tickers = activeTickers.slice(spec.offset, spec.offset + spec.tickers);
  if (tickers.length === 0) throw new Error('no tickers in range');
  const chunks: Buffer[] = [];
  let parts: Buffer[] = [];
  let partBytes = 0;
  let bytes = 0;
  let frames = 0;
  const push = (msg: string): void => {
    conn.seq++;
    const frame = encodeFrame(`{"type":"market_lifecycle_v2","sid":${conn.sid},"seq":${conn.seq},"msg":${msg}}`);
    parts.push(frame);
    partBytes += frame.length;
    bytes += frame.length;
    frames++;
    if (partBytes >= CHUNK) {
      chunks.push(Buffer.concat(parts, partBytes));
      parts = [];
      partBytes = 0;
    }
  };
  if (spec.kind === 'toggle') {
    // Whole rounds over the ticker set, an even number of them: every market ends active again.
    const perRound = tickers.length;
    let rounds = Math.max(2, Math.round(spec.frames / perRound));
    if (rounds % 2) rounds++;
    for (let r = 0; r < rounds; r++) {
      const ev = r % 2 === 0 ? 'deactivated' : 'activated';
      const flag = r % 2 === 0 ? 'true' : 'false';
      for (const t of tickers) push(`{"market_ticker":"${t}","event_type":"${ev}","is_deactivated":${flag}}`);
    }
  } else {
    for (const t of tickers) push(`{"market_ticker":"${t}","event_type":"close_date_updated","close_ts":${spec.closeTs}}`);
  }
  if (partBytes > 0) chunks.push(Buffer.concat(parts, partBytes));
  conn.prepared = chunks;
  conn.preparedFrames = frames;
  return { frames, bytes };
}

async function send(conn: Conn): Promise<{ frames: number; ms: number }> {
  const chunks = conn.prepared;
  if (chunks === null) throw new Error('nothing prepared');
  conn.prepared = null;
  const t0 = performance.now();
  for (const c of chunks) {
    if (!conn.socket.write(c)) await new Promise<void>((r) => conn.socket.once('drain', r));
  }
  return { frames: conn.preparedFrames, ms: performance.now() - t0 };
}

const blastHttp = createServer((_req, res) => {
  res.writeHead(426).end();
});
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
blastHttp.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => {
    const name = new URL(req.url ?? '/', 'http://x').searchParams.get('name') ?? `c${conns.size}`;
    const conn: Conn = { ws, socket: socket as Socket, sid: 0, seq: 0, subscribed: false, prepared: null, preparedFrames: 0 };
    (socket as Socket).setNoDelay(true);
    conns.set(name, conn);
    ws.on('message', (data) => {
      let cmd: { id?: number; cmd?: string; params?: { channels?: unknown } };
      try {
        cmd = JSON.parse(rawDataToString(data)) as { id?: number; cmd?: string; params?: { channels?: unknown } };
      } catch {
        return;
      }
      if (cmd.cmd === 'subscribe') {
        // One `subscribed` per channel, each with its own sid (as the sim and Kalshi answer a
        // subscribe that names both lifecycle channels); frames go out on market_lifecycle_v2's.
        const asked = Array.isArray(cmd.params?.channels) ? (cmd.params.channels as unknown[]) : ['market_lifecycle_v2'];
        for (const channel of asked) {
          if (channel !== 'market_lifecycle_v2' && channel !== 'multivariate_market_lifecycle') continue;
          const sid = nextSid++;
          if (channel === 'market_lifecycle_v2') {
            conn.sid = sid;
            conn.seq = 0;
            conn.subscribed = true;
          }
          ws.send(JSON.stringify({ id: cmd.id ?? 1, type: 'subscribed', msg: { channel, sid } }));
        }
      }
    });
    const ping = setInterval(() => ws.ping(), 5_000);
    ws.on('close', () => {
      clearInterval(ping);
      if (conns.get(name) === conn) conns.delete(name);
    });
  });
});

interface PrepareSpec {
  conn: string;
  kind: 'toggle' | 'close';
  offset: number;
  tickers: number;
  frames: number;
  closeTs: number;
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown) : {};
}

function reply(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

const ctl = createServer((req, res) => {
  void (async () => {
    try {
      if (req.url === '/conns')
        return reply(
          res,
          200,
          [...conns].filter(([, c]) => c.subscribed).map(([n]) => n),
        );
      const spec = (await body(req)) as PrepareSpec;
      const conn = conns.get(spec.conn);
      if (conn === undefined || !conn.subscribed) return reply(res, 404, { error: `no subscribed connection ${spec.conn}` });
      if (req.url === '/prepare') return reply(res, 200, prepare(conn, spec));
      if (req.url === '/send') return reply(res, 200, await send(conn));
      reply(res, 404, { error: 'unknown path' });
    } catch (err) {
      reply(res, 500, { error: err instanceof Error ? err.message : String(err) });
    }
  })();
});

const listen = (srv: ReturnType<typeof createServer>): Promise<number> =>
  new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : 0);
    });
  });
const blastPort = await listen(blastHttp);
const ctlPort = await listen(ctl);

process.stdout.write(
  JSON.stringify({
    restUrl: sim.restUrl,
    wsUrl: sim.wsUrl,
    blastUrl: `ws://127.0.0.1:${blastPort}/trade-api/ws/v2`,
    ctlUrl: `http://127.0.0.1:${ctlPort}`,
    active: activeTickers.length,
    markets: sim.marketCount,
  }) + '\n',
);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  for (const c of conns.values()) c.socket.destroy();
  blastHttp.close();
  ctl.close();
  void sim.close().finally(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
// Never outlive the parent.
process.on('disconnect', stop);
