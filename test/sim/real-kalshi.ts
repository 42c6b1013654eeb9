/**
 * Loader of the real, recorded Kalshi payloads in shared/real-kalshi (see its PROVENANCE.md) and
 * of the reference shapes derived from them at test time: which fields the newest recordings
 * always carry, which fields exist at all (recordings ∪ Kalshi's specs), the JSON types and
 * formats of each field, key order. Nothing here is a hand-copied field list.
 *
 * Location: $KALSHI_REAL_DATA_DIR, else <repo root>/../shared/real-kalshi (CI clones the repo with
 * shared/ beside it). A missing folder fails with a message saying so.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Rec = Record<string, Json>;

/**
 * A field as text, for string checks and messages: a string as it is, anything else as JSON
 * (`String()` would print an object or array as "[object Object]"); a missing one as "undefined".
 */
export function text(v: unknown): string {
  if (typeof v === 'string') return v;
  return v === undefined ? 'undefined' : JSON.stringify(v);
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function realDataDir(): string {
  return process.env.KALSHI_REAL_DATA_DIR ?? path.resolve(REPO_ROOT, '..', 'shared', 'real-kalshi');
}

/** Throws a clear error when the recordings are not there. */
function requireRealDataDir(): string {
  const dir = realDataDir();
  if (!existsSync(path.join(dir, 'PROVENANCE.md'))) {
    throw new Error(
      `The real Kalshi recordings are missing: no ${path.join(dir, 'PROVENANCE.md')}. ` +
        `Check out the shared/ folder beside the repository (…/shared/real-kalshi) or set KALSHI_REAL_DATA_DIR to its path.`,
    );
  }
  return dir;
}

function readJson(file: string): Json {
  let text = readFileSync(file, 'utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // borat14011 events page starts with a BOM
  return JSON.parse(text) as Json;
}
const isRec = (v: Json | undefined): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface Corpus {
  dir: string;
  /** Every recorded market record (REST pages, single bodies, nested in events). */
  markets: Array<{ file: string; record: Rec }>;
  events: Array<{ file: string; record: Rec }>;
  series: Array<{ file: string; record: Rec }>;
  /** Top-level key sequences of recorded bodies, per kind. */
  marketsPageKeys: string[][];
  eventsPageKeys: string[][];
  singleMarketKeys: string[][];
  singleEventKeys: string[][];
  exchangeStatus: Rec[];
  /** Real lifecycle frames (ws/real-lifecycle-frames.jsonl) with their commit dates. */
  realFrames: Array<{ frame: Rec; date: string }>;
  /** Documentation example frames (not recordings; lines marked constructed are left out). */
  docsFrames: Rec[];
  /** JSON Schemas of kalshi-typescript 3.30 (definitions). */
  tsSchema: Record<string, { required?: string[]; properties?: Record<string, unknown> }>;
  /** AsyncAPI lifecycle payload schemas (definitions). */
  asyncapi: Record<string, { properties?: Record<string, { properties?: Record<string, { properties?: Record<string, unknown> }> }> }>;
  /** OpenAPI 3.12 YAML text. */
  openapi: string;
}

/** Fields a recorder added to lokkitbabu's market records (PROVENANCE.md); not API output. */
const RECORDER_FIELDS = new Set(['yes_price', 'yes_bid_norm', 'yes_ask_norm']);
/** gnome-classifier events[3..5] were trimmed by hand (PROVENANCE.md). */
const TRIMMED_EVENTS: Readonly<Record<string, number>> = { 'gnome-classifier.kalshi_events.json': 3 };

function stripRecorder(r: Rec): Rec {
  const o: Rec = {};
  for (const [k, v] of Object.entries(r)) if (!RECORDER_FIELDS.has(k)) o[k] = v;
  return o;
}

let cached: Corpus | undefined;
export function loadCorpus(): Corpus {
  if (cached) return cached;
  const dir = requireRealDataDir();
  const c: Corpus = {
    dir,
    markets: [],
    events: [],
    series: [],
    marketsPageKeys: [],
    eventsPageKeys: [],
    singleMarketKeys: [],
    singleEventKeys: [],
    exchangeStatus: [],
    realFrames: [],
    docsFrames: [],
    tsSchema: {},
    asyncapi: {},
    openapi: '',
  };
  const addEvents = (file: string, events: Json[] | undefined): void => {
    const limit = TRIMMED_EVENTS[file] ?? Infinity;
    (events ?? []).forEach((e, k) => {
      if (!isRec(e) || k >= limit) return;
      c.events.push({ file, record: e });
      const nested = e.markets;
      if (Array.isArray(nested)) for (const m of nested) if (isRec(m)) c.markets.push({ file: `${file}#nested`, record: m });
    });
  };
  for (const f of readdirSync(path.join(dir, 'rest', 'markets'))) {
    const j = readJson(path.join(dir, 'rest', 'markets', f));
    if (Array.isArray(j)) for (const m of j) if (isRec(m)) c.markets.push({ file: f, record: m });
    if (!isRec(j)) continue;
    if (Array.isArray(j.markets)) {
      for (const m of j.markets) if (isRec(m)) c.markets.push({ file: f, record: stripRecorder(m) });
      if ('cursor' in j) c.marketsPageKeys.push(Object.keys(j));
    }
    if (isRec(j.market)) {
      c.markets.push({ file: f, record: j.market });
      c.singleMarketKeys.push(Object.keys(j));
    }
    if (typeof j.ticker === 'string') c.markets.push({ file: f, record: j });
    if (Array.isArray(j.events)) addEvents(f, j.events);
    if (Array.isArray(j.series)) for (const s of j.series) if (isRec(s)) c.series.push({ file: f, record: s });
  }
  for (const f of readdirSync(path.join(dir, 'rest', 'events'))) {
    const j = readJson(path.join(dir, 'rest', 'events', f));
    if (!isRec(j)) continue;
    addEvents(f, Array.isArray(j.events) ? j.events : undefined);
    if ('cursor' in j) c.eventsPageKeys.push(Object.keys(j));
  }
  for (const f of readdirSync(path.join(dir, 'rest', 'golden'))) {
    const j = readJson(path.join(dir, 'rest', 'golden', f));
    const r = isRec(j) ? j.response : undefined; // the recorder wraps the API body as {_metadata, response}
    if (!isRec(r)) continue;
    if (Array.isArray(r.markets)) {
      for (const m of r.markets) if (isRec(m)) c.markets.push({ file: `golden/${f}`, record: m });
      c.marketsPageKeys.push(Object.keys(r));
    }
    if (isRec(r.market)) {
      c.markets.push({ file: `golden/${f}`, record: r.market });
      c.singleMarketKeys.push(Object.keys(r));
    }
    if (Array.isArray(r.events)) {
      addEvents(`golden/${f}`, r.events);
      c.eventsPageKeys.push(Object.keys(r));
    }
    if (isRec(r.event)) {
      c.events.push({ file: `golden/${f}`, record: r.event });
      c.singleEventKeys.push(Object.keys(r));
    }
    if (typeof r.exchange_active === 'boolean') c.exchangeStatus.push(r);
  }
  const prov = readJson(path.join(dir, 'ws', 'real-lifecycle-frames.provenance.json'));
  const lines = readFileSync(path.join(dir, 'ws', 'real-lifecycle-frames.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  lines.forEach((l, k) => {
    const p = Array.isArray(prov) ? prov[k] : undefined;
    c.realFrames.push({ frame: JSON.parse(l) as Rec, date: isRec(p) && typeof p.commit_date === 'string' ? p.commit_date : '' });
  });
  for (const l of readFileSync(path.join(dir, 'ws', 'docs-example-frames.jsonl'), 'utf8').split('\n')) {
    if (l.trim() === '') continue;
    const o = JSON.parse(l) as Rec;
    if (o.constructed !== true && isRec(o.frame)) c.docsFrames.push(o.frame);
  }
  c.tsSchema = (readJson(path.join(dir, 'spec', 'kalshi-typescript-3.30.0.schema.json')) as { definitions: Corpus['tsSchema'] }).definitions;
  c.asyncapi = (readJson(path.join(dir, 'spec', 'asyncapi-lifecycle.schema.json')) as unknown as { definitions: Corpus['asyncapi'] }).definitions;
  c.openapi = readFileSync(path.join(dir, 'spec', 'openapi-3.12.0.yaml'), 'utf8');
  cached = c;
  return c;
}

/** Property names of components.schemas.<name> in the OpenAPI YAML (indentation-based read). */
export function openapiSchemaProps(yaml: string, name: string): string[] {
  const lines = yaml.split('\n');
  const start = lines.findIndex((l) => l === `    ${name}:`);
  if (start < 0) return [];
  const out: string[] = [];
  let inProps = false;
  for (let k = start + 1; k < lines.length; k++) {
    const l = lines[k] ?? '';
    if (l.trim() === '') continue;
    const indent = l.length - l.trimStart().length;
    if (indent <= 4) break;
    if (indent === 6) inProps = l.trim() === 'properties:';
    else if (inProps && indent === 8) {
      const m = /^\s{8}([A-Za-z0-9_]+):/.exec(l);
      if (m) out.push(m[1] as string);
    }
  }
  return out;
}

/** Records of the newest shape generation: *_dollars / *_fp only, no legacy integer price/count fields. */
export const LEGACY_INTEGER_FIELDS = [
  'yes_bid',
  'yes_ask',
  'no_bid',
  'no_ask',
  'last_price',
  'previous_yes_bid',
  'previous_yes_ask',
  'previous_price',
  'volume',
  'volume_24h',
  'open_interest',
  'liquidity',
  'notional_value',
];
export function isNewestGeneration(m: Rec): boolean {
  return !LEGACY_INTEGER_FIELDS.some((k) => k in m) && 'volume_fp' in m;
}

export type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';
export function jsonType(v: Json | undefined): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as JsonType;
}
/** Whether a value of type `got` fits a field recorded with types `ref` (integers are numbers). */
export function typeFits(got: JsonType, ref: ReadonlySet<JsonType>): boolean {
  return ref.has(got) || (got === 'integer' && ref.has('number'));
}

interface FieldStats {
  count: number;
  types: Set<JsonType>;
  /** Format classes of string values ("0.5120" → "N.dddd", times with the fraction collapsed). */
  formats: Set<string>;
  withFraction: number;
}
export interface Shape {
  records: number;
  fields: Map<string, FieldStats>;
  /** Fields present in every record. */
  always: Set<string>;
}

/** Format class of a string value: the integer part of a number collapsed, other digits kept as 'd'. */
export function formatClass(v: string): string {
  if (/^\d{4}-\d\d-\d\dT/.test(v)) return v.replace(/\d/g, 'd').replace(/\.d+Z$/, '.fZ');
  if (/^-?\d+(\.\d+)?$/.test(v)) return v.replace(/^-?\d+/, 'N').replace(/\d/g, 'd');
  return 'text';
}

export function shapeOf(records: readonly Rec[]): Shape {
  const fields = new Map<string, FieldStats>();
  for (const r of records) {
    for (const [k, v] of Object.entries(r)) {
      let f = fields.get(k);
      if (!f) fields.set(k, (f = { count: 0, types: new Set(), formats: new Set(), withFraction: 0 }));
      f.count++;
      f.types.add(jsonType(v));
      if (typeof v === 'string') {
        f.formats.add(formatClass(v));
        if (/\.\d+Z$/.test(v)) f.withFraction++;
      }
    }
  }
  const always = new Set<string>();
  for (const [k, f] of fields) if (f.count === records.length) always.add(k);
  return { records: records.length, fields, always };
}

/** Whether every object (at any depth) has its keys in ascending order. */
export function keysSortedDeep(v: Json, where = '$'): string | undefined {
  if (Array.isArray(v)) {
    for (let k = 0; k < v.length; k++) {
      const bad = keysSortedDeep(v[k] as Json, `${where}[${k}]`);
      if (bad) return bad;
    }
    return undefined;
  }
  if (!isRec(v)) return undefined;
  const keys = Object.keys(v);
  const sorted = [...keys].sort();
  if (keys.join() !== sorted.join()) return `${where}: ${keys.join(',')}`;
  for (const k of keys) {
    const bad = keysSortedDeep(v[k] as Json, `${where}.${k}`);
    if (bad) return bad;
  }
  return undefined;
}

/** `keys` restricted to `common`, in order. */
export function restrictTo(keys: readonly string[], common: ReadonlySet<string>): string[] {
  return keys.filter((k) => common.has(k));
}
