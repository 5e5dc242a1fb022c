// relay-client.js against real processes: core-sim, and two gateways in front of it, over real websockets (npm `ws`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { RelayClient } from '../relay-client.js';
import { Procs, missingDotnet, adminKey, coreAdminKey } from './procs.js';
import { until } from './fake-core.js';

const skip = missingDotnet() || false;
if (skip) console.log(`# skipping real core-sim tests: ${skip}`);
const procs = new Procs('sdk');
let core, gwA, gwB;

before(async () => {
  if (skip) return;
  core = await procs.startCoreSim();
  gwA = await procs.startGateway('sdk-a', 'test-a');
  gwB = await procs.startGateway('sdk-b', 'test-b');
}, { timeout: 60_000 });

const clients = [];
after(async () => {
  for (const c of clients) c.close(); // a failed test must not leave a client reconnecting (the process would not exit)
  await procs.stop();
});

function make(urls, sub, role, room) {
  const c = new RelayClient({
    urls, WebSocket, rooms: [room], backoff: { initialMs: 50, maxMs: 500, factor: 2 },
    token: () => procs.token(sub, role),
  });
  clients.push(c);
  const got = [];
  c.on('message', m => got.push(m));
  return { c, got };
}

test('direct to core-sim: a room conversation survives a kick (1001) with nothing lost or duplicated', { skip, timeout: 30_000 }, async () => {
  const v = make([core.ws], 'v-direct', 'visitor', 'v-direct');
  const o = make([core.ws], 'o-direct', 'operator', 'v-direct');
  await v.c.connect();
  await o.c.connect();
  for (let i = 1; i <= 5; i++) v.c.send(`v${i}`, { room: 'v-direct' });
  await until(() => o.got.length === 5, 5000, 'first five');
  const kicked = await (await fetch(`${core.http}/v1/faults/kick`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${coreAdminKey}` }, body: JSON.stringify({ count: 10, code: 1001 }) })).json();
  assert.ok(kicked.closed >= 2, `kicked ${kicked.closed}`);
  for (let i = 6; i <= 10; i++) v.c.send(`v${i}`, { room: 'v-direct' });
  await until(() => o.got.length >= 10 && v.c.pendingCount === 0, 10_000, 'all ten');
  await new Promise(r => setTimeout(r, 200));
  assert.deepEqual(o.got.map(m => m.body), Array.from({ length: 10 }, (_, i) => `v${i + 1}`));
  assert.deepEqual(o.got.map(m => m.seq), Array.from({ length: 10 }, (_, i) => i + 1));
  assert.ok(o.got.every(m => m.from === 'v-direct'));
  v.c.close(); o.c.close();
});

test('through gateways: drain of gateway A (4001) moves both clients to gateway B, in order, exactly once', { skip, timeout: 30_000 }, async () => {
  await procs.waitHealthy(['sdk-a', 'sdk-b']); // a drain of the last healthy relay is refused (409)
  const urls = [gwA.ws, gwB.ws];
  const v = make(urls, 'v-gw', 'visitor', 'v-gw');
  const o = make(urls, 'o-gw', 'operator', 'v-gw');
  const codes = [];
  v.c.on('reconnecting', s => codes.push(s.code));
  await v.c.connect();
  await o.c.connect();
  assert.equal(v.c.url, gwA.ws);
  for (let i = 1; i <= 3; i++) { v.c.send(`v${i}`, { room: 'v-gw' }); o.c.send(`o${i}`, { room: 'v-gw' }); }
  await until(() => o.got.length === 3 && v.got.length === 3, 5000, 'first round');
  const drain = await procs.drain(gwA.http);
  assert.equal(drain.status, 200);
  for (let i = 4; i <= 6; i++) { v.c.send(`v${i}`, { room: 'v-gw' }); o.c.send(`o${i}`, { room: 'v-gw' }); }
  await until(() => o.got.length === 6 && v.got.length === 6 && v.c.pendingCount === 0 && o.c.pendingCount === 0, 10_000, 'second round via B');
  await new Promise(r => setTimeout(r, 200));
  assert.equal(v.c.url, gwB.ws);
  assert.equal(o.c.url, gwB.ws);
  assert.ok(codes.includes(4001), `visitor saw close codes ${codes}`);
  assert.deepEqual(o.got.map(m => m.body), ['v1', 'v2', 'v3', 'v4', 'v5', 'v6']);
  assert.deepEqual(v.got.map(m => m.body), ['o1', 'o2', 'o3', 'o4', 'o5', 'o6']);
  v.c.close(); o.c.close();
  await fetch(`${gwA.http}/admin/undrain`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}` } });
});
