/**
 * A failing initial sync is loud (issue: it retried forever and never said why): each distinct
 * cause is logged once with what it means, shows in the summary (and so in the visualizer and the
 * CLI), and says whether retrying can fix it. Hostile REST servers on 127.0.0.1.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry, type MarketRegistry } from '../../src/registry/create-registry.js';
import { waitUntil } from './helpers.js';

let server: Server | null = null;
let registry: MarketRegistry | null = null;
afterEach(async () => {
  await registry?.stop();
  registry = null;
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

async function hostile(respond: (path: string, res: import('node:http').ServerResponse) => void): Promise<string> {
  server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path.endsWith('/exchange/status')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"exchange_active":true,"trading_active":true}');
      return;
    }
    respond(path, res);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/trade-api/v2`;
}

function start(restUrl: string) {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
  registry = createRegistry({ restUrl, lifecycle: 'none', rateLimit: 'unlimited', logger, backoff: { baseMs: 5, maxMs: 20 }, statusIntervalMs: 60_000 });
  registry.start();
  return {
    lines,
    errors: () => lines.map((l) => JSON.parse(l) as { level: number; msg: string; err?: string; permanent?: boolean }).filter((l) => l.level >= 50),
  };
}

describe('a failing initial sync says why', () => {
  it('a 200 with an HTML body: permanent, in the summary, logged once over many retries', async () => {
    const url = await hostile((_path, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Sign in</body></html>'));
    const { errors } = start(url);
    await waitUntil('several attempts', () => registry!.summary.getSnapshot().context.sync.attempts >= 4);
    const sync = registry!.summary.getSnapshot().context.sync;
    expect(sync.lastErrorPermanent).toBe(true);
    expect(sync.lastError).toMatch(/JSON/);
    expect(registry!.summary.getSnapshot().context.problems['initialSync']).toMatch(/JSON/);
    const logged = errors().filter((l) => /initial sync failed/.test(l.msg));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ permanent: true });
  });

  it('a 401: permanent; a 503 without a body: transient, still retried visibly', async () => {
    let unauthorized = true;
    const url = await hostile((_path, res) => {
      if (unauthorized) res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"code":"unauthorized","message":"bad key"}}');
      else res.writeHead(503).end();
    });
    const { errors } = start(url);
    await waitUntil('401 seen', () => registry!.summary.getSnapshot().context.sync.lastErrorPermanent);
    unauthorized = false;
    await waitUntil('503 seen', () => /503/.test(registry!.summary.getSnapshot().context.sync.lastError ?? ''), 15_000);
    expect(registry!.summary.getSnapshot().context.sync.lastErrorPermanent).toBe(false);
    expect(registry!.summary.getSnapshot().context.phase).toMatch(/sync/);
    // One line per distinct cause.
    expect(
      errors()
        .filter((l) => /initial sync failed/.test(l.msg))
        .map((l) => l.permanent),
    ).toEqual([true, false]);
  });

  it('a repeated cursor: permanent, named', async () => {
    const url = await hostile((_path, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"cursor":"SAME","markets":[]}'));
    start(url);
    await waitUntil('repeated cursor', () => registry!.summary.getSnapshot().context.sync.lastErrorPermanent);
    expect(registry!.summary.getSnapshot().context.sync.lastError).toMatch(/cursor/);
  });
});
