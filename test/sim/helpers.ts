/** Small real-network clients for the sim tests (127.0.0.1 only). */
import WebSocket from 'ws';
import { request } from 'undici';
import { rawDataToString } from '../../src/util/ws-data.js';

export interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  text: string;
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const r = await request(url, { headers });
  const text = await r.body.text();
  let body: unknown = undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: r.statusCode, headers: r.headers, body, text };
}

export async function postJson(url: string, payload: unknown): Promise<JsonResponse> {
  const r = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, body: JSON.parse(text) as unknown, text };
}

export type Frame = Record<string, unknown> & { type?: string; sid?: number; seq?: number; msg?: Record<string, unknown> };

export interface WsClient {
  ws: WebSocket;
  frames: Frame[];
  raw: string[];
  pings: string[];
  send(o: unknown): void;
  /** Resolves with the next frame (from the unread queue) matching `pred`. */
  next(pred?: (f: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  /** Waits until `n` frames matching pred have been received in total; returns them. */
  collect(n: number, pred?: (f: Frame) => boolean, timeoutMs?: number): Promise<Frame[]>;
  close(): Promise<void>;
}

export async function connectWs(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
  const ws = new WebSocket(url, { headers });
  const frames: Frame[] = [];
  const raw: string[] = [];
  const pings: string[] = [];
  let read = 0;
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    const text = rawDataToString(data);
    raw.push(text);
    try {
      frames.push(JSON.parse(text) as Frame);
    } catch {
      frames.push({ type: '__unparseable__', text });
    }
    for (const w of [...waiters]) w();
  });
  ws.on('ping', (d) => pings.push(String(d)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  const waitFor = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const tryIt = (): boolean => {
        const v = check();
        if (v === undefined) return false;
        waiters.delete(onMsg);
        clearTimeout(timer);
        resolve(v);
        return true;
      };
      const onMsg = (): void => void tryIt();
      const timer = setTimeout(() => {
        waiters.delete(onMsg);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(frames.slice(-5))}`));
      }, timeoutMs);
      waiters.add(onMsg);
      tryIt();
    });
  return {
    ws,
    frames,
    raw,
    pings,
    send: (o) => ws.send(typeof o === 'string' ? o : JSON.stringify(o)),
    next: (pred = () => true, timeoutMs = 3000) =>
      waitFor(
        () => {
          for (; read < frames.length;) {
            const f = frames[read++] as Frame;
            if (pred(f)) return f;
          }
          return undefined;
        },
        timeoutMs,
        'frame',
      ),
    collect: (n, pred = () => true, timeoutMs = 3000) =>
      waitFor(
        () => {
          const got = frames.filter(pred);
          return got.length >= n ? got : undefined;
        },
        timeoutMs,
        `${n} frames`,
      ),
    close: () =>
      new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close();
      }),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns true (bounded). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000, stepMs = 25): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(stepMs);
  }
  throw new Error('condition not met in time');
}
