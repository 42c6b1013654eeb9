/**
 * The `socket` actor of machines/lifecycle-connection.ts: one `ws` WebSocket to Kalshi, wrapped
 * in an XState callback actor. It connects (signing the upgrade when credentials are given),
 * puts every text frame into the connection's FrameQueue, and reports to the chart only what
 * changes the connection (open, `subscribed`, terminal channel error, close, idle). Stopping the
 * actor (the chart leaving its `connection` state) closes the socket.
 *
 * Liveness: Kalshi pings every 10 s and `ws` answers by itself; silence for half of
 * `idleTimeoutMs` sends a client ping (a quiet but healthy server answers it), silence for the
 * whole timeout reports `WS.IDLE`, on which the chart reconnects. Paused for backpressure, the
 * socket is not silent: the watchdog waits.
 *
 * Size: a message larger than MAX_FRAME_BYTES (1 MiB; the largest real frame is ~1.6 KB) is not
 * read. `ws` (maxPayload) stops at its header and closes with 1009; the close is reported like
 * any other (the chart reconnects with its backoff, and the resubscription means a reconcile),
 * with a reason that names the limit, and `onOversizedFrame` counts it.
 */
import { WebSocket } from 'ws';
import { fromCallback } from 'xstate';
import type { SocketCommand, SocketEvent, SocketInput } from '../../machines/lifecycle-connection.js';
import { MAX_FRAME_BYTES, truncateForLog } from '../domain/limits.js';
import { silentLogger, type Logger } from '../log.js';
import { signKalshiRequest, type KalshiCredentials } from './auth.js';
import { ErrorFrameSchema, SubscribedFrameSchema, TERMINAL_WS_ERROR_CODES } from './schemas.js';
import { redactUrl as publicWsUrl } from '../util/redact-url.js';
import { rawDataToString } from '../util/ws-data.js';

export interface WsConnectionOptions {
  /** `ws://` or `wss://` URL (user-info, if any, is never logged). */
  readonly url: string;
  readonly credentials?: KalshiCredentials;
  readonly logger?: Logger;
  /** Opening-handshake timeout. Default 10 000 ms. */
  readonly handshakeTimeoutMs?: number;
  /** No frame, ping or pong within this long → `WS.IDLE`. Default 30 000 ms. */
  readonly idleTimeoutMs?: number;
  /**
   * Called when the server sent a message larger than MAX_FRAME_BYTES (the connection is then
   * closed with 1009 and made again): the registry counts it as a quarantined input.
   */
  readonly onOversizedFrame?: (limitBytes: number) => void;
}

/** ws's error code for a message above `maxPayload` (it then closes with 1009). */
const WS_TOO_BIG = 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';

/** Close grace: a server that does not answer our close frame is cut off after this long. */
const CLOSE_GRACE_MS = 2_000;

/** The URL without credentials, for messages and the chart's context (the one redaction: src/util/redact-url.ts). */
export { publicWsUrl };

