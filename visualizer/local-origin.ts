/**
 * Loopback-only access checks, shared by the visualizer server (server.ts) and the `--inspect`
 * relay (stately.ts).
 *
 * Both listen on a loopback address only, but that alone does not keep other web pages out: a
 * page the user visits can open `ws://127.0.0.1:PORT/` (browsers allow cross-origin WebSockets)
 * or reach the port through a DNS-rebinding name. So every request must name the server by a
 * loopback `Host` (127.0.0.1:PORT, localhost:PORT, [::1]:PORT), and a WebSocket handshake that
 * carries an `Origin` (browsers always send one) must come from a page of this same server.
 * Programs (Node's `ws`, `createWebSocketReceiver` in Node) send no Origin and are let in.
 */

export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'] as const;
export type LoopbackHost = (typeof LOOPBACK_HOSTS)[number];

/** Whether `host` (a Host header value) names the loopback server listening on `port`. */
export function isLoopbackHost(host: string | undefined, port: number): boolean {
  if (host === undefined || port <= 0) return false;
  const value = host.toLowerCase();
  return value === `127.0.0.1:${port}` || value === `localhost:${port}` || value === `[::1]:${port}`;
}

/**
 * Whether a request with this `Origin` header may talk to the loopback server on `port`: no
 * Origin (not a browser), or a page served by that same server (http://127.0.0.1:PORT, …).
 * "null" (sandboxed frames, file:// pages) and every other site are refused.
 */
export function isAllowedOrigin(origin: string | undefined, port: number): boolean {
  if (origin === undefined || origin === '') return true;
  const m = /^https?:\/\/([^/]+)$/i.exec(origin);
  return m !== null && isLoopbackHost(m[1], port);
}
