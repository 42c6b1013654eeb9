/**
 * A real nats-server (Debian's, see scripts/ensure-nats-server.sh) with JetStream, on a random
 * port of 127.0.0.1 and a temporary store directory; it can be stopped and started again on the
 * same port and store (a NATS restart).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

function natsServerBinary(): string {
  const fromEnv = process.env.NATS_SERVER;
  if (fromEnv) return fromEnv;
  const which = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim() !== '') return which.stdout.trim();
  for (const p of ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) if (existsSync(p)) return p;
  throw new Error('nats-server is not installed: run scripts/ensure-nats-server.sh (Debian: apt-get install nats-server), or set NATS_SERVER');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  start(): Promise<void>;
  /** SIGTERM, and wait for the process to exit. */
  stop(): Promise<void>;
  /** Stops the server and removes its store. */
  close(): Promise<void>;
}

/** A server on a port chosen now (not started until `start()`). */
export async function natsServer(): Promise<NatsServer> {
  const binary = natsServerBinary();
  const port = await freePort();
  const storeDir = mkdtempSync(path.join(tmpdir(), 'nats-js-'));
  let child: ChildProcess | null = null;
  let output = '';
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async start() {
      if (child !== null) return;
      output = '';
      const c = spawn(binary, ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
      c.stderr?.setEncoding('utf8');
      c.stderr?.on('data', (d: string) => {
        output = (output + d).slice(-4000);
      });
      child = c;
      const deadline = Date.now() + 10_000;
      while (!(await accepting(port))) {
        if (c.exitCode !== null) throw new Error(`nats-server exited at start (${c.exitCode}):\n${output}`);
        if (Date.now() > deadline) throw new Error(`nats-server did not accept connections on ${port}:\n${output}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop() {
      const c = child;
      child = null;
      if (c === null || c.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
        setTimeout(() => c.kill('SIGKILL'), 5_000).unref();
      });
    },
    async close() {
      await server.stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
  return server;
}
