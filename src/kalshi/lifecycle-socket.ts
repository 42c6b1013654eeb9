/**
 * The WebSocket transport for Kalshi's `market_lifecycle_v2` channel (shared/kalshi-api.md §6, §7).
 *
 * Transport only: this class connects (signing the upgrade when credentials are given),
 * subscribes, keeps the connection alive, reconnects with backoff, and yields every raw text frame
 * — including `subscribed` / `ok` / `error` frames — in arrival order. Parsing, seq tracking and
 * "events may have been lost → reconcile over REST" decisions belong to the lifecycle handler that
 * consumes this iterable.
 *
 * The one protocol action taken here: after an `error` frame with a terminal code (10 "channel
 * error", 25 "subscription buffer overflow") Kalshi drops that subscription, so the subscribe
 * command is re-sent on the same connection. The error frame is still yielded.
 *
 * Backpressure: frames go into an unbounded-looking but in practice bounded FIFO. Once it holds
 * more than `highWaterMark` frames the socket is paused (`ws.pause()` stops reading from TCP, so
 * the server's send buffer fills instead of our heap); it is resumed when the consumer has drained
 * it below half. Frames already parsed by `ws` when the pause happens are still queued, so nothing
 * is dropped; the overshoot is at most a couple of TCP reads.
 */
import { KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { WebSocket, type RawData } from 'ws';
import { z } from 'zod';
import { OptionsError, RegistryError, formatIssues } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { signKalshiRequest, type KalshiCredentials } from './auth.js';
import { ErrorFrameSchema, SubscribedFrameSchema, TERMINAL_WS_ERROR_CODES } from './schemas.js';

export interface LifecycleSocketReconnectOptions {
  /** First backoff ceiling in ms; the n-th retry waits a random time in [0, min(maxMs, baseMs·2^(n-1))]. Default 250. */
  baseMs?: number;
  /** Backoff ceiling cap in ms. Default 30 000. */
  maxMs?: number;
  /** Consecutive failed attempts tolerated before giving up (the iterator then throws). Default Infinity. */
  maxAttempts?: number;
  /** A connection that stayed open at least this long resets the attempt counter. Default 10 000. */
  resetAfterMs?: number;
}

export interface LifecycleSocketOptions {
  /** `ws://` or `wss://` URL, e.g. `wss://external-api-ws.kalshi.com/trade-api/ws/v2`. */
  url: string;
  /** When given, the upgrade carries the KALSHI-ACCESS-* headers, signed over `GET` + the URL path. */
  credentials?: KalshiCredentials;
  /** Channels to subscribe to. Default `['market_lifecycle_v2']`. */
  channels?: string[];
  logger?: Logger;
  reconnect?: LifecycleSocketReconnectOptions;
  /** No frame, ping or pong within this many ms → terminate and reconnect. Default 30 000. */
  idleTimeoutMs?: number;
  /** Opening-handshake timeout in ms. Default 10 000. */
  handshakeTimeoutMs?: number;
  /** Queued (unconsumed) frames above which the socket is paused. Default 10 000. */
  highWaterMark?: number;
}

export type LifecycleSocketState = 'connecting' | 'open' | 'subscribed' | 'reconnecting' | 'stopped';

export interface LifecycleSocketStatus {
  state: LifecycleSocketState;
  /**
   * Consecutive failed connections since the last healthy one: 0 for the first connection, n for
   * the n-th retry ('reconnecting' announces the retry about to be made).
   */
  attempt: number;
  /** Why the previous connection ended / failed, or why the socket gave up. */
  error?: string;
  /** The configured URL without any user-info. */
  url: string;
}

export interface LifecycleSocketStats {
  /** Successful opening handshakes. */
  connects: number;
  /** Reconnect attempts scheduled after a closed or failed connection. */
  reconnects: number;
  framesReceived: number;
  /** Payload bytes of the received frames. */
  bytesReceived: number;
  /** Times the socket was paused because the consumer fell behind. */
  pauses: number;
  /** Subscribe commands re-sent after a terminal error frame. */
  resubscribes: number;
  /** Frames queued and not yet consumed. */
  queued: number;
  /** Epoch ms of the last frame, or null before the first. */
  lastFrameAt: number | null;
}

export type LifecycleSocketErrorCode = 'GAVE_UP' | 'CONCURRENT_ITERATOR' | 'STOPPED';

export class LifecycleSocketError extends RegistryError {
  override readonly name = 'LifecycleSocketError';
  constructor(
    readonly code: LifecycleSocketErrorCode,
    message: string,
    /** HTTP status of the last rejected handshake, when that is why the socket gave up. */
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

const DEFAULT_CHANNELS = ['market_lifecycle_v2'];
const STOP_CLOSE_GRACE_MS = 2_000;

function isCredentials(v: unknown): v is KalshiCredentials {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as { keyId?: unknown; privateKey?: unknown };
  return typeof c.keyId === 'string' && c.keyId.length > 0 && c.privateKey instanceof KeyObject;
}

function isLogger(v: unknown): v is Logger {
  if (typeof v !== 'object' || v === null) return false;
  const l = v as Record<string, unknown>;
  return ['debug', 'info', 'warn', 'error'].every((k) => typeof l[k] === 'function');
}

function isWsUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return u.protocol === 'ws:' || u.protocol === 'wss:';
  } catch {
    return false;
  }
}

const positiveMs = z.number().int().positive();

const OptionsSchema = z.strictObject({
  url: z.string().refine(isWsUrl, 'must be a ws:// or wss:// URL'),
  credentials: z
    .custom<KalshiCredentials>(isCredentials, 'must be { keyId, privateKey: KeyObject } (see credentialsFromPem)')
    .optional(),
  channels: z.array(z.string().min(1)).min(1).default(DEFAULT_CHANNELS),
  logger: z.custom<Logger>(isLogger, 'must be a pino-compatible logger').optional(),
  reconnect: z
    .strictObject({
      baseMs: positiveMs.default(250),
      maxMs: positiveMs.default(30_000),
      maxAttempts: z.union([z.number().int().nonnegative(), z.literal(Infinity)]).default(Infinity),
      resetAfterMs: z.number().int().nonnegative().default(10_000),
    })
    .refine((r) => r.baseMs <= r.maxMs, { message: 'baseMs must not exceed maxMs', path: ['baseMs'] })
    .prefault({}),
  idleTimeoutMs: z.number().int().min(10).default(30_000),
  handshakeTimeoutMs: positiveMs.default(10_000),
  highWaterMark: z.number().int().min(1).default(10_000),
});
type ResolvedOptions = z.output<typeof OptionsSchema>;

function redactUrl(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}

function rawToString(data: RawData): { text: string; bytes: number } {
  if (Buffer.isBuffer(data)) return { text: data.toString('utf8'), bytes: data.length };
  if (Array.isArray(data)) {
    const buf = Buffer.concat(data);
    return { text: buf.toString('utf8'), bytes: buf.length };
  }
  return { text: Buffer.from(data).toString('utf8'), bytes: data.byteLength };
}

function handshakeMessage(status: number, hasCredentials: boolean): string {
  if (status === 401 || status === 403) {
    return hasCredentials
      ? `Kalshi rejected the WebSocket handshake with HTTP ${status}: check the credentials (API key id and private key; demo and production keys are separate, the key may have been revoked, and the clock must be in sync for the signed timestamp).`
      : `Kalshi rejected the WebSocket handshake with HTTP ${status}: the WebSocket requires authentication, check the credentials (pass an API key id and private key).`;
  }
  return `WebSocket handshake failed with HTTP ${status}.`;
}

interface Waiter {
  resolve: (r: IteratorResult<string, undefined>) => void;
  reject: (err: unknown) => void;
}

/** One connection's private state; handlers ignore events from connections that are not current. */
interface Connection {
  ws: WebSocket;
  nextCommandId: number;
  openedAt: number | null;
  subscribedSeen: boolean;
  /** sid → channel, learnt from `subscribed` frames, to resubscribe just the dropped channel. */
  sidChannels: Map<number, string>;
  httpStatus: number | undefined;
  lastError: string | undefined;
}

export class LifecycleSocket implements AsyncIterable<string> {
  private readonly opts: ResolvedOptions;
  private readonly log: Logger;
  private readonly publicUrl: string;

  private started = false;
  private stopping: Promise<void> | null = null;
  private finished = false;
  private failure: LifecycleSocketError | null = null;
  private failureDelivered = false;

  private conn: Connection | null = null;
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private lastActivity = 0;
  private pingSent = false;
  private paused = false;
  private signal: AbortSignal | undefined;
  private readonly onAbort = (): void => void this.stop();

  private queue: string[] = [];
  private head = 0;
  private readonly waiters: Waiter[] = [];
  private consumerActive = false;

  private status: LifecycleSocketStatus;
  private readonly listeners = new Set<(s: LifecycleSocketStatus) => void>();
  private readonly counters = { connects: 0, reconnects: 0, framesReceived: 0, bytesReceived: 0, pauses: 0, resubscribes: 0 };
  private lastFrameAt: number | null = null;

  constructor(options: LifecycleSocketOptions) {
    const parsed = OptionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new OptionsError(`Invalid LifecycleSocket options: ${formatIssues(parsed.error.issues)}`);
    }
    this.opts = parsed.data;
    this.log = this.opts.logger ?? silentLogger;
    this.publicUrl = redactUrl(this.opts.url);
    this.status = { state: 'stopped', attempt: 0, url: this.publicUrl };
  }

  // ------------------------------------------------------------------------------------------
  // Public API

  /**
   * Starts connecting. Idempotent while running (a later call may still attach an abort signal);
   * a stopped socket cannot be restarted — create a new one. Aborting `signal` stops the socket.
   * Iterating without calling start() starts it implicitly.
   */
  start(signal?: AbortSignal): void {
    if (this.stopping || this.finished) {
      throw new LifecycleSocketError('STOPPED', 'This LifecycleSocket was stopped; create a new one to reconnect.');
    }
    if (signal && !this.signal) {
      this.signal = signal;
      if (signal.aborted) {
        void this.stop();
        return;
      }
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
    if (this.started) return;
    this.started = true;
    this.connect();
  }

  /**
   * Closes the connection with code 1000, cancels timers and ends the iterator (`done: true`).
   * Frames still queued are discarded. Safe to call more than once.
   */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = this.doStop();
    return this.stopping;
  }

  /** Subscribes to status changes; returns the unsubscribe function. */
  onStatus(listener: (s: LifecycleSocketStatus) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The latest status (a copy). */
  currentStatus(): LifecycleSocketStatus {
    return { ...this.status };
  }

  stats(): LifecycleSocketStats {
    return { ...this.counters, queued: this.queue.length - this.head, lastFrameAt: this.lastFrameAt };
  }

  /**
   * The frame stream. Only one consumer at a time: a second call while the first iterator is
   * active throws. Ending the iteration early (`break` → `return()`) stops the socket.
   */
  [Symbol.asyncIterator](): AsyncIterator<string, undefined, undefined> {
    if (this.consumerActive) {
      throw new LifecycleSocketError(
        'CONCURRENT_ITERATOR',
        'LifecycleSocket supports one consumer at a time: an iterator is already active. Finish or return() it first.',
      );
    }
    this.consumerActive = true;
    let released = false;
    const release = (): void => {
      if (!released) {
        released = true;
        this.consumerActive = false;
      }
    };
    return {
      next: async () => {
        if (released) return { done: true, value: undefined };
        try {
          const r = await this.nextFrame();
          if (r.done) release();
          return r;
        } catch (err) {
          release();
          throw err;
        }
      },
      return: async () => {
        release();
        await this.stop();
        return { done: true, value: undefined };
      },
    };
  }

  // ------------------------------------------------------------------------------------------
  // Queue / iterator

  private nextFrame(): Promise<IteratorResult<string, undefined>> {
    if (this.head < this.queue.length) {
      const value = this.shift();
      return Promise.resolve({ done: false, value });
    }
    if (this.failure && !this.failureDelivered) {
      this.failureDelivered = true;
      return Promise.reject(this.failure);
    }
    if (this.finished || this.stopping) return Promise.resolve({ done: true, value: undefined });
    if (!this.started) this.start();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Frames received since this socket was created (across reconnects), queued ones included. */
  get framesReceived(): number {
    return this.counters.framesReceived;
  }

  /**
   * Takes up to `max` frames that have already arrived, synchronously. A consumer that can
   * handle a batch without awaiting each frame (the registry's lifecycle handler) calls this after
   * every awaited `next()`, which saves a promise round trip per frame at high message rates.
   */
  takeQueued(max = Number.POSITIVE_INFINITY): string[] {
    const n = Math.min(max, this.queue.length - this.head);
    if (n <= 0) return [];
    const out = this.queue.slice(this.head, this.head + n);
    this.head += n;
    this.compact();
    return out;
  }

  private shift(): string {
    const value = this.queue[this.head] as string;
    this.head++;
    this.compact();
    return value;
  }

  /** Drops consumed slots and resumes a paused socket once the queue has drained to half. */
  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.paused && this.queue.length - this.head <= this.opts.highWaterMark / 2) this.resumeSocket();
  }

  private enqueue(frame: string): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve({ done: false, value: frame });
      return;
    }
    this.queue.push(frame);
    if (!this.paused && this.queue.length - this.head > this.opts.highWaterMark) this.pauseSocket();
  }

  private pauseSocket(): void {
    const ws = this.conn?.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    this.paused = true;
    this.counters.pauses++;
    ws.pause();
    this.log.debug({ queued: this.queue.length - this.head }, 'lifecycle socket paused: consumer is behind');
  }

  private resumeSocket(): void {
    this.paused = false;
    // Time spent paused is not the server's silence.
    this.touch();
    const ws = this.conn?.ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.resume();
      this.log.debug({ queued: this.queue.length - this.head }, 'lifecycle socket resumed');
    }
  }

  // ------------------------------------------------------------------------------------------
  // Connection management

  private setStatus(state: LifecycleSocketState, error?: string): void {
    this.status = { state, attempt: this.failures, url: this.publicUrl, ...(error !== undefined ? { error } : {}) };
    const snapshot = this.status;
    for (const l of this.listeners) {
      try {
        l({ ...snapshot });
      } catch (err) {
        this.log.warn({ err }, 'lifecycle socket status listener threw');
      }
    }
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    if (this.stopping || this.finished) return;
    this.setStatus('connecting');

    const headers = this.opts.credentials
      ? signKalshiRequest(this.opts.credentials, 'GET', new URL(this.opts.url).pathname)
      : undefined;
    const ws = new WebSocket(this.opts.url, {
      handshakeTimeout: this.opts.handshakeTimeoutMs,
      ...(headers ? { headers } : {}),
    });
    const conn: Connection = {
      ws,
      nextCommandId: 1,
      openedAt: null,
      subscribedSeen: false,
      sidChannels: new Map(),
      httpStatus: undefined,
      lastError: undefined,
    };
    this.conn = conn;
    this.paused = false;

    ws.on('unexpected-response', (_req, res) => {
      conn.httpStatus = res.statusCode ?? 0;
      conn.lastError = handshakeMessage(conn.httpStatus, this.opts.credentials !== undefined);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => this.onOpen(conn));
    ws.on('message', (data, isBinary) => this.onMessage(conn, data, isBinary));
    ws.on('ping', () => {
      // ws answers pings itself (autoPong defaults to true); a ping only proves liveness here.
      if (this.conn === conn) this.touch();
    });
    ws.on('pong', () => {
      if (this.conn === conn) this.touch();
    });
    ws.on('error', (err) => {
      // Always followed by 'close'. Keep the first, most specific reason (e.g. the HTTP status).
      if (conn.lastError === undefined) conn.lastError = err.message;
      if (this.conn === conn && !this.stopping) this.log.debug({ err: err.message }, 'lifecycle socket error');
    });
    ws.on('close', (code, reason) => this.onClose(conn, code, reason.toString('utf8')));
  }

  private onOpen(conn: Connection): void {
    if (this.conn !== conn || this.stopping) return;
    conn.openedAt = performance.now();
    this.counters.connects++;
    this.log.info({ url: this.publicUrl, attempt: this.failures }, 'lifecycle socket connected');
    this.setStatus('open');
    this.sendSubscribe(conn, this.opts.channels);
    this.touch();
    this.armWatchdog();
    if (this.queue.length - this.head > this.opts.highWaterMark) this.pauseSocket();
  }

  private sendSubscribe(conn: Connection, channels: readonly string[]): void {
    const cmd = { id: conn.nextCommandId++, cmd: 'subscribe', params: { channels: [...channels] } };
    conn.ws.send(JSON.stringify(cmd), (err) => {
      if (err && this.conn === conn) this.log.warn({ err: err.message }, 'lifecycle socket: subscribe command not sent');
    });
  }

  private onMessage(conn: Connection, data: RawData, _isBinary: boolean): void {
    if (this.conn !== conn || this.stopping) return;
    const { text, bytes } = rawToString(data);
    this.counters.framesReceived++;
    this.counters.bytesReceived += bytes;
    this.lastFrameAt = Date.now();
    this.touch();
    if (text.includes('"subscribed"')) this.noteSubscribed(conn, text);
    else if (text.includes('"error"')) this.checkTerminalError(conn, text);
    this.enqueue(text);
  }

  private noteSubscribed(conn: Connection, text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    const frame = SubscribedFrameSchema.safeParse(parsed);
    if (!frame.success) return;
    conn.sidChannels.set(frame.data.msg.sid, frame.data.msg.channel);
    if (!conn.subscribedSeen) {
      conn.subscribedSeen = true;
      this.setStatus('subscribed');
    }
  }

  private checkTerminalError(conn: Connection, text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    const frame = ErrorFrameSchema.safeParse(parsed);
    if (!frame.success || !TERMINAL_WS_ERROR_CODES.has(frame.data.msg.code)) return;
    const sid = frame.data.sid;
    const channel = sid !== undefined ? conn.sidChannels.get(sid) : undefined;
    if (sid !== undefined) conn.sidChannels.delete(sid);
    const channels = channel !== undefined ? [channel] : this.opts.channels;
    this.counters.resubscribes++;
    this.log.warn(
      { code: frame.data.msg.code, msg: frame.data.msg.msg, sid, channels },
      'lifecycle socket: Kalshi dropped the subscription; resubscribing',
    );
    this.sendSubscribe(conn, channels);
  }

  private onClose(conn: Connection, code: number, reason: string): void {
    if (this.conn !== conn) return;
    this.clearWatchdog();
    this.conn = null;
    this.paused = false;
    if (this.stopping || this.finished) return;

    const healthy = conn.openedAt !== null && performance.now() - conn.openedAt >= this.opts.reconnect.resetAfterMs;
    if (healthy) this.failures = 0;
    const error =
      conn.lastError ??
      (conn.openedAt === null ? 'connection failed' : `connection closed (code ${code}${reason ? `: ${reason}` : ''})`);
    this.failures++;

    if (this.failures > this.opts.reconnect.maxAttempts) {
      const message = `Lifecycle WebSocket gave up after ${this.failures} consecutive failed connection(s) to ${this.publicUrl}: ${error}`;
      this.log.error({ url: this.publicUrl, attempt: this.failures, httpStatus: conn.httpStatus }, message);
      this.fail(new LifecycleSocketError('GAVE_UP', message, conn.httpStatus));
      return;
    }

    const ceiling = Math.min(this.opts.reconnect.maxMs, this.opts.reconnect.baseMs * 2 ** Math.min(this.failures - 1, 30));
    const delay = Math.floor(Math.random() * ceiling);
    this.counters.reconnects++;
    const logFields = { url: this.publicUrl, attempt: this.failures, delayMs: delay, code, httpStatus: conn.httpStatus };
    if (conn.httpStatus === 401 || conn.httpStatus === 403) this.log.error(logFields, error);
    else this.log.warn({ ...logFields, reason: error }, 'lifecycle socket disconnected; reconnecting');
    this.setStatus('reconnecting', error);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  /** Gave up: deliver what is queued, then throw `err` once, then end. */
  private fail(err: LifecycleSocketError): void {
    this.failure = err;
    this.finished = true;
    this.cleanupSignal();
    this.setStatus('stopped', err.message);
    for (const w of this.waiters.splice(0)) {
      if (!this.failureDelivered) {
        this.failureDelivered = true;
        w.reject(err);
      } else {
        w.resolve({ done: true, value: undefined });
      }
    }
  }

  private async doStop(): Promise<void> {
    const wasRunning = !this.finished;
    this.finished = true;
    this.cleanupSignal();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.clearWatchdog();
    this.queue = [];
    this.head = 0;
    for (const w of this.waiters.splice(0)) w.resolve({ done: true, value: undefined });

    const conn = this.conn;
    if (conn) await this.closeConnection(conn);
    this.conn = null;
    this.paused = false;
    if (wasRunning) {
      this.log.info({ url: this.publicUrl }, 'lifecycle socket stopped');
      this.setStatus('stopped');
    }
  }

  private closeConnection(conn: Connection): Promise<void> {
    const ws = conn.ws;
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const grace = setTimeout(() => ws.terminate(), STOP_CLOSE_GRACE_MS);
      ws.once('close', () => {
        clearTimeout(grace);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) {
        ws.terminate();
      } else if (ws.readyState === WebSocket.OPEN) {
        // A paused socket would never read the server's close frame.
        ws.resume();
        ws.close(1000, 'client stop');
      }
      // CLOSING: the 'close' event (or the grace timer) finishes it.
    });
  }

  private cleanupSignal(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
  }

  // ------------------------------------------------------------------------------------------
  // Liveness

  private touch(): void {
    this.lastActivity = performance.now();
    this.pingSent = false;
  }

  private armWatchdog(): void {
    this.clearWatchdog();
    this.scheduleWatchdog(this.opts.idleTimeoutMs / 2);
  }

  private scheduleWatchdog(ms: number): void {
    this.watchdog = setTimeout(() => this.onWatchdog(), Math.max(1, Math.ceil(ms)));
    this.watchdog.unref();
  }

  private clearWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  /**
   * Runs at most every idleTimeoutMs/2. Silence for half the timeout → send a client ping (its pong
   * counts as liveness, so a quiet but healthy server is not dropped); silence for the full
   * timeout → terminate, which leads to a reconnect. Suspended while paused for backpressure.
   */
  private onWatchdog(): void {
    this.watchdog = undefined;
    const conn = this.conn;
    if (!conn || this.stopping || conn.ws.readyState !== WebSocket.OPEN) return;
    const half = this.opts.idleTimeoutMs / 2;
    if (this.paused) {
      this.scheduleWatchdog(half);
      return;
    }
    const idle = performance.now() - this.lastActivity;
    if (idle >= this.opts.idleTimeoutMs) {
      conn.lastError = `no frame or ping for ${this.opts.idleTimeoutMs} ms (idle timeout)`;
      this.log.warn({ url: this.publicUrl, idleMs: Math.round(idle) }, 'lifecycle socket idle; terminating');
      conn.ws.terminate();
      return;
    }
    if (idle >= half && !this.pingSent) {
      this.pingSent = true;
      try {
        conn.ws.ping();
      } catch {
        // The 'close' handler deals with a socket that can no longer send.
      }
    }
    this.scheduleWatchdog(idle < half ? half - idle : this.opts.idleTimeoutMs - idle);
  }
}
