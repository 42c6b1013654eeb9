/**
 * The admin API (/_sim/*) changes the exchange (maintenance, faults, lifecycle), so a web page
 * must not reach it: no cross-site "simple" POST (text/plain, form), no DNS rebinding (foreign
 * Host), no foreign Origin. Same-origin JSON from a loopback client keeps working.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimExchange, type SimExchange } from '../../src/sim/index.js';

interface Raw {
  status: number;
  body: string;
}
function raw(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('sim admin API refuses what a web page could send', () => {
  let sim: SimExchange;
  let host: string;
  const maintenanceOn = JSON.stringify({ op: 'maintenance', args: [true] });
  beforeAll(async () => {
    sim = await startSimExchange({ markets: 20, seed: 2 });
    host = `127.0.0.1:${sim.port}`;
  });
  afterAll(async () => {
    await sim.close();
  });
  const maintenance = (): boolean => sim.state().faults !== undefined && (sim.state().faults as { maintenance: boolean }).maintenance;

  it('a text/plain POST (a cross-site "simple" request) is refused with 415 and changes nothing', async () => {
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const r = await raw(sim.port, 'POST', '/_sim/control', { host, 'content-type': type }, maintenanceOn);
      expect(r.status, type).toBe(415);
      expect(JSON.parse(r.body).error).toMatch(/application\/json/);
    }
    const none = await raw(sim.port, 'POST', '/_sim/control', { host }, maintenanceOn);
    expect(none.status).toBe(415);
    expect(maintenance()).toBe(false);
  });

  it('a foreign Host header (DNS rebinding) is refused with 403, on POST and GET', async () => {
    for (const h of [`evil.example:${sim.port}`, `evil.example`, `127.0.0.1.evil.example:${sim.port}`, `127.0.0.1:${sim.port + 1}`, `localhost:1`]) {
      const r = await raw(sim.port, 'POST', '/_sim/control', { host: h, 'content-type': 'application/json' }, maintenanceOn);
      expect(r.status, h).toBe(403);
      const g = await raw(sim.port, 'GET', '/_sim/state', { host: h });
      expect(g.status, h).toBe(403);
    }
    expect(maintenance()).toBe(false);
  });

  it('a foreign Origin is refused with 403 even with a loopback Host', async () => {
    for (const origin of ['https://evil.example', 'http://evil.example:8080', 'null', `http://127.0.0.1.evil.example:${sim.port}`, 'file://']) {
      const r = await raw(sim.port, 'POST', '/_sim/control', { host, origin, 'content-type': 'application/json' }, maintenanceOn);
      expect(r.status, origin).toBe(403);
    }
    expect(maintenance()).toBe(false);
  });

  it('same-origin JSON POSTs from loopback work (127.0.0.1, localhost, [::1]; with or without Origin)', async () => {
    for (const [h, origin] of [
      [host, undefined],
      [`localhost:${sim.port}`, `http://localhost:${sim.port}`],
      [`[::1]:${sim.port}`, `http://[::1]:${sim.port}`],
      [host, `http://127.0.0.1:${sim.port}`],
    ] as const) {
      const headers: Record<string, string> = { host: h, 'content-type': 'application/json; charset=utf-8' };
      if (origin) headers.origin = origin;
      const on = await raw(sim.port, 'POST', '/_sim/control', headers, maintenanceOn);
      expect(on.status, `${h} ${origin}`).toBe(200);
      expect(maintenance()).toBe(true);
      const off = await raw(sim.port, 'POST', '/_sim/control', headers, JSON.stringify({ op: 'maintenance', args: [false] }));
      expect(off.status).toBe(200);
      expect(maintenance()).toBe(false);
    }
    const state = await raw(sim.port, 'GET', '/_sim/state', { host });
    expect(state.status).toBe(200);
  });

  it('REST and WebSocket endpoints are unaffected by the admin checks', async () => {
    const r = await raw(sim.port, 'GET', '/trade-api/v2/exchange/status', { host: 'api.elections.kalshi.com' });
    expect(r.status).toBe(200);
  });
});
