/**
 * The CLI's human view: a progress line during the initial sync, a "synced N markets in X s"
 * line when it ends, then a live summary redrawn in place.
 *
 * Rendering is pure (strings in, strings out, for a given terminal width) so it is tested without
 * a terminal. `LiveScreen` draws a frame on a TTY: every line is cut to the terminal's width (a
 * wrapped line would take two rows and break the cursor-up count), the frame is at most the
 * terminal's height, it moves the cursor up exactly the rows it drew last time, and it redraws
 * on resize. Log lines printed through it appear above the frame.
 */
import { MARKET_STATUSES } from '../kalshi/schemas.js';
import type { RegistryStats } from '../registry/create-registry.js';
import type { RegistrySummary } from '../registry/summary-store.js';

/** Widths used when the stream does not say (not a TTY). */
const DEFAULT_COLUMNS = 80;
const DEFAULT_ROWS = 24;

const n = (x: number): string => x.toLocaleString('en-US');

/** Characters a line may use at `columns` (one less than the width: no line reaches the last column). */
const usable = (columns: number): number => Math.max(1, Math.floor(columns) - 1);

/** Control characters out (they would move the cursor), then cut to the usable width. */
export function fitLine(line: string, columns: number): string {
  const clean = line.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  const chars = Array.from(clean);
  const max = usable(columns);
  return chars.length <= max ? clean : chars.slice(0, max).join('');
}

/** Display width of a fitted line (code points: the view only prints narrow characters). */
const lineWidth = (line: string): number => Array.from(line).length;

/**
 * Segments joined with `sep` into as few lines as fit in `columns`; each line starts with
 * `indent` (the first with `firstIndent`). A segment longer than a line is cut later by fitLine.
 */
export function packSegments(
  segments: readonly string[],
  columns: number,
  options: { readonly indent?: string; readonly firstIndent?: string; readonly sep?: string } = {},
): string[] {
  const indent = options.indent ?? '  ';
  const firstIndent = options.firstIndent ?? indent;
  const sep = options.sep ?? ' | ';
  const max = usable(columns);
  const lines: string[] = [];
  let cur = '';
  for (const seg of segments) {
    const prefix = lines.length === 0 ? firstIndent : indent;
    if (cur === '') cur = prefix + seg;
    else if (lineWidth(cur) + sep.length + lineWidth(seg) <= max) cur += sep + seg;
    else {
      lines.push(cur);
      cur = indent + seg;
    }
  }
  if (cur !== '') lines.push(cur);
  return lines;
}

