/**
 * The live view fits any terminal. A fake TTY with a fixed width and height interprets what the
 * view writes the way a terminal does (lines longer than the width wrap onto the next row; the
 * cursor cannot go above the top of the screen; a resize reflows the text), so a wrong
 * cursor-up count shows up as stale lines left on screen or committed lines erased.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { fitLine, LiveScreen, packSegments, renderLiveSummary, renderSynced, renderSyncProgress } from '../../src/cli/live-view.js';
import type { RegistryStats } from '../../src/registry/create-registry.js';
import type { RegistrySummary } from '../../src/registry/summary-store.js';

/** A terminal: logical lines (reflowed at the current width), a cursor, CUU / CPL / ED / CR / LF. */
class FakeTty extends EventEmitter {
  readonly lines: string[] = [''];
  line = 0;
  offset = 0;
  /** Every cursor-up count, in order. */
  readonly ups: number[] = [];
  /** The widest logical line ever written. */
  widest = 0;
  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }
  resize(columns: number, rows = this.rows): void {
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }
  #rowsOf(text: string): number {
    return Math.max(1, Math.ceil(text.length / this.columns));
  }
  #cursorRow(): number {
    let r = 0;
    for (let i = 0; i < this.line; i++) r += this.#rowsOf(this.lines[i] as string);
    return r + Math.floor(this.offset / this.columns);
  }
  #totalRows(): number {
    return this.lines.reduce((s, l) => s + this.#rowsOf(l), 0);
  }
  #moveToRow(target: number): void {
    let r = 0;
    for (let i = 0; i < this.lines.length; i++) {
      const rows = this.#rowsOf(this.lines[i] as string);
      if (target < r + rows) {
        this.line = i;
        this.offset = (target - r) * this.columns;
        return;
      }
      r += rows;
    }
  }
  write(chunk: string): boolean {
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i] as string;
      if (ch === '\x1b') {
        const m = /^\x1b\[(\d*)([A-Za-z])/.exec(chunk.slice(i));
        if (!m) throw new Error(`unknown escape at ${JSON.stringify(chunk.slice(i, i + 8))}`);
        i += m[0].length - 1;
        const n = m[1] === '' ? 1 : Number(m[1]);
        const op = m[2];
        if (op === 'A' || op === 'F') {
          this.ups.push(n);
          const top = Math.max(0, this.#totalRows() - this.rows);
          const col = this.offset % this.columns;
          this.#moveToRow(Math.max(top, this.#cursorRow() - n));
          if (op === 'A') this.offset += col;
        } else if (op === 'J') {
          this.lines[this.line] = (this.lines[this.line] as string).slice(0, this.offset);
          this.lines.length = this.line + 1;
        } else throw new Error(`unexpected escape ${m[0]}`);
      } else if (ch === '\r') {
        this.offset -= this.offset % this.columns;
      } else if (ch === '\n') {
        this.line++;
        this.offset = 0;
        if (this.line === this.lines.length) this.lines.push('');
      } else {
        const cur = (this.lines[this.line] as string).padEnd(this.offset, ' ');
        this.lines[this.line] = cur.slice(0, this.offset) + ch + cur.slice(this.offset + 1);
        this.offset++;
        this.widest = Math.max(this.widest, (this.lines[this.line] as string).length);
      }
    }
    return true;
  }
  /** The text on screen and in scrollback, without the empty line the cursor sits on. */
  text(): string[] {
    const out = [...this.lines];
    if (out[out.length - 1] === '') out.pop();
    return out;
  }
}

/** Only the fields the view reads (the summary type grows with the registry). */
const summary = (over: Partial<RegistrySummary> = {}): RegistrySummary =>
  ({
    phase: 'running.healthy',
    problems: {},
    sync: { state: 'running', pages: 412, markets: 411_000, quarantined: 3, startedAt: null, finishedAt: null, attempts: 1 },
    exchange: { exchangeActive: true, tradingActive: true, estimatedResumeTs: null, observedAt: 0, maintenance: false },
    lifecycle: { source: 'websocket', state: 'subscribed', attempt: 0, error: null },
    lastReconcile: null,
    ...over,
  }) as unknown as RegistrySummary;

