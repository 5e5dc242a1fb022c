// Issue 17: the SDK's negotiate mode against real processes — core-sim and gateways (Release builds, loopback), a
// stalled relay (a real TCP server that never answers the upgrade), real websockets (npm `ws`).
// NOTE: the negotiate document comes from test/negotiate-standin.js, a STAND-IN for core-sim's /v1/negotiate
// (written on another branch) that lists the real gateways started here; the lead switches it to core-sim.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { RelayClient } from '../relay-client.js';
import { Procs, missingDotnet, freePort } from './procs.js';
import { until } from './fake-core.js';
import { startNegotiateStandin, startStalledRelay, relayOf } from './negotiate-standin.js';

const skip = missingDotnet() || false;
if (skip) console.log(`# skipping negotiate tests: ${skip}`);
const procs = new Procs('negotiate');
let core, gwA, gwB, stalled;
const closers = [];
const clients = [];
const reason = 'address 127.0.0.1 is in sg (127.0.0.0/8)';

before(async () => {
  if (skip) return;
  core = await procs.startCoreSim();
  [gwA, gwB] = await Promise.all([procs.startGateway('neg-a', 'sg'), procs.startGateway('neg-b', 'sg')]);
  stalled = await startStalledRelay();
  closers.push(stalled.close);
}, { timeout: 60_000 });

after(async () => {
  for (const c of clients) c.close(); // a failed test must not leave a client reconnecting
  for (const close of closers) await close();
  await procs.stop();
}, { timeout: 30_000 });

/** The stand-in negotiate endpoint answering `relays(call)` for region sg. */
async function negotiate(relays) {
  const n = await startNegotiateStandin(({ call }) => ({ region: 'sg', reason, relays: relays(call) }));
  closers.push(n.close);
  return n;
}

/** A client in negotiate mode; `opened` lists every websocket URL it opened (real sockets, counted). */
function make(negotiateUrl, sub, { role = 'visitor', room = null, ...extra } = {}) {
  const opened = [];
  class CountingWebSocket extends WebSocket {
    constructor(url, ...rest) { super(url, ...rest); opened.push(url.split('?')[0]); }
  }
  const c = new RelayClient({
    negotiateUrl, WebSocket: CountingWebSocket, rooms: room ? [room] : [], backoff: { initialMs: 50, maxMs: 500, factor: 2 },
    rttMemory: new Map(), rttStorage: null, token: () => procs.token(sub, role), ...extra,
  });
  clients.push(c);
  const log = { got: [], states: [], races: [], relays: [], negotiated: [] };
  c.on('message', m => log.got.push(m));
  c.on('state', s => log.states.push(s));
  c.on('race', r => log.races.push(r));
  c.on('relay', r => log.relays.push(r));
  c.on('negotiate', x => log.negotiated.push(x));
  return { c, opened, log };
}

test('negotiate: the client connects to relays[0] (a real gateway) and says which region, relay and why', { skip, timeout: 30_000 }, async () => {
  const n = await negotiate(() => [relayOf(gwA, 'sg'), relayOf(gwB, 'sg')]);
  // A fresh gateway's first welcome can take longer than 250 ms (JIT): no race here, the race has its own test.
  const { c, opened, log } = make(n.url, 'v-neg-first', { raceAfterMs: 10_000 });
  await c.connect();
  assert.equal(c.url, gwA.ws);
  assert.deepEqual(opened, [gwA.ws], 'relays[1] is not opened when relays[0] welcomes in time');
  assert.deepEqual(log.relays.map(r => [r.region, r.relayId, r.reason, r.url, r.race]), [['sg', 'neg-a', reason, gwA.ws, null]]);
  c.send('hello');
  await until(() => log.got.length === 1, 5000, 'the echo');
  assert.equal(log.got[0].body, 'hello');
  assert.deepEqual(n.calls.map(x => x.method), ['GET']);
  c.close();
});

