/**
 * The Kalshi REST client. It lives in src/kalshi/rest/ (one small module per job; see
 * rest/client.ts); this file keeps the old import path working.
 */
export * from './rest/index.js';
