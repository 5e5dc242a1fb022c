// Liveness (issue 17, PROTOCOL.md "Liveness"): heartbeatMs / heartbeatTimeoutMs. A path that goes silent (packets
// dropped, no reset) gives no close and no error: only the heartbeat (ping, no pong) notices it. Against the in-memory
// core, then against real core-sim and gateways with a black-hole TCP proxy in front of the first gateway.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import WebSocket from 'ws';
import { RelayClient } from '../relay-client.js';
import { FakeCore, until } from './fake-core.js';
import { Procs, missingDotnet } from './procs.js';

const A = 'ws://a.test/ws';
const B = 'ws://b.test/ws';
const fast = { initialMs: 5, maxMs: 20, factor: 2 };
const clients = [];

function fakeClient(core, extra = {}) {
  const c = new RelayClient({ urls: [A, B], token: 't', WebSocket: core.WebSocket, backoff: fast, heartbeatMs: 100, heartbeatTimeoutMs: 200, ...extra });
  clients.push(c);
  return c;
}

test('an idle connection pings; the pongs keep it: no reconnect', { timeout: 10_000 }, async () => {
  const core = new FakeCore();
  const c = fakeClient(core, { heartbeatTimeoutMs: 500 }); // a pong late by a stalled event loop is not a dead link
  const states = [];
  c.on('state', s => states.push(s.state));
  await c.connect();
  await until(() => core.pings >= 4, 6000, 'four pings answered'); // a ping each 100 + 500 ms
  assert.equal(c.state, 'open');
  assert.ok(!states.includes('reconnecting'), states.join(','));
  assert.deepEqual(core.frames.filter(f => f.type === 'ping').map(f => f.url), Array(core.frames.filter(f => f.type === 'ping').length).fill(A));
  c.close();
});

test('heartbeatMs 0: no ping at all', { timeout: 10_000 }, async () => {
  const core = new FakeCore();
  const c = fakeClient(core, { heartbeatMs: 0 });
  await c.connect();
  await new Promise(r => setTimeout(r, 500)); // five heartbeat periods of the other tests
  assert.equal(core.frames.filter(f => f.type === 'ping').length, 0);
  c.close();
});

test('a silent connection: declared dead after ping + timeout, resumed on the next URL, every message once in order', { timeout: 10_000 }, async () => {
  const core = new FakeCore();
  const c = fakeClient(core);
  const got = [];
  const errors = [];
  c.on('message', m => got.push(m.body));
  c.on('error', e => errors.push(e.code));
  await c.connect();
  const session = c.session;
  for (let i = 0; i < 5; i++) c.send(`m${i}`);
  await until(() => got.length === 5, 3000, 'five echoes');
  core.silent.add(A);
  for (let i = 5; i < 10; i++) c.send(`m${i}`);
  await until(() => got.length === 10, 5000, 'ten echoes after the path went silent');
  assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => `m${i}`));
  assert.equal(c.url, B);
  assert.equal(c.session, session, 'resumed');
  assert.ok(errors.includes('heartbeat_timeout'), errors.join(','));
  c.close();
});

// ---- real processes ----

const skip = missingDotnet() || false;
if (skip) console.log(`# skipping real-gateway heartbeat tests: ${skip}`);
const procs = new Procs('heartbeat');
let gwA, gwB;

before(async () => {
  if (skip) return;
  await procs.startCoreSim();
  gwA = await procs.startGateway('hb-a', 'sg');
  gwB = await procs.startGateway('hb-b', 'syd');
}, { timeout: 60_000 });

after(async () => {
  for (const c of clients) c.close();
  await procs.stop();
});

/** A TCP proxy to a port that forwards both ways until cut(): then nothing passes either way and nothing is closed. */
async function blackHole(port) {
  const sockets = new Set();
  let cut = false;
  const server = createServer(client => {
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) { sockets.add(s); s.on('error', () => {}); }
    const pipe = (from, to) => from.on('data', d => { if (cut) from.pause(); else to.write(d); });
    pipe(client, upstream);
    pipe(upstream, client);
    client.on('end', () => { if (!cut) upstream.end(); });
    upstream.on('end', () => { if (!cut) client.end(); });
  });
  await new Promise(r => server.listen(0, '127.0.0.1', r));
  return {
    ws: `ws://127.0.0.1:${server.address().port}/ws`,
    accepted: () => sockets.size / 2,
    cut: () => { cut = true; for (const s of sockets) s.pause(); },
    close: () => { server.close(); for (const s of sockets) s.destroy(); },
  };
}

async function cutMidStream(c, proxy) {
  const got = [];
  c.on('message', m => got.push(m));
  for (let i = 0; i < 20; i++) c.send(`m${i}`);
  await until(() => got.length >= 10, 10_000, 'ten echoes before the cut');
  proxy.cut();
  for (let i = 20; i < 40; i++) c.send(`m${i}`);
  await until(() => got.length >= 40, 20_000, 'all forty echoes');
  await new Promise(r => setTimeout(r, 200)); // a late duplicate would show up now
  assert.deepEqual(got.map(m => m.body), Array.from({ length: 40 }, (_, i) => `m${i}`));
  assert.deepEqual(got.map(m => m.seq), Array.from({ length: 40 }, (_, i) => i + 1));
}

test('real gateways, fixed urls: the path to A goes silent; the client resumes on B, every message once in order', { skip, timeout: 60_000 }, async () => {
  const proxy = await blackHole(gwA.port);
  try {
    const c = new RelayClient({ urls: [proxy.ws, gwB.ws], WebSocket, token: () => procs.token('v-hb-fixed', 'visitor'), backoff: fast, heartbeatMs: 300, heartbeatTimeoutMs: 700 });
    clients.push(c);
    await c.connect();
    const session = c.session;
    assert.equal(proxy.accepted(), 1);
    await cutMidStream(c, proxy);
    assert.equal(c.url, gwB.ws);
    assert.equal(c.session, session, 'the same session, resumed');
    c.close();
  } finally {
    proxy.close();
  }
});

test('real gateways, negotiate: the first candidate goes silent; the next one after one backoff, every message once in order', { skip, timeout: 60_000 }, async () => {
  const proxy = await blackHole(gwA.port);
  try {
    const doc = { region: 'sg', reason: 'test: the first path goes silent', token: null, relays: [
      { id: 'cut', region: 'sg', url: proxy.ws, weight: 100, state: 'healthy', sessions: 0 },
      { id: 'hb-b', region: 'syd', url: gwB.ws, weight: 100, state: 'healthy', sessions: 0 }] };
    const fetch = async () => ({ ok: true, status: 200, headers: { get: () => null }, text: async () => JSON.stringify(doc) });
    const c = new RelayClient({ negotiateUrl: 'http://negotiate.test/v1/negotiate', fetch, WebSocket, token: () => procs.token('v-hb-neg', 'visitor'),
      raceAfterMs: Infinity, rttStorage: null, rttMemory: new Map(), backoff: { initialMs: 200, maxMs: 200, factor: 2 }, heartbeatMs: 300, heartbeatTimeoutMs: 700 });
    clients.push(c);
    const reconnects = [];
    c.on('reconnecting', s => reconnects.push(s.delayMs));
    await c.connect();
    assert.equal(c.relay.relayId, 'cut');
    await cutMidStream(c, proxy);
    assert.equal(c.relay.relayId, 'hb-b');
    assert.equal(reconnects.length, 1, `one reconnect: ${reconnects}`);
    assert.ok(reconnects[0] > 0 && reconnects[0] <= 200, `after one backoff: ${reconnects}`);
    c.close();
  } finally {
    proxy.close();
  }
});