function handshakeMessage(status: number, hasCredentials: boolean): string {
  if (status === 401 || status === 403) {
    return hasCredentials
      ? `Kalshi rejected the WebSocket handshake with HTTP ${status}: check the credentials (API key id and private key; demo and production keys are separate, the key may have been revoked, and the clock must be in sync for the signed timestamp).`
      : `Kalshi rejected the WebSocket handshake with HTTP ${status}: the WebSocket requires authentication, check the credentials (pass an API key id and private key).`;
  }
  return `WebSocket handshake failed with HTTP ${status}.`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** How Kalshi starts its data frames: the type is the first key of every recorded frame. */
const DATA_FRAME = /^\{"type":"(?:market_lifecycle_v2|multivariate_market_lifecycle|event_lifecycle)"/;

/**
 * Whether a message is certainly a data frame, not a command reply. On the firehose the two
 * scans for replies were most of this handler's own time: ~410 ns per 200-byte frame against
 * ~28 ns for this anchored test. A frame written some other way (another key first,
 * whitespace) is scanned for replies as before.
 */
function isDataFrame(text: string): boolean {
  return DATA_FRAME.test(text);
}

/** The socket actor for one exchange URL (see the module comment). */
export function wsConnectionActor(options: WsConnectionOptions) {
  const log = options.logger ?? silentLogger;
  const url = options.url;
  const shownUrl = publicWsUrl(url);
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;

  return fromCallback<SocketCommand, SocketInput>(({ input, sendBack, receive }) => {
    const frames = input.frames;
    const report = (event: SocketEvent) => {
      if (!closed) sendBack(event);
    };
    let closed = false;
    let nextCommandId = 1;
    let httpStatus: number | null = null;
    let lastError: string | null = null;
    /** sid → channel, from `subscribed` replies: a terminal error names the sid, not the channel. */
    const sidChannels = new Map<number, string>();
    let lastActivity = performance.now();
    let pingSent = false;
    let watchdog: NodeJS.Timeout | undefined;

    const headers = options.credentials ? signKalshiRequest(options.credentials, 'GET', new URL(url).pathname) : undefined;
    const ws = new WebSocket(url, { handshakeTimeout: handshakeTimeoutMs, maxPayload: MAX_FRAME_BYTES, ...(headers ? { headers } : {}) });
    const touch = () => {
      lastActivity = performance.now();
      pingSent = false;
    };

    const onWatchdog = () => {
      watchdog = undefined;
      if (closed || ws.readyState !== WebSocket.OPEN) return;
      const half = idleTimeoutMs / 2;
      if (frames.paused) {
        // Time spent paused for backpressure is not the server's silence.
        touch();
        schedule(half);
        return;
      }
      const idle = performance.now() - lastActivity;
      if (idle >= idleTimeoutMs) {
        log.warn({ url: shownUrl, idleMs: Math.round(idle) }, 'lifecycle socket idle; reconnecting');
        report({ type: 'WS.IDLE', idleMs: idleTimeoutMs });
        return;
      }
      if (idle >= half && !pingSent) {
        pingSent = true;
        try {
          ws.ping();
        } catch {
          // The close handler deals with a socket that can no longer send.
        }
      }
      schedule(idle < half ? half - idle : idleTimeoutMs - idle);
    };
    const schedule = (ms: number) => {
      watchdog = setTimeout(onWatchdog, Math.max(1, Math.ceil(ms)));
      watchdog.unref();
    };

    ws.on('unexpected-response', (_req, res) => {
      httpStatus = res.statusCode ?? 0;
      lastError = handshakeMessage(httpStatus, options.credentials !== undefined);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      touch();
      frames.attach({ pause: () => ws.pause(), resume: () => ws.resume() });
      schedule(idleTimeoutMs / 2);
      log.info({ url: shownUrl }, 'lifecycle socket connected');
      report({ type: 'WS.OPEN' });
    });
    /** A command reply the chart must hear of (`subscribed`, a terminal error); others are the handler's alone. */
    const onReply = (text: string) => {
      // Cheap substring tests first: only control frames are parsed here, never the firehose.
      if (text.includes('"subscribed"')) {
        const frame = SubscribedFrameSchema.safeParse(parseJson(text));
        if (frame.success) {
          sidChannels.set(frame.data.msg.sid, frame.data.msg.channel);
          report({ type: 'WS.SUBSCRIBED', channel: frame.data.msg.channel, sid: frame.data.msg.sid });
        }
      } else if (text.includes('"error"')) {
        const frame = ErrorFrameSchema.safeParse(parseJson(text));
        if (frame.success && TERMINAL_WS_ERROR_CODES.has(frame.data.msg.code)) {
          const sid = frame.data.sid;
          const channel = sid === undefined ? null : (sidChannels.get(sid) ?? null);
          if (sid !== undefined) sidChannels.delete(sid);
          const text = frame.data.msg.msg;
          log.warn(
            { code: frame.data.msg.code, msg: text == null ? text : truncateForLog(text), sid, channel },
            'lifecycle socket: Kalshi dropped the subscription; resubscribing',
          );
          report({ type: 'WS.TERMINAL_ERROR', code: frame.data.msg.code, channel });
        }
      }
    };
    ws.on('message', (data) => {
      if (closed) return;
      touch();
      const text = rawDataToString(data);
      // A data frame (known by its leading type) skips even the two substring scans.
      if (!isDataFrame(text)) onReply(text);
      // The handler sees every frame, control frames included (seq tracking, loss detection).
      frames.push(text);
    });
    ws.on('ping', touch);
    ws.on('pong', touch);
    ws.on('error', (err) => {
      // Always followed by 'close'. Keep the first, most specific reason (e.g. the HTTP status).
      if ((err as { code?: unknown }).code === WS_TOO_BIG && lastError === null) {
        lastError = `the server sent a message larger than ${MAX_FRAME_BYTES} bytes (the frame limit); closed with 1009`;
        options.onOversizedFrame?.(MAX_FRAME_BYTES);
      }
      lastError ??= err.message;
    });
    ws.on('close', (code, reason) => {
      if (watchdog) clearTimeout(watchdog);
      frames.attach(null);
      if (closed) return; // we closed it (the chart left `connection`): nothing to report
      // A close reason is at most 123 bytes (RFC 6455); quoted through the helper all the same.
      const why = lastError ?? `connection closed (code ${code}${reason.length ? `: ${truncateForLog(reason.toString('utf8'))}` : ''})`;
      if (httpStatus === 401 || httpStatus === 403) log.error({ url: shownUrl, httpStatus }, why);
      else log.warn({ url: shownUrl, code, httpStatus, reason: why }, 'lifecycle socket disconnected');
      report({ type: 'WS.CLOSED', error: why, httpStatus });
      closed = true;
    });

    receive((command) => {
      if (ws.readyState !== WebSocket.OPEN) return; // SUBSCRIBE is the only command (SocketCommand)
      const cmd = { id: nextCommandId++, cmd: 'subscribe', params: { channels: [...command.channels] } };
      ws.send(JSON.stringify(cmd), (err) => {
        if (err) log.warn({ err: err.message }, 'lifecycle socket: subscribe command not sent');
      });
    });

    return () => {
      closed = true;
      if (watchdog) clearTimeout(watchdog);
      frames.attach(null);
      if (ws.readyState === WebSocket.CLOSED) return;
      if (ws.readyState === WebSocket.CONNECTING) {
        ws.terminate();
        return;
      }
      // A paused socket would never read the server's close frame.
      ws.resume();
      ws.close(1000, 'client stop');
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    };
  });
}
