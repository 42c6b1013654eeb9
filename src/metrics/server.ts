/**
 * A small HTTP server on a loopback address for a registry's metrics and health:
 *
 *   GET /metrics   Prometheus text exposition (registryMetrics)
 *   GET /healthz   200 {"live":true,…} while the registry has not stopped; 503 once it is stopping
 *   GET /readyz    200 once the initial sync is done and the supervisor is running.healthy;
 *                  503 {"ready":false,"reasons":[…],…} otherwise
 *
 * Loopback only, and every request must name the server by a loopback Host (127.0.0.1:PORT,
 * localhost:PORT, [::1]:PORT), so a web page the user visits cannot read it through a
 * DNS-rebinding name (the same check as the visualizer's, visualizer/local-origin.ts).
 *
 * A port that cannot be listened on rejects with MetricsServerError (code EADDRINUSE, EACCES, …);
 * the server never emits an unhandled 'error'.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { LOOPBACK_HOSTS, isLoopbackHost, type LoopbackHost } from '../../visualizer/local-origin.js';
import { OptionsError } from '../errors.js';
import type { Logger } from '../log.js';
import { registryLiveness, registryReadiness } from './health.js';
import { registryMetrics, type MetricsSource, type RegistryMetrics, type RegistryMetricsOptions } from './registry-metrics.js';

export interface ServeMetricsOptions {
  /** TCP port; 0 = any free one. */
  readonly port: number;
  /** A loopback address (default 127.0.0.1). */
  readonly host?: LoopbackHost;
  /**
   * The metrics to serve. Default: `registryMetrics(registry, { processMetrics: true })` in a
   * Registry of their own, closed with the server.
   */
  readonly metrics?: RegistryMetrics;
  /** Options of the metrics made when `metrics` is not given. */
  readonly metricsOptions?: RegistryMetricsOptions;
  readonly logger?: Logger;
}

export interface MetricsServer {
  /** http://127.0.0.1:PORT/ (the endpoints are /metrics, /healthz, /readyz under it). */
  readonly url: string;
  readonly port: number;
  readonly metrics: RegistryMetrics;
  /** Stops listening and closes every connection (and the metrics it made). Idempotent. */
  close(): Promise<void>;
}

/**
 * The metrics server could not listen. `code` is Node's own (EADDRINUSE, EACCES, EADDRNOTAVAIL,
 * …), as on the `listen` error it wraps (`cause`), so code that already handles a Node listen
 * error (`err.code === 'EADDRINUSE'`) handles this one.
 */
export class MetricsServerError extends Error {
  override readonly name = 'MetricsServerError';
  constructor(
    readonly code: string,
    readonly host: string,
    readonly port: number,
    options?: { cause?: unknown },
  ) {
    super(
      code === 'EADDRINUSE'
        ? `metrics server: ${host}:${port} is already in use; give another port (0 = any free one)`
        : code === 'EACCES'
          ? `metrics server: ${host}:${port} may not be listened on by this user (EACCES); give a port above 1023`
          : `metrics server: cannot listen on ${host}:${port} (${code})`,
      options,
    );
  }
}

const NO_STORE = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const;

export async function serveMetrics(registry: MetricsSource, options: ServeMetricsOptions): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.includes(host)) throw new OptionsError(`the metrics server only listens on loopback (${LOOPBACK_HOSTS.join(', ')}), not ${host}`);
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535)
    throw new OptionsError(`metrics port must be an integer in 0..65535, not ${String(options.port)}`);
  const logger = options.logger;
  const ownMetrics = options.metrics === undefined;
  const metrics = options.metrics ?? registryMetrics(registry, { processMetrics: true, ...options.metricsOptions });

  let port = 0;
  const send = (res: ServerResponse, status: number, type: string, body: string): void => {
    res.writeHead(status, { 'content-type': type, ...NO_STORE });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, body: unknown): void => send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!isLoopbackHost(req.headers.host, port)) return send(res, 403, 'text/plain; charset=utf-8', 'forbidden host\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    switch (path) {
      case '/metrics':
        return send(res, 200, metrics.contentType, await metrics.metrics());
      case '/healthz': {
        const l = registryLiveness(registry);
        return json(res, l.live ? 200 : 503, l);
      }
      case '/readyz': {
        const r = registryReadiness(registry);
        return json(res, r.ready ? 200 : 503, r);
      }
      case '/':
        return send(res, 200, 'text/plain; charset=utf-8', 'kalshi-market-registry: /metrics /healthz /readyz\n');
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger?.error({ err }, 'metrics request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });
  server.on('clientError', (_err, socket: Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  // Listen failures reject below; any later server error is logged, never thrown.
  let listening = false;
  server.on('error', (err) => {
    if (listening) logger?.error({ err }, 'metrics server error');
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, host, () => {
        server.off('error', reject);
        listening = true;
        resolve();
      });
    });
  } catch (err) {
    if (ownMetrics) metrics.close();
    const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
    throw new MetricsServerError(code, host, options.port, { cause: err });
  }
  port = (server.address() as AddressInfo).port;
  const url = `http://${host === '::1' ? '[::1]' : host}:${port}/`;
  logger?.info({ url }, 'metrics server listening');

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    metrics,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => {
        if (ownMetrics) metrics.close();
      });
      return closing;
    },
  };
}
