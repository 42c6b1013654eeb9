/**
 * The visualizer page in a real browser: a simulator (300 markets), a registry on it, the
 * visualizer server, and headless Chromium (playwright-core, Debian's /usr/bin/chromium) on
 * 127.0.0.1. Checks that every state of every statechart is drawn, that the supervisor's
 * current state is highlighted, and that a lifecycle change made on the exchange reaches the
 * page (change list and per-status counts). Saves test/artifacts/visualizer.png.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import type { MarketRegistry } from '../../src/registry/create-registry.js';
import type { SimExchange } from '../../src/sim/index.js';
import { startHarness, type Harness } from '../integration/helpers.js';
import { MACHINES, machineToGraph } from '../../visualizer/graph.js';
import { createActorTracker } from '../../visualizer/inspection.js';
import { startVisualizer, type Visualizer } from '../../visualizer/server.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARTIFACT = join(import.meta.dirname, '..', 'artifacts', 'visualizer.png');

let harness: Harness | undefined;
let sim: SimExchange;
let registry: MarketRegistry;
let visualizer: Visualizer;
let browser: Browser | null = null;
let context: BrowserContext | null = null;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  // CI installs Chromium; a missing browser is a failure to fix, not a reason to skip.
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (Debian: apt-get install chromium) or set CHROMIUM_PATH. The visualizer browser test cannot run without it.`);
  }
  const tracker = createActorTracker();
  harness = await startHarness({ markets: 300, seed: 7 }, { inspect: tracker.inspect }, { collect: false });
  ({ sim, registry } = harness);
  visualizer = await startVisualizer({ registry, tracker, port: 0, logger: silentLogger, expectedMarkets: () => sim.marketCount, exchangeLabel: 'simulator' });
  registry.start();
  await registry.synced;

  // launch() gives the browser a fresh temporary profile of its own (removed on close).
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    timeout: 20_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({ viewport: { width: 1800, height: 1300 } });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (err) => pageErrors.push(err.message));
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
  it('draws every state and every transition between states of the three statecharts', async () => {
    for (const entry of MACHINES) {
      const graph = machineToGraph(entry.machine);
      const chart = page.locator(`svg.statechart[data-machine="${entry.id}"]`);
      await expect(chart.count()).resolves.toBe(1);
      const drawn = await chart.locator('g.state').evaluateAll((els) => els.map((e) => e.getAttribute('data-state-id')));
      expect(drawn.sort()).toEqual(graph.nodes.map((n) => n.id).sort());
      const finals = await chart.locator('g.state[data-state-type="final"] rect.inner').count();
      expect(finals).toBe(graph.nodes.filter((n) => n.type === 'final').length);
      // Default view of the lifecycle chart hides the REST status_observed transitions.
      const shown = graph.edges.filter((e) => e.target !== null && e.target !== e.source && e.eventType !== 'status_observed');
      const pairs = new Set(shown.map((e) => `${e.source}>${e.target}`));
      const edges = await chart.locator('g.edge:not(.kind-initial)').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-source')}>${e.getAttribute('data-target')}`));
      expect(new Set(edges)).toEqual(pairs);
    }
  });

  it('highlights the supervisor in running.healthy and the periodic tasks where they are', async () => {
    const registryChart = page.locator('svg.statechart[data-machine="registry"]');
    await registryChart.locator('g.state[data-state-path="running"][data-active="true"]').waitFor();
    await registryChart.locator('g.state[data-state-path="running.healthy"][data-active="true"]').waitFor();
    await expect(registryChart.locator('g.state[data-active="true"]').count()).resolves.toBe(2);
    await expect(page.locator('#phase').textContent()).resolves.toBe('running.healthy');
    // The three periodic-task instances each sit in some state of the periodic-task chart.
    const taskChart = page.locator('svg.statechart[data-machine="periodicTask"]');
    for (const name of ['reconcile', 'exchangeStatus', 'eventSync']) await taskChart.locator(`g.state .chip[data-actor="${name}"]`).waitFor();
    await page.locator('#actors tr[data-actor="registry/lifecycle"]').waitFor();
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
    expect(state.summary.phase).toBe('running.healthy');
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
});