test('race: relays[0] accepts and never answers the upgrade → relays[1] is raced after raceAfterMs, wins, and the stalled socket is closed',
  { skip, timeout: 30_000 }, async () => {
    const n = await negotiate(() => [{ ...relayOf(gwA, 'sg'), id: 'sg-stalled', url: stalled.url }, relayOf(gwB, 'sg')]);
    const before = { accepted: stalled.accepted, closed: stalled.closed };
    const { c, opened, log } = make(n.url, 'v-neg-race');
    c.send('queued before the welcome');
    await c.connect();
    assert.equal(c.url, gwB.ws);
    assert.deepEqual(opened, [stalled.url, gwB.ws]);
    assert.deepEqual(log.races.map(r => [r.winner.relayId, r.losers.map(l => l.relayId)]), [['neg-b', ['sg-stalled']]]);
    assert.equal(stalled.accepted, before.accepted + 1, 'the stalled relay saw the first connection');
    await until(() => stalled.closed === before.closed + 1, 5000, 'the stalled connection closed by the client');
    await until(() => log.got.length === 1, 5000, 'the queued message, echoed once');
    assert.deepEqual(log.got.map(m => [m.seq, m.body]), [[1, 'queued before the welcome']]);
    c.close();
  });

test('failover: the gateway is SIGKILLed mid-session → both clients resume on the next candidate at once, every message once, in order',
  { skip, timeout: 60_000 }, async () => {
    const gwK = await procs.startGateway('neg-k', 'sg');
    await procs.waitHealthy(['neg-k', 'neg-b']);
    const n = await negotiate(() => [relayOf(gwK, 'sg'), relayOf(gwB, 'sg')]);
    const room = 'v-neg-kill';
    // Both on K first (no race to B while the fresh K warms up); after the kill, K refuses and B is next.
    const v = make(n.url, 'v-neg-kill', { room, raceAfterMs: 10_000 });
    const o = make(n.url, 'o-neg-kill', { role: 'operator', room, raceAfterMs: 10_000 });
    await v.c.connect();
    await o.c.connect();
    assert.equal(v.c.url, gwK.ws);
    assert.equal(o.c.url, gwK.ws);
    const session = v.c.session;
    for (let i = 1; i <= 3; i++) { v.c.send(`v${i}`, { room }); o.c.send(`o${i}`, { room }); }
    await until(() => o.log.got.length === 3 && v.log.got.length === 3, 10_000, 'first round on K');
    await procs.kill('neg-k'); // SIGKILL: the sockets die with the process
    for (let i = 4; i <= 6; i++) { v.c.send(`v${i}`, { room }); o.c.send(`o${i}`, { room }); }
    await until(() => o.log.got.length === 6 && v.log.got.length === 6 && v.c.pendingCount === 0 && o.c.pendingCount === 0, 15_000, 'second round via B');
    await new Promise(r => setTimeout(r, 300)); // a late duplicate would show up now
    assert.equal(v.c.url, gwB.ws);
    assert.equal(o.c.url, gwB.ws);
    assert.equal(v.c.session, session, 'the same session, resumed');
    for (const x of [v, o]) {
      const reconnects = x.log.states.filter(s => s.state === 'reconnecting');
      assert.ok(reconnects.length >= 1);
      assert.deepEqual(reconnects.map(s => s.delayMs), reconnects.map(() => 0), 'the next candidate at once, no backoff');
      assert.equal(x.log.states.filter(s => s.state === 'open').at(-1).resumed, true);
    }
    assert.deepEqual(o.log.got.map(m => m.body), ['v1', 'v2', 'v3', 'v4', 'v5', 'v6']);
    assert.deepEqual(v.log.got.map(m => m.body), ['o1', 'o2', 'o3', 'o4', 'o5', 'o6']);
    assert.deepEqual(o.log.got.map(m => m.seq), [1, 2, 3, 4, 5, 6]);
    v.c.close(); o.c.close();
  });