function progressBar(done: number, total: number | null, width = 30): string {
  if (total === null || total <= 0) {
    // Unknown total (the real exchange does not say how many markets it has): a moving marker.
    const pos = done % width;
    return `[${' '.repeat(pos)}=${' '.repeat(width - pos - 1)}]`;
  }
  const filled = Math.min(width, Math.round((done / total) * width));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.min(100, Math.floor((done / total) * 100))}%`;
}

/**
 * The sync progress line. The bar (30 cells, down to 10) comes first; when it does not fit the
 * pages, then the rate, are left out; without room for a 10-cell bar, no bar.
 */
export function renderSyncProgress(summary: RegistrySummary, total: number | null, elapsedMs: number, columns = 200): string {
  const { markets, pages, quarantined } = summary.sync;
  const rate = elapsedMs > 0 ? Math.round((markets / elapsedMs) * 1000) : 0;
  const of = total === null ? '' : ` of ${n(total)}`;
  const bad = quarantined > 0 ? `, ${n(quarantined)} quarantined` : '';
  const text = (m: string, p: string | null, r: string | null) => `${m}${of} markets${p === null ? '' : `, ${p} pages`}${r === null ? '' : `, ${r}/s`}${bad}`;
  // The bar's width is set by the widest the text gets during this sync, so it does not jump.
  const widestMarkets = n(Math.max(markets, total ?? 0));
  const widestPages = String(Math.max(pages, Math.ceil((total ?? 0) / 1000)));
  const widestRate = n(Math.max(rate, 99_999));
  for (const [withPages, withRate] of [
    [true, true],
    [false, true],
    [false, false],
  ] as const) {
    const widest = `syncing [] 100% ${text(widestMarkets, withPages ? widestPages : null, withRate ? widestRate : null)}`;
    const barWidth = Math.min(30, usable(columns) - lineWidth(widest));
    if (barWidth >= 10)
      return fitLine(
        `syncing ${progressBar(markets, total, barWidth)} ${text(n(markets), withPages ? String(pages) : null, withRate ? n(rate) : null)}`,
        columns,
      );
  }
  return fitLine(`syncing ${text(n(markets), String(pages), n(rate))}`, columns);
}

/** The line that stays on screen when the initial sync ends. */
export function renderSynced(
  markets: number,
  pages: number,
  ms: number,
  quarantined = 0,
  columns = 200,
  start: { readonly warm: boolean; readonly loaded: number } = { warm: false, loaded: 0 },
): string {
  const rate = ms > 0 ? Math.round((markets / ms) * 1000) : 0;
  const bad = quarantined > 0 ? `, ${n(quarantined)} quarantined` : '';
  // Warm: the pages were a catch-up from the stored state, so a rate would say nothing.
  const how = start.warm ? `warm: ${n(start.loaded)} loaded, caught up in ${n(pages)} pages` : `${n(pages)} pages, ${n(rate)}/s`;
  return fitLine(`synced ${n(markets)} markets in ${(ms / 1000).toFixed(1)} s (${how}${bad})`, columns);
}

/** The state directory's and the NATS fan-out's figures, when they are on (none otherwise). */
function durableSegments(stats: RegistryStats): string[] {
  const out: string[] = [];
  // Optional chaining: RegistryStats built by hand (older embedders, tests) may lack both fields.
  const writer = stats.persistence?.writer;
  if (writer) {
    const failed = writer.failures > 0 ? `, ${n(writer.failures)} failed batches${writer.lastError ? ` (${writer.lastError})` : ''}` : '';
    out.push(`state: ${n(writer.marketsWritten)} market writes, ${n(writer.pendingMarkets)} pending${failed}`);
  }
  const nats = stats.publish;
  if (nats) {
    const link = nats.connected ? nats.stage : `DISCONNECTED (${nats.stage})`;
    out.push(`nats: ${link}, ${n(nats.published)} published, ${n(nats.buffered)} buffered${nats.failures > 0 ? `, ${n(nats.failures)} retries` : ''}`);
  }
  return out;
}

/** The live summary, wrapped to `columns` by groups (never a line wider than the terminal). */
export function renderLiveSummary(summary: RegistrySummary, stats: RegistryStats, changesPerSec: number, columns = 200): string[] {
  const ex = summary.exchange;
  const exchange =
    ex === null
      ? 'unknown'
      : `${ex.exchangeActive ? 'exchange active' : 'EXCHANGE DOWN'}, ${ex.tradingActive ? 'trading active' : 'trading paused'}${ex.maintenance ? ' (maintenance)' : ''}`;
  const problems = Object.entries(summary.problems).map(([k, v]) => `${k}: ${v}`);
  const counts = MARKET_STATUSES.map((s) => `${s} ${n(stats.statusCounts[s])}`);
  const lifecycle = summary.lifecycle.source === 'none' ? 'REST only' : `${summary.lifecycle.source} ${summary.lifecycle.state}`;
  const lines = [
    ...packSegments([`registry ${summary.phase}`, `${n(stats.markets)} markets, ${n(stats.active)} active, ${n(stats.events)} events`], columns, {
      firstIndent: '',
    }),
    ...packSegments(counts, columns),
    ...packSegments(
      [
        `changes ${n(stats.counters.changes)} (${changesPerSec.toFixed(1)}/s)`,
        `rejected ${n(stats.counters.rejected)}`,
        `quarantined ${n(stats.counters.quarantined)}`,
        `reconciles ${n(stats.reconciles)}`,
      ],
      columns,
    ),
    ...packSegments(
      [`exchange: ${exchange}`, `lifecycle: ${lifecycle}, ${n(stats.lifecycle.lifecycleMessages)} msgs, ${n(stats.lifecycle.gaps)} gaps`],
      columns,
    ),
    ...packSegments(durableSegments(stats), columns),
    ...(problems.length > 0
      ? packSegments(
          problems.map((p, i) => (i === 0 ? `degraded: ${p}` : p)),
          columns,
          { sep: '; ' },
        )
      : []),
  ];
  return lines.map((l) => fitLine(l, columns));
}

/** What LiveScreen needs of a terminal (process.stderr when it is a TTY). */
export interface TerminalLike {
  readonly columns?: number | undefined;
  readonly rows?: number | undefined;
  write(chunk: string): unknown;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

/** Rows a line of `width` characters takes at `columns` (a terminal that reflows on resize). */
const rowsOf = (width: number, columns: number): number => Math.max(1, Math.ceil(width / Math.max(1, columns)));

/**
 * A frame redrawn in place. `show(render)` draws `render(columns)`; the next `show` (or a resize)
 * moves the cursor up over exactly the rows drawn and redraws. `commit()` leaves the frame on
 * screen (the next one starts below it); `print(text)` writes text above the frame.
 */
export class LiveScreen {
  readonly #term: TerminalLike;
  #render: ((columns: number) => readonly string[]) | null = null;
  /** The lines on screen now (already fitted), and nothing else below them. */
  #drawn: string[] = [];
  readonly #onResize = (): void => this.#paint();

  constructor(term: TerminalLike) {
    this.#term = term;
    term.on?.('resize', this.#onResize);
  }

  get columns(): number {
    const c = this.#term.columns;
    return typeof c === 'number' && c > 0 ? c : DEFAULT_COLUMNS;
  }

  get rows(): number {
    const r = this.#term.rows;
    return typeof r === 'number' && r > 0 ? r : DEFAULT_ROWS;
  }

  /** How many lines are on screen now. */
  get drawnLines(): number {
    return this.#drawn.length;
  }

  show(render: (columns: number) => readonly string[]): void {
    this.#render = render;
    this.#paint();
  }

  /** Leaves the current frame on screen; the next `show` draws below it. */
  commit(): void {
    this.#drawn = [];
    this.#render = null;
  }

  /** Writes `text` (complete lines) above the frame, then the frame again. */
  print(text: string): void {
    const body = text.endsWith('\n') ? text : `${text}\n`;
    this.#term.write(`${this.#erase()}${body}${this.#frame(this.#drawn)}`);
  }

  close(): void {
    this.#term.off?.('resize', this.#onResize);
  }

  /** Cursor to the frame's first row, and everything from there down erased. */
  #erase(): string {
    if (this.#drawn.length === 0) return '';
    const columns = this.columns;
    const rows = this.#drawn.reduce((sum, line) => sum + rowsOf(lineWidth(line), columns), 0);
    return `\r\x1b[${rows}A\x1b[J`;
  }

  #frame(lines: readonly string[]): string {
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  }

  #paint(): void {
    if (this.#render === null) return;
    const columns = this.columns;
    const lines = this.#render(columns)
      .slice(0, Math.max(1, this.rows - 1))
      .map((l) => fitLine(l, columns));
    const out = `${this.#erase()}${this.#frame(lines)}`;
    this.#drawn = lines;
    this.#term.write(out);
  }
}