const stats = (): RegistryStats =>
  ({
    markets: 1_000_000,
    active: 312_345,
    events: 182_000,
    statusCounts: {
      initialized: 51_234,
      inactive: 12_345,
      active: 312_345,
      closed: 123_456,
      determined: 23_456,
      disputed: 1_234,
      amended: 567,
      finalized: 475_363,
    },
    counters: { changes: 1_234_567, rejected: 12, quarantined: 3 },
    reconciles: 17,
    lifecycle: { lifecycleMessages: 9_876_543, gaps: 2 },
  }) as unknown as RegistryStats;

const degraded = summary({
  phase: 'running.degraded',
  problems: {
    eventSync: 'HttpError: GET https://external-api.kalshi.com/trade-api/v2/events?limit=200&cursor=abc failed with HTTP 503 after 4 attempts',
    exchangeStatus: 'maintenance',
  },
});

describe('renderers fit the width', () => {
  for (const columns of [40, 80, 120, 200]) {
    it(`${columns} columns: no line reaches the last column`, () => {
      const lines = [
        renderSyncProgress(summary(), 1_000_000, 12_345, columns),
        renderSyncProgress(summary(), null, 12_345, columns),
        renderSynced(1_000_000, 1000, 39_123, 3, columns),
        ...renderLiveSummary(summary(), stats(), 1234.5, columns),
        ...renderLiveSummary(degraded, stats(), 0, columns),
      ];
      for (const line of lines) expect(line.length, line).toBeLessThan(columns);
    });
  }

  it('keeps the whole content at 200 columns, one line per group', () => {
    const lines = renderLiveSummary(summary(), stats(), 12.3, 200);
    expect(lines).toHaveLength(4);
    expect(lines.join('\n')).toContain('finalized 475,363');
    expect(lines.join('\n')).toContain('9,876,543 msgs, 2 gaps');
    expect(renderSyncProgress(summary(), 1_000_000, 10_000, 200)).toMatch(
      /^syncing \[#{12}\.{18}\] 41% 411,000 of 1,000,000 markets, 412 pages, 41,100\/s, 3 quarantined$/,
    );
  });

  it('wraps by groups rather than cutting at 80 columns', () => {
    const lines = renderLiveSummary(summary(), stats(), 12.3, 80);
    expect(lines.join('\n')).toContain('finalized 475,363');
    expect(lines.join('\n')).toContain('9,876,543 msgs, 2 gaps');
    expect(renderSyncProgress(summary(), 1_000_000, 10_000, 80)).toMatch(/^syncing \[#+\.+\] 41% 411,000 of 1,000,000 markets/);
  });

  it('the line at the end of the initial sync', () => {
    expect(renderSynced(20_000, 20, 1234)).toBe('synced 20,000 markets in 1.2 s (20 pages, 16,207/s)');
    expect(renderSynced(5, 1, 0, 2)).toBe('synced 5 markets in 0.0 s (1 pages, 0/s, 2 quarantined)');
  });

  it('fitLine cuts to width - 1 and removes control characters', () => {
    expect(fitLine('abcdef', 4)).toBe('abc');
    expect(fitLine('a\nb\x1b[2Jc', 80)).toBe('a b [2Jc');
    expect(packSegments(['aaaa', 'bbbb', 'cccc'], 12, { firstIndent: '' })).toEqual(['aaaa | bbbb', '  cccc']);
  });
});

/** A CLI session: a committed line, sync progress, the synced line, live summaries of varying height. */
function session(tty: FakeTty, screen: LiveScreen, afterSummary?: () => void): string[] {
  tty.write('simulated exchange: http://127.0.0.1:40000/trade-api/v2 (1,000,000 markets)\n');
  tty.widest = 0; // that line is printed as it is (it may wrap); the view's own lines never do
  for (const markets of [0, 1000, 250_000, 999_000]) {
    const before = screen.drawnLines;
    const upsBefore = tty.ups.length;
    screen.show((c) => [renderSyncProgress(summary({ sync: { ...summary().sync, markets } }), 1_000_000, 5000, c)]);
    // Cursor-up count = rows drawn by the previous frame (none before the first).
    if (before > 0) expect(tty.ups.slice(upsBefore)).toEqual([before]);
  }
  screen.show((c) => [renderSynced(1_000_000, 1000, 39_100, 0, c)]);
  screen.commit();
  let last: readonly string[] = [];
  for (const s of [summary(), degraded, summary(), degraded, summary()]) {
    const before = screen.drawnLines;
    const upsBefore = tty.ups.length;
    screen.show((c) => (last = renderLiveSummary(s, stats(), 3.5, c)));
    if (before > 0) expect(tty.ups.slice(upsBefore)).toEqual([before]);
    afterSummary?.();
  }
  return [...last];
}

describe('LiveScreen on a fixed-size terminal', () => {
  it.each([
    [80, 24],
    [200, 50],
    [60, 24],
  ])('%i×%i: lines never wrap, the cursor goes up exactly the lines drawn, nothing is left behind', (columns, rows) => {
    const tty = new FakeTty(columns, rows);
    const screen = new LiveScreen(tty);
    const frame = session(tty, screen);
    expect(tty.widest).toBeLessThan(columns);
    const text = tty.text();
    expect(text).toEqual([
      'simulated exchange: http://127.0.0.1:40000/trade-api/v2 (1,000,000 markets)',
      renderSynced(1_000_000, 1000, 39_100, 0, columns),
      ...frame,
    ]);
    expect(text.filter((l) => l.startsWith('syncing'))).toEqual([]);
    expect(text.filter((l) => l.startsWith('registry '))).toHaveLength(1);
  });

  it('redraws on resize, 200 → 80 → 200 columns, without leaving rows behind (reflowing terminal)', () => {
    const tty = new FakeTty(200, 40);
    const screen = new LiveScreen(tty);
    let frame: readonly string[] = [];
    const render = (c: number) => (frame = renderLiveSummary(degraded, stats(), 1, c));
    screen.show(render);
    const ups = tty.ups.length;
    tty.resize(80);
    // The old 200-column lines now take two rows each where they are longer than 80.
    expect(tty.ups.length).toBe(ups + 1);
    expect(tty.text()).toEqual(frame);
    expect(frame.every((l) => l.length < 80)).toBe(true);
    tty.resize(200);
    expect(tty.text()).toEqual(frame);
    screen.show(render);
    expect(tty.text()).toEqual(frame);
    screen.close();
    expect(tty.listenerCount('resize')).toBe(0);
  });

  it('prints log lines above the frame', () => {
    const tty = new FakeTty(80, 24);
    const screen = new LiveScreen(tty);
    screen.show((c) => renderLiveSummary(summary(), stats(), 1, c));
    screen.print('{"level":40,"msg":"a warning that is longer than the terminal is wide, so it wraps onto a second row of the screen"}\n');
    const frame = renderLiveSummary(summary(), stats(), 2, 80);
    screen.show(() => frame);
    expect(tty.text()).toEqual([
      '{"level":40,"msg":"a warning that is longer than the terminal is wide, so it wraps onto a second row of the screen"}',
      ...frame,
    ]);
  });

  it('a frame taller than the terminal is cut to its height', () => {
    const tty = new FakeTty(30, 4);
    const screen = new LiveScreen(tty);
    for (let i = 0; i < 3; i++) screen.show((c) => renderLiveSummary(degraded, stats(), i, c));
    expect(tty.text()).toHaveLength(3);
    expect(tty.ups).toEqual([3, 3]);
  });

  it('the fake terminal shows the old bug: a line wider than the terminal, cursor up by the line count, leaves a row behind', () => {
    const tty = new FakeTty(80, 24);
    const old = (lines: string[], last: number) => tty.write(`${last > 0 ? `\x1b[${last}F\x1b[J` : ''}${lines.join('\n')}\n`);
    const wide = ['registry running.healthy', `  exchange: exchange active, trading active | lifecycle: websocket subscribed, 9,876,543 msgs, 2 gaps`];
    old(wide, 0);
    old(wide, 2);
    expect(tty.text()).toHaveLength(3); // one stale row: the frame took 3 rows, the cursor went up 2
  });
});
