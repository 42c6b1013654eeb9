/**
 * Kalshi API hosts (shared/kalshi-api.md §1). The `external-api*` hosts are the recommended ones
 * since May 2026; the legacy `api.elections.kalshi.com` / `demo-api.kalshi.co` hosts (same paths)
 * still work but are not used. Production and demo credentials are separate.
 */

export type KalshiEnvironment = 'prod' | 'demo';

export interface KalshiHostPair {
  /** REST base URL including the `/trade-api/v2` prefix (no trailing slash). */
  readonly rest: string;
  /** WebSocket URL (`/trade-api/ws/v2`). */
  readonly ws: string;
}

export const KALSHI_HOSTS: Readonly<Record<KalshiEnvironment, KalshiHostPair>> = Object.freeze({
  prod: Object.freeze({
    rest: 'https://external-api.kalshi.com/trade-api/v2',
    ws: 'wss://external-api-ws.kalshi.com/trade-api/ws/v2',
  }),
  demo: Object.freeze({
    rest: 'https://external-api.demo.kalshi.co/trade-api/v2',
    ws: 'wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2',
  }),
});
