/**
 * Where the registry's fan-out lives on NATS JetStream, shared by the publisher and the follower.
 *
 *   stream `KALSHI_MARKETS` (file storage, de-duplication window 2 min), subjects `<prefix>.>`:
 *     <prefix>.<eventType>.<token>     one message per MarketChange, JSON as emitted
 *       e.g. kalshi.markets.status_change.KXCPI-26MAR17-T0_2E7
 *     Nats-Msg-Id: <ticker>|<eventType>|<newStatus>|<updatedAt of the market record>
 *   KV bucket `kalshi-markets` (history 1): key <token> → the market's current record (Market JSON)
 *
 * <token> is the ticker encoded by ticker-codec.ts (reversible; `.` → `_2E`). A consumer of one
 * market filters `<prefix>.*.<token>`, of one change type `<prefix>.status_change.>`.
 */
import type { Market, MarketChange, MarketChangeType } from '../domain/types.js';
import { decodeTicker, encodeTicker } from './ticker-codec.js';

/** The JetStream stream the changes go to, unless `publish.stream` says otherwise. */
export const DEFAULT_STREAM = 'KALSHI_MARKETS';
/** The first tokens of every change subject (`<prefix>.<eventType>.<token>`), unless `publish.subjectPrefix` says otherwise. */
export const DEFAULT_SUBJECT_PREFIX = 'kalshi.markets';
/** The KV bucket holding every market's current record, unless `publish.bucket` says otherwise. */
export const DEFAULT_BUCKET = 'kalshi-markets';
/** JetStream's de-duplication window on the stream: a change retried within it is stored once. */
export const DUPLICATE_WINDOW_MS = 120_000;

/** Stream and consumer names: no whitespace, `.`, `*`, `>`, path separators. */
export const STREAM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** KV bucket names (NATS: `[-_A-Za-z0-9]+`). */
export const BUCKET_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** A subject prefix: one or more plain tokens (no wildcards, no `$`-reserved start). */
export const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** Where a registry publishes: the stream, the subject prefix and the KV bucket (the `publish` option's names). */
export interface NatsLayout {
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly bucket: string;
}

const CHANGE_TYPES: ReadonlySet<string> = new Set<MarketChangeType>(['created', 'status_change', 'settled']);

/** The stream subject of a change: `<prefix>.<eventType>.<encoded ticker>`, e.g. `kalshi.markets.created.KXCPI-26MAR17-T0_2E7`. */
export function changeSubject(layout: NatsLayout, change: Pick<MarketChange, 'eventType' | 'ticker'>): string {
  return `${layout.subjectPrefix}.${change.eventType}.${encodeTicker(change.ticker)}`;
}

/** The change type and ticker a stream subject names, or null if it is not one of ours. */
export function parseChangeSubject(layout: NatsLayout, subject: string): { eventType: MarketChangeType; ticker: string } | null {
  const prefix = `${layout.subjectPrefix}.`;
  if (!subject.startsWith(prefix)) return null;
  const rest = subject.slice(prefix.length);
  const dot = rest.indexOf('.');
  if (dot < 0 || rest.indexOf('.', dot + 1) >= 0) return null;
  const eventType = rest.slice(0, dot);
  if (!CHANGE_TYPES.has(eventType)) return null;
  return { eventType: eventType as MarketChangeType, ticker: decodeTicker(rest.slice(dot + 1)) };
}

/** De-duplication id of a change: the same change published twice (a retry) is stored once. */
export function changeMsgId(change: MarketChange, record: Market | undefined): string {
  return `${change.ticker}|${change.eventType}|${change.newStatus}|${change.market?.updatedAt ?? record?.updatedAt ?? 0}`;
}

/** The KV key of a market: its ticker, encoded (ticker-codec.ts). */
export const kvKey = encodeTicker;
/** The ticker a KV key names (throws TickerCodecError for a key that is not an encoded ticker). */
export const tickerOfKvKey = decodeTicker;
