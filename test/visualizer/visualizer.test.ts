/**
 * The visualizer page in a real browser: a simulator (300 markets), a registry on it, the
 * visualizer server, and headless Chromium (playwright-core, Debian's /usr/bin/chromium) on
 * 127.0.0.1, one launch for the whole file, at 1600 × 1300. Checks that every state of every
 * statechart is drawn, legibly; that the supervisor's current state is highlighted and its
 * context shown; that a lifecycle change made on the exchange reaches the page (change list
 * and per-status counts); that a chart the page has no code for is drawn and animated like the
 * others; and that the page never shows stale data as live ("connecting…", "connection lost",
 * "registry stopped", greyed out). Saves test/artifacts/visualizer.png.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import type { MarketRegistry } from '../../src/registry/create-registry.js';
import type { SimExchange } from '../../src/sim/index.js';
import { startHarness, type Harness } from '../integration/helpers.js';
import { MACHINES, machineToGraph } from '../../visualizer/graph.js';
import { createActorTracker, statePaths, type ActorRecord, type ActorTracker } from '../../visualizer/inspection.js';
import { layoutChart } from '../../visualizer/layout.js';
import { startVisualizer, type ChartPayload, type Visualizer } from '../../visualizer/server.js';
import { connectionStandIn } from './stand-in-machine.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARTIFACT = join(import.meta.dirname, '..', 'artifacts', 'visualizer.png');
const VIEWPORT = { width: 1600, height: 1300 };
// Run in the page (as source text: the tests compile without DOM types).
const LAYOUT_FILTER = `getComputedStyle(document.querySelector('main.layout')).filter`;
/** Every text of every chart, with its rendered size: CSS font size (and box height) × the SVG's scale on screen. */
const CHART_TEXT_SIZES = `[...document.querySelectorAll('svg.statechart text')].map((t) => {
  const ctm = t.getScreenCTM();
  const scale = ctm ? Math.hypot(ctm.a, ctm.b) : 0;
  return { text: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * scale, height: t.getBBox().height * scale };
})`;
const inPage = <T>(p: Page, expression: string): Promise<T> => p.evaluate<T>(expression);

