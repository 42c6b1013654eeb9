/**
 * Where the registry's fan-out lives on NATS JetStream, shared by the publisher and the follower.
 *
 *   stream `KALSHI_MARKETS` (file storage, de-duplication window 2 min), subjects `<prefix>.>`:
 *     <prefix>.<eventType>.<token>     one message per MarketChange, JSON as emitted
 *       e.g. kalshi.markets.status_change.KXCPI-26MAR17-T0_2E7
 *     Nats-Msg-Id: <ticker>|<eventType>|<newStatus>|<updatedAt of the market record>
 *   KV bucket `kalshi-markets` (history 1): key <token> → the market's current record (Market JSON)
 *                                          key `_registry` → the registry's announcement (below)
 *
 * <token> is the ticker encoded by ticker-codec.ts (reversible; `.` → `_2E`). A consumer of one
 * market filters `<prefix>.*.<token>`, of one change type `<prefix>.status_change.>`.
 *
 * `_registry` is reserved: an encoded ticker is `[A-Za-z0-9-]` and `_XX` escapes (XX upper-case
 * hex), or `_` alone (the empty ticker), so no encoded ticker starts with `_r`. Its value says
 * which registry instance publishes and whether it is synced; it is written `synced: false` when
 * a publisher starts and `synced: true` once the registry's `synced` resolved AND every change and
 * KV record before it was acknowledged. KV entries are ordered, so a reader that has read the
 * bucket past that announcement holds every record of the registry's synced state.
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

/**
 * The reserved KV key of the registry's announcement: never an encoded ticker (every `_` that
 * encodeTicker writes is followed by two upper-case hex digits, or is the whole key).
 */
export const REGISTRY_KEY = '_registry';

/**
 * The value under REGISTRY_KEY: which registry instance publishes to the bucket, and whether it is
 * synced. A restarted registry is a new instance: it announces `synced: false`, then `synced: true`.
 */
export interface RegistryAnnouncement {
  /** Format version of this value. */
  readonly version: 1;
  /** A new id at every registry (publisher) start. */
  readonly instance: string;
  /** When that registry's publisher started (epoch ms). */
  readonly startedAt: number;
  /** True once the registry's initial sync is complete and everything before it is on NATS. */
  readonly synced: boolean;
  /** When the registry's `synced` resolved (epoch ms); null while it syncs. */
  readonly syncedAt: number | null;
  /** The registry's `synced` summary: markets when the initial sync finished; null while it syncs. */
  readonly markets: number | null;
  /** The registry's `synced` summary: a warm start (state directory); null while it syncs. */
  readonly warm: boolean | null;
  /** When this value was written (epoch ms). */
  readonly at: number;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The announcement a KV value holds, or null if it is not one (another version, or garbage). */
export function parseAnnouncement(value: unknown): RegistryAnnouncement | null {
  if (typeof value !== 'object' || value === null) return null;
  const a = value as Record<string, unknown>;
  if (a['version'] !== 1 || typeof a['instance'] !== 'string' || !isNum(a['startedAt']) || typeof a['synced'] !== 'boolean' || !isNum(a['at'])) return null;
  const syncedAt = a['syncedAt'] ?? null;
  const markets = a['markets'] ?? null;
  const warm = a['warm'] ?? null;
  if ((syncedAt !== null && !isNum(syncedAt)) || (markets !== null && !isNum(markets)) || (warm !== null && typeof warm !== 'boolean')) return null;
  if (a['synced'] && (syncedAt === null || markets === null || warm === null)) return null;
  return { version: 1, instance: a['instance'], startedAt: a['startedAt'], synced: a['synced'], syncedAt, markets, warm, at: a['at'] };
}