test('remembered handshake times: after a race lost by the stalled relay, the next client (same storage) tries the fast relay first',
  { skip, timeout: 30_000 }, async () => {
    const n = await negotiate(() => [{ ...relayOf(gwA, 'sg'), id: 'sg-stalled', url: stalled.url }, relayOf(gwB, 'sg')]);
    const saved = new Map();
    const storage = { getItem: k => saved.get(k) ?? null, setItem: (k, v) => saved.set(k, String(v)) };
    const first = make(n.url, 'v-neg-rtt-1', { rttStorage: storage });
    await first.c.connect();
    assert.equal(first.c.url, gwB.ws);
    first.c.close();
    const acceptedBefore = stalled.accepted;
    // A new page (empty memory, the same localStorage), and no race: the order alone decides where it goes first.
    const second = make(n.url, 'v-neg-rtt-2', { rttStorage: storage, raceAfterMs: Infinity, connectTimeoutMs: 20_000 });
    await second.c.connect();
    assert.deepEqual(second.opened, [gwB.ws], 'the relay measured fast comes first; the stalled one is not tried');
    assert.equal(stalled.accepted, acceptedBefore);
    assert.ok(second.c.handshakeMs(stalled.url) > second.c.handshakeMs(gwB.ws));
    second.c.close();
  });

test('negotiate is re-fetched when every relay it listed has failed: the second answer\'s relay gets the session', { skip, timeout: 30_000 }, async () => {
  const dead = `ws://127.0.0.1:${await freePort()}/ws`; // nothing listens: connection refused
  const n = await negotiate(call => (call === 1 ? [{ ...relayOf(gwA, 'sg'), id: 'sg-dead', url: dead }] : [relayOf(gwA, 'sg')]));
  const { c, opened, log } = make(n.url, 'v-neg-refetch');
  await c.connect();
  assert.equal(c.url, gwA.ws);
  assert.deepEqual(opened, [dead, gwA.ws]);
  assert.deepEqual(log.negotiated.map(x => x.why), ['initial', 'exhausted']);
  assert.equal(n.calls.length, 2);
  c.close();
});

test('token expiry with a fixed token string: the gateway closes with 4003, the SDK POSTs negotiate with the old token as bearer and resumes with the fresh one',
  { skip, timeout: 30_000 }, async () => {
    const mint = async (claims, ttlSeconds) => {
      const r = await fetch(`${core.http}/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...claims, ttlSeconds }) });
      if (!r.ok) throw new Error(`POST /v1/tokens: ${r.status}`);
      return (await r.json()).token;
    };
    const claims = { sub: 'v-neg-exp', site: 'js-test', role: 'visitor' };
    const short = await mint(claims, 2);
    // The stand-in mints the fresh token with core-sim (the same claims); core-sim's own POST /v1/negotiate will check the old one.
    const n = await startNegotiateStandin(async ({ method, authorization }) => ({
      region: 'sg', reason, relays: [relayOf(gwA, 'sg'), relayOf(gwB, 'sg')],
      token: method === 'POST' && authorization === `Bearer ${short}` ? await mint(claims, 3600) : null,
    }));
    closers.push(n.close);
    const { c, log } = make(n.url, claims.sub, { token: short, raceAfterMs: 10_000 });
    await c.connect();
    const session = c.session;
    for (let i = 0; i < 5; i++) c.send(`m${i}`);
    await until(() => log.got.length === 5, 5000, 'first five echoes');
    await until(() => log.states.some(s => s.state === 'reconnecting' && s.code === 4003), 15_000, 'the 4003 close at expiry');
    for (let i = 5; i < 10; i++) c.send(`m${i}`);
    await until(() => log.got.length >= 10 && c.pendingCount === 0, 10_000, 'all ten echoes');
    await new Promise(r => setTimeout(r, 200));
    assert.deepEqual(n.calls.map(x => [x.method, x.authorization]), [['GET', null], ['POST', `Bearer ${short}`]]);
    assert.equal(c.session, session, 'the same session, resumed');
    assert.equal(c.url, gwA.ws, 'back on the same relay');
    assert.deepEqual(log.got.map(m => m.body), Array.from({ length: 10 }, (_, i) => `m${i}`));
    c.close();
  });