let harness: Harness | undefined;
let sim: SimExchange;
let registry: MarketRegistry;
let visualizer: Visualizer;
let tracker: ActorTracker;
let browser: Browser | null = null;
let context: BrowserContext | null = null;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  // CI installs Chromium; a missing browser is a failure to fix, not a reason to skip.
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install it (Debian: apt-get install chromium) or set CHROMIUM_PATH. The visualizer browser test cannot run without it.`,
    );
  }
  tracker = createActorTracker();
  harness = await startHarness({ markets: 300, seed: 7 }, { inspect: tracker.inspect }, { collect: false });
  ({ sim, registry } = harness);
  visualizer = await startVisualizer({ registry, tracker, port: 0, logger: silentLogger, expectedMarkets: () => sim.marketCount, exchangeLabel: 'simulator' });
  registry.start();
  await registry.synced;

  // launch() gives the browser a fresh temporary profile of its own (removed on close).
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    timeout: 20_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context = await browser.newContext({ viewport: VIEWPORT });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(msg.text());
  });
  await page.goto(visualizer.url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
}, 45_000);

afterAll(async () => {
  await context?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await visualizer?.close();
  await harness?.close();
}, 20_000);

describe('visualizer page (headless Chromium)', () => {
  it('draws every state and every transition between states of every statechart', async () => {
    for (const entry of MACHINES) {
      const graph = machineToGraph(entry.machine);
      const chart = page.locator(`svg.statechart[data-machine="${entry.id}"]`);
      await expect(chart.count()).resolves.toBe(1);
      const drawn = await chart.locator('g.state').evaluateAll((els) => els.map((e) => e.getAttribute('data-state-id')));
      expect(drawn.sort()).toEqual(graph.nodes.map((n) => n.id).sort());
      const finals = await chart.locator('g.state[data-state-type="final"] rect.inner').count();
      expect(finals).toBe(graph.nodes.filter((n) => n.type === 'final').length);
      // Default view of the lifecycle chart hides the REST status_observed transitions.
      // Transitions of a state into its own contents are lines of its box, not edges.
      const inside = (e: { source: string; target: string | null }) => e.target !== null && e.target.startsWith(`${e.source}.`);
      const shown = graph.edges.filter((e) => e.target !== null && e.target !== e.source && !inside(e) && e.eventType !== 'status_observed');
      const pairs = new Set(shown.map((e) => `${e.source}>${e.target}`));
      const edges = await chart
        .locator('g.edge:not(.kind-initial)')
        .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-source')}>${e.getAttribute('data-target')}`));
      expect(new Set(edges)).toEqual(pairs);
    }
  });

  it("highlights the supervisor's current states, and shows each of its machine children on its chart", async () => {
    // Whatever the supervisor's states are called: the page highlights exactly the active ones.
    const registryChart = page.locator('svg.statechart[data-machine="registry"]');
    const active = async () =>
      (await registryChart.locator('g.state[data-active="true"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-state-path')))).sort();
    await expect.poll(async () => (await active()).join(' ')).toBe(statePaths(registry.actor?.getSnapshot().value).sort().join(' '));
    expect((await active()).length).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#phase').textContent()).toBe(registry.summary.getSnapshot().context.phase);
    // Every running machine child has a row, and sits, as a chip, in some state of its machine's chart if one is drawn.
    const children = tracker.all().filter((a) => a.kind === 'machine' && a.parent !== null && a.status === 'active');
    expect(children.length).toBeGreaterThan(0);
    for (const a of children) {
      await page.locator(`#actors tr[data-actor="${a.fullName}"]`).waitFor();
      if (MACHINES.some((m) => m.id === a.machineId))
        await page.locator(`svg.statechart[data-machine="${a.machineId}"] g.state .chip[data-actor="${a.name}"]`).first().waitFor();
    }
    expect(children.filter((a) => MACHINES.some((m) => m.id === a.machineId)).length).toBeGreaterThan(0);
  });

  it('shows a lifecycle change made on the exchange: change list and per-status counts', async () => {
    const lifecycle = page.locator('svg.statechart[data-machine="marketLifecycle"]');
    const inactiveCount = async () => Number(await lifecycle.locator('g.state[data-state-path="inactive"]').getAttribute('data-count'));
    const expected = registry.stats().statusCounts.inactive;
    await expect.poll(inactiveCount, { timeout: 5_000 }).toBe(expected);

    const ticker = sim.tickers().find((t) => sim.getMarket(t)?.status === 'active');
    expect(ticker).toBeDefined();
    sim.deactivate(ticker as string);

    await page.locator(`#changes li[data-ticker="${ticker}"][data-new-status="inactive"]`).waitFor();
    await expect.poll(inactiveCount, { timeout: 5_000 }).toBe(expected + 1);
    await expect.poll(async () => Number(await page.locator('#population .num[data-status="inactive"]').getAttribute('data-count'))).toBe(expected + 1);
    expect(registry.getMarket(ticker as string)?.marketStatus).toBe('inactive');

    await page.waitForTimeout(300); // let the transition flash settle into the screenshot
    await mkdir(join(ARTIFACT, '..'), { recursive: true });
    await page.screenshot({ path: ARTIFACT, fullPage: true });
    expect(existsSync(ARTIFACT)).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it('serves each machine definition as JSON and only to loopback Host headers', async () => {
    for (const entry of MACHINES) {
      const res = await fetch(new URL(`/machines/${entry.id}.json`, visualizer.url));
      expect(res.status).toBe(200);
      expect(((await res.json()) as { id: string }).id).toBe(entry.id);
    }
    const state = (await (await fetch(new URL('/api/state', visualizer.url))).json()) as { summary: { phase: string } };
    expect(state.summary.phase).toBe(registry.summary.getSnapshot().context.phase);
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(new URL('/', visualizer.url), { headers: { host: 'attacker.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });
  it('draws chart text at 11 px or more in a 1600 px wide window', async () => {
    expect(await inPage(page, 'window.innerWidth')).toBe(VIEWPORT.width);
    const texts = await inPage<{ text: string; px: number; height: number }[]>(page, CHART_TEXT_SIZES);
    expect(texts.length).toBeGreaterThan(100);
    const small = texts.filter((t) => t.px < 11 || t.height < 11);
    expect(small.slice(0, 5)).toEqual([]);
    // Wide charts scroll inside their card; the page itself does not scroll sideways.
    expect(await inPage(page, 'document.documentElement.scrollWidth')).toBeLessThanOrEqual(VIEWPORT.width);
  });

  it('says "live", not greyed out, while data flows', async () => {
    await expect.poll(() => page.locator('#feedStatus').getAttribute('data-state')).toBe('live');
    await expect(page.locator('#feedStatus').textContent()).resolves.toBe('live');
    await expect(page.locator('body').getAttribute('data-feed')).resolves.toBe('live');
    await expect(inPage(page, LAYOUT_FILTER)).resolves.toBe('none');
  });

  it("shows the supervisor's context values in the context panel, and any other actor's on request", async () => {
    const dd = (key: string) => page.locator(`#context dd[data-key="${key}"]`);
    await expect.poll(() => page.locator('#context').getAttribute('data-actor')).toBe('registry');
    await expect(dd('syncFailures').textContent()).resolves.toBe('0');
    await expect(dd('reconcileIntervalMs').getAttribute('title')).resolves.toBe(String(3_600_000));
    await expect(dd('lastSyncError').textContent()).resolves.toBe('null');
    await expect(dd('backoff.baseMs').textContent()).resolves.toBe('20');
    await page.locator('#contextActor').selectOption('registry/reconcile');
    await expect.poll(() => page.locator('#context').getAttribute('data-actor')).toBe('registry/reconcile');
    await expect(dd('intervalMs').getAttribute('title')).resolves.toBe(String(3_600_000));
    await page.locator('#contextActor').selectOption('registry');
  });

  it('draws a machine it has no code for, highlights its actor and shows its context (a stand-in for lifecycle-connection)', async () => {
    // What the server would send for a new entry in MACHINES: nothing about it is known to the page.
    const connection = connectionStandIn;
    const graph = machineToGraph(connection);
    const chart: ChartPayload = {
      id: connection.id,
      title: 'Connection (stand-in)',
      file: 'machines/connection-stand-in.ts',
      summary: 'Not a real machine: the page must draw it from the payload alone.',
      graph,
      layouts: { full: await layoutChart(graph, { liveRow: true }), compact: null },
    };
    const actor: ActorRecord = {
      sessionId: 'x:stand-in',
      name: 'connection',
      fullName: 'registry/connection',
      parent: 'x:registry',
      kind: 'machine',
      machineId: connection.id,
      src: 'connection',
      status: 'active',
      value: 'subscribed',
      paths: ['subscribed'],
      lastEvent: 'SUBSCRIBED',
      snapshots: 4,
      updatedAt: Date.now(),
      context: { attempt: 2, lastError: null, channel: 'market_lifecycle_v2', pending: '3 items' },
    };
    const other = await (context as BrowserContext).newPage();
    const errors: string[] = [];
    other.on('pageerror', (err) => errors.push(err.message));
    try {
      await other.route('**/api/graphs', async (route) => {
        const res = await route.fetch();
        const body = (await res.json()) as { machines: ChartPayload[] };
        await route.fulfill({ response: res, json: { machines: [...body.machines, chart] } });
      });
      let injected = false;
      await other.routeWebSocket(/\/ws$/, (ws) => {
        const server = ws.connectToServer();
        server.onMessage((message) => {
          const msg = JSON.parse(String(message)) as { type: string; actors?: ActorRecord[] };
          if (msg.type === 'tick' && !injected) {
            msg.actors = [...(msg.actors ?? []), actor];
            injected = true;
          }
          ws.send(JSON.stringify(msg));
        });
      });
      await other.goto(visualizer.url);
      await other.waitForSelector('body[data-ready="true"]');
      const svg = other.locator(`svg.statechart[data-machine="${connection.id}"]`);
      const drawn = await svg.locator('g.state').evaluateAll((els) => els.map((e) => e.getAttribute('data-state-id')));
      expect(drawn.sort()).toEqual(graph.nodes.map((n) => n.id).sort());
      const pairs = new Set(graph.edges.filter((e) => e.target !== null && e.target !== e.source).map((e) => `${e.source}>${e.target}`));
      const edges = await svg
        .locator('g.edge:not(.kind-initial)')
        .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-source')}>${e.getAttribute('data-target')}`));
      expect(new Set(edges)).toEqual(pairs);
      expect(await svg.locator('g.state[data-state-type="final"] rect.inner').count()).toBe(2);
      await svg.locator('g.state[data-state-path="subscribed"][data-active="true"] .chip[data-actor="connection"]').waitFor();
      await expect(svg.locator('g.state[data-active="true"]').count()).resolves.toBe(1);
      await expect(other.locator(`article.chart[data-machine="${connection.id}"] [data-instances]`).textContent()).resolves.toContain('connection: subscribed');
      await other.locator('#actors tr[data-actor="registry/connection"]').waitFor();
      // The real charts still work beside it.
      await other.locator('svg.statechart[data-machine="registry"] g.state[data-active="true"]').first().waitFor();
      await other.locator('#contextActor').selectOption('registry/connection');
      await expect(other.locator('#context dd[data-key="channel"]').textContent()).resolves.toBe('market_lifecycle_v2');
      await expect(other.locator('#context dd[data-key="attempt"]').textContent()).resolves.toBe('2');
      expect(errors).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('says "connecting…" while it waits for data, and "connection lost", greyed out, when the feed closes', async () => {
    const other = await (context as BrowserContext).newPage();
    try {
      const sockets: WebSocketRoute[] = [];
      // A feed that accepts the connection and sends nothing (the server never answers).
      await other.routeWebSocket(/\/ws$/, (ws) => void sockets.push(ws));
      await other.goto(visualizer.url);
      await other.waitForSelector('body[data-ready="true"]');
      await expect.poll(() => sockets.length).toBe(1);
      const status = other.locator('#feedStatus');
      await expect(status.getAttribute('data-state')).resolves.toBe('connecting');
      await expect(status.textContent()).resolves.toBe('connecting…');
      const filter = () => inPage<string>(other, LAYOUT_FILTER);
      await expect(filter()).resolves.toContain('grayscale');
      await (sockets[0] as WebSocketRoute).close();
      await expect.poll(() => status.getAttribute('data-state')).toBe('lost');
      await expect(status.textContent()).resolves.toMatch(/^connection lost/);
      await expect(filter()).resolves.toContain('grayscale');
      await expect(other.locator('body').getAttribute('data-feed')).resolves.toBe('lost');
    } finally {
      await other.close();
    }
  });

  // Last: stops the registry.
  it('says "registry stopped", greyed out, when the registry stops, and "connection lost" when the server goes', async () => {
    await expect.poll(() => page.locator('#feedStatus').getAttribute('data-state')).toBe('live');
    await registry.stop();
    await expect.poll(() => page.locator('#feedStatus').getAttribute('data-state'), { timeout: 5_000 }).toBe('stopped');
    await expect(page.locator('#feedStatus').textContent()).resolves.toBe('registry stopped');
    await expect(inPage(page, LAYOUT_FILTER)).resolves.toContain('grayscale');
    await visualizer.close();
    await expect.poll(() => page.locator('#feedStatus').getAttribute('data-state'), { timeout: 5_000 }).toBe('lost');
    expect(pageErrors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED/.test(e))).toEqual([]);
  });
});
