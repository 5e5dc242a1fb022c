// Issue 17: the SDK's negotiate mode against real processes: core-sim's GET/POST /v1/negotiate with a regions file
// written here (sg, syd, us; each region's callers in 127.0.<n>.0/24), the real gateways started here as its relays,
// and the gateways' own /v1/negotiate (from the core's fleet view). The SDK's fetch leaves from a chosen loopback
// address (127.0.1.5 is an sg caller, 127.0.2.5 syd, 127.0.3.5 us), so the core picks the region by subnet.
// The one exception: the stalled relay (a real TCP server that never answers the upgrade) cannot be a relay of the
// core's fleet; those tests fetch the real answer and put it first (withStalledFirst in test/regions.js, marked there).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { RelayClient } from '../relay-client.js';
import { Procs, missingDotnet, freePort } from './procs.js';
import { until } from './fake-core.js';
import { writeRegionsFile, fetchFrom, waitNegotiate, ids, startStalledRelay, withStalledFirst } from './regions.js';

const skip = missingDotnet() || false;
if (skip) console.log(`# skipping negotiate tests: ${skip}`);
const procs = new Procs('negotiate');
const SG = '127.0.1.5';
const SYD = '127.0.2.5';
const US = '127.0.3.5';
const sgReason = 'address 127.0.1.5 is in sg (127.0.1.0/24)';
let core, coreNegotiate, gwA, gwB, stalled, portK;
const closers = [];
const clients = [];

before(async () => {
  if (skip) return;
  const [portA, portB] = [await freePort(), await freePort()];
  portK = await freePort();
  const regions = writeRegionsFile(procs.dir, [
    { name: 'sg', subnets: ['127.0.1.0/24'], fallback: ['syd', 'us'], relays: [{ id: 'neg-a', port: portA }] },
    { name: 'syd', subnets: ['127.0.2.0/24'], fallback: ['sg', 'us'], relays: [{ id: 'neg-b', port: portB }] },
    { name: 'us', subnets: ['127.0.3.0/24'], fallback: ['syd', 'sg'], relays: [{ id: 'neg-k', port: portK }] },
  ]);
  core = await procs.startCoreSim({ extraArgs: [`--CoreSim:RegionsFile=${regions}`, '--CoreSim:FleetBroadcastInterval=00:00:00.200'] });
  coreNegotiate = `${core.http}/v1/negotiate`;
  [gwA, gwB] = await Promise.all([gateway('neg-a', 'sg', portA), gateway('neg-b', 'syd', portB)]);
  await waitNegotiate(coreNegotiate, SG, a => ids(a).join() === 'neg-a,neg-b');
  stalled = await startStalledRelay();
  closers.push(stalled.close);
}, { timeout: 60_000 });

after(async () => {
  for (const c of clients) c.close(); // a failed test must not leave a client reconnecting
  for (const close of closers) await close();
  await procs.stop();
}, { timeout: 30_000 });

/** A gateway of the regions file; its own negotiate gives the core's negotiate URL as tokenUrl. */
function gateway(id, region, port, p = procs) {
  return p.startGateway(id, region, { port, extraArgs: [`--Gateway:Negotiate:TokenUrl=${p.core.http}/v1/negotiate`] });
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

test('negotiate: from an sg address, core-sim lists sg\'s relay then syd\'s; the client connects to relays[0] and says which region, relay and why', { skip, timeout: 30_000 }, async () => {
  const calls = [];
  // A fresh gateway's first welcome can take longer than 250 ms (JIT): no race here, the race has its own test.
  const { c, opened, log } = make(coreNegotiate, 'v-neg-first', { raceAfterMs: 10_000, fetch: fetchFrom(SG, calls) });
  await c.connect();
  assert.equal(c.url, gwA.ws);
  assert.deepEqual(log.negotiated.map(x => [x.why, x.region, x.reason, x.relays.map(r => [r.id, r.region, r.url, r.state])]),
    [['initial', 'sg', sgReason, [['neg-a', 'sg', gwA.ws, 'healthy'], ['neg-b', 'syd', gwB.ws, 'healthy']]]]);
  assert.deepEqual(opened, [gwA.ws], 'relays[1] is not opened when relays[0] welcomes in time');
  assert.deepEqual(log.relays.map(r => [r.region, r.relayId, r.reason, r.url, r.race]), [['sg', 'neg-a', sgReason, gwA.ws, null]]);
  c.send('hello');
  await until(() => log.got.length === 1, 5000, 'the echo');
  assert.equal(log.got[0].body, 'hello');
  assert.deepEqual(calls.map(x => [x.method, x.url]), [['GET', coreNegotiate]]);
  c.close();
});

test('negotiate: from a syd address the same URL steers to syd\'s relay', { skip, timeout: 30_000 }, async () => {
  const { c, opened, log } = make(coreNegotiate, 'v-neg-syd', { raceAfterMs: 10_000, fetch: fetchFrom(SYD) });
  await c.connect();
  assert.equal(c.url, gwB.ws);
  assert.deepEqual(opened, [gwB.ws]);
  assert.deepEqual(log.relays.map(r => [r.region, r.relayId, r.reason]), [['syd', 'neg-b', 'address 127.0.2.5 is in syd (127.0.2.0/24)']]);
  c.close();
});

test('race: relays[0] accepts and never answers the upgrade → relays[1] is raced after raceAfterMs, wins, and the stalled socket is closed',
  { skip, timeout: 30_000 }, async () => {
    // core-sim's real answer for sg (neg-a, neg-b) with the stalled relay put first (withStalledFirst: the one wrapper).
    const { c, opened, log } = make(coreNegotiate, 'v-neg-race', { fetch: withStalledFirst(fetchFrom(SG), stalled) });
    const before = { accepted: stalled.accepted, closed: stalled.closed };
    c.send('queued before the welcome');
    await c.connect();
    assert.equal(c.url, gwA.ws);
    assert.deepEqual(log.negotiated[0].relays.map(r => r.id), ['sg-stalled', 'neg-a', 'neg-b']);
    assert.deepEqual(opened, [stalled.url, gwA.ws]);
    assert.deepEqual(log.races.map(r => [r.winner.relayId, r.losers.map(l => l.relayId)]), [['neg-a', ['sg-stalled']]]);
    assert.equal(stalled.accepted, before.accepted + 1, 'the stalled relay saw the first connection');
    await until(() => stalled.closed === before.closed + 1, 5000, 'the stalled connection closed by the client');
    await until(() => log.got.length === 1, 5000, 'the queued message, echoed once');
    assert.deepEqual(log.got.map(m => [m.seq, m.body]), [[1, 'queued before the welcome']]);
    c.close();
  });

test('failover: us\'s gateway is SIGKILLed mid-session → both clients resume on the next candidate (syd, us\'s first fallback) after one backoff, every message once, in order',
  { skip, timeout: 60_000 }, async () => {
    const gwK = await gateway('neg-k', 'us', portK);
    await waitNegotiate(coreNegotiate, US, a => ids(a).join() === 'neg-k,neg-b,neg-a');
    const room = 'v-neg-kill';
    // Both on K first (no race to B while the fresh K warms up); after the kill, K refuses and B is next.
    const v = make(coreNegotiate, 'v-neg-kill', { room, raceAfterMs: 10_000, fetch: fetchFrom(US) });
    const o = make(coreNegotiate, 'o-neg-kill', { role: 'operator', room, raceAfterMs: 10_000, fetch: fetchFrom(US) });
    await v.c.connect();
    await o.c.connect();
    assert.equal(v.c.url, gwK.ws);
    assert.equal(o.c.url, gwK.ws);
    assert.equal(v.log.relays[0].reason, 'address 127.0.3.5 is in us (127.0.3.0/24)');
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
      // A lost connection (1006) backs off before the next candidate (only a drain or 1001 of a session that lived
      // 5 s reconnects at once): the first delay is backoff(1), at most initialMs (50).
      assert.ok(reconnects[0].delayMs > 0 && reconnects[0].delayMs <= 50, `first delay ${reconnects[0].delayMs}`);
      assert.equal(x.log.states.filter(s => s.state === 'open').at(-1).resumed, true);
    }
    assert.deepEqual(o.log.got.map(m => m.body), ['v1', 'v2', 'v3', 'v4', 'v5', 'v6']);
    assert.deepEqual(v.log.got.map(m => m.body), ['o1', 'o2', 'o3', 'o4', 'o5', 'o6']);
    assert.deepEqual(o.log.got.map(m => m.seq), [1, 2, 3, 4, 5, 6]);
    v.c.close(); o.c.close();
    // The core notices: neg-k leaves its answer for us callers (syd's relay first now, the reason says why).
    const later = await waitNegotiate(coreNegotiate, US, a => !ids(a).includes('neg-k'), 30_000);
    assert.deepEqual(ids(later), ['neg-b', 'neg-a']);
    assert.equal(later.reason, 'address 127.0.3.5 is in us (127.0.3.0/24); no healthy relay in us, so syd next');
  });

test('remembered handshake times: after a race lost by the stalled relay, the next client (same storage) tries the fast relay first',
  { skip, timeout: 30_000 }, async () => {
    const fetch = withStalledFirst(fetchFrom(SG), stalled); // the real answer with the stalled relay first (the one wrapper)
    const saved = new Map();
    const storage = { getItem: k => saved.get(k) ?? null, setItem: (k, v) => saved.set(k, String(v)) };
    const first = make(coreNegotiate, 'v-neg-rtt-1', { rttStorage: storage, fetch });
    await first.c.connect();
    assert.equal(first.c.url, gwA.ws);
    first.c.close();
    const acceptedBefore = stalled.accepted;
    // A new page (empty memory, the same localStorage), and no race: the order alone decides where it goes first.
    const second = make(coreNegotiate, 'v-neg-rtt-2', { rttStorage: storage, raceAfterMs: Infinity, connectTimeoutMs: 20_000, fetch });
    await second.c.connect();
    assert.deepEqual(second.opened, [gwA.ws], 'the relay measured fast comes first; the stalled one is not tried');
    assert.equal(stalled.accepted, acceptedBefore);
    assert.ok(second.c.handshakeMs(stalled.url) > second.c.handshakeMs(gwA.ws));
    second.c.close();
  });

test('negotiate is re-fetched when every relay it listed has failed: the second answer (a relay that joined meanwhile) gets the session',
  { skip, timeout: 90_000 }, async () => {
    // Its own core-sim without a regions file: the relays are listed at the Gateway:Negotiate:PublicUrl they report.
    // neg-old is a real connected relay whose public URL is a port where nothing listens (connection refused), so the
    // first answer lists only it. The test's fetch starts neg-new when the SDK asks the second time and passes the call
    // on to the real core once neg-new is in its answer.
    const own = new Procs('negotiate-refetch');
    closers.push(() => own.stop());
    const ownCore = await own.startCoreSim({ extraArgs: ['--CoreSim:FleetBroadcastInterval=00:00:00.200'] });
    const url = `${ownCore.http}/v1/negotiate`;
    const dead = `ws://127.0.0.1:${await freePort()}/ws`;
    await own.startGateway('neg-old', 'eu', { extraArgs: [`--Gateway:Negotiate:PublicUrl=${dead}`] });
    await waitNegotiate(url, '127.0.0.1', a => ids(a).join() === 'neg-old');
    const newPort = await freePort();
    const newWs = `ws://127.0.0.1:${newPort}/ws`;
    const calls = [];
    const real = fetchFrom('127.0.0.1', calls);
    const negotiateCalls = () => calls.filter(x => x.url === url);
    const fetch = async (u, init) => {
      if (u === url && negotiateCalls().length === 1) {
        await own.startGateway('neg-new', 'eu', { port: newPort, extraArgs: [`--Gateway:Negotiate:PublicUrl=${newWs}`] });
        await waitNegotiate(url, '127.0.0.1', a => ids(a).includes('neg-new'));
      }
      return real(u, init);
    };
    const { c, opened, log } = make(url, 'v-neg-refetch', { fetch, connectTimeoutMs: 40_000, raceAfterMs: 10_000, token: () => own.token('v-neg-refetch') });
    await c.connect();
    assert.equal(c.url, newWs);
    assert.deepEqual(log.negotiated.map(x => [x.why, x.relays.map(r => [r.id, r.url])]),
      [['initial', [['neg-old', dead]]], ['exhausted', [['neg-new', newWs], ['neg-old', dead]]]]);
    assert.equal(log.negotiated[0].reason, 'no regions file: every connected relay by weight');
    assert.deepEqual(opened, [dead, newWs]);
    assert.deepEqual(negotiateCalls().map(x => x.method), ['GET', 'GET']); // (its other GET: the relay's /challenge probe)
    c.close();
  });

async function mint(claims, ttlSeconds) {
  const r = await fetch(`${core.http}/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...claims, ttlSeconds }) });
  if (!r.ok) throw new Error(`POST /v1/tokens: ${r.status}`);
  return (await r.json()).token;
}

/** A fixed short token: the gateway closes with 4003 at expiry, the SDK gets a fresh one by negotiate, the session resumes. */
async function expiryRound(sub, negotiateUrl, calls) {
  const claims = { sub, site: 'js-test', role: 'visitor' };
  const short = await mint(claims, 2);
  const { c, log } = make(negotiateUrl, claims.sub, { token: short, raceAfterMs: 10_000, fetch: fetchFrom(SG, calls) });
  await c.connect();
  const session = c.session;
  for (let i = 0; i < 5; i++) c.send(`m${i}`);
  await until(() => log.got.length === 5, 5000, 'first five echoes');
  await until(() => log.states.some(s => s.state === 'reconnecting' && s.code === 4003), 15_000, 'the 4003 close at expiry');
  for (let i = 5; i < 10; i++) c.send(`m${i}`);
  await until(() => log.got.length >= 10 && c.pendingCount === 0, 10_000, 'all ten echoes');
  await new Promise(r => setTimeout(r, 200));
  assert.equal(c.session, session, 'the same session, resumed');
  assert.equal(c.url, gwA.ws, 'back on the same relay');
  assert.deepEqual(log.got.map(m => m.body), Array.from({ length: 10 }, (_, i) => `m${i}`));
  c.close();
  return short;
}

test('token expiry with a fixed token string: the gateway closes with 4003, the SDK POSTs core-sim\'s negotiate with the old token as bearer and resumes with the fresh one',
  { skip, timeout: 30_000 }, async () => {
    const calls = [];
    const short = await expiryRound('v-neg-exp', coreNegotiate, calls);
    assert.deepEqual(calls.map(x => [x.method, x.url, x.authorization]), [['GET', coreNegotiate, null], ['POST', coreNegotiate, `Bearer ${short}`]]);
  });

test('a gateway\'s own /v1/negotiate (syd\'s, from the fleet view) steers an sg caller to sg\'s relay; at expiry the SDK POSTs its tokenUrl (the core)',
  { skip, timeout: 30_000 }, async () => {
    const own = `${gwB.http}/v1/negotiate`;
    const answer = await waitNegotiate(own, SG, a => ids(a).join() === 'neg-a,neg-b');
    assert.equal(answer.region, 'sg');
    assert.equal(answer.reason, sgReason);
    assert.equal(answer.token, null);
    assert.equal(answer.tokenUrl, coreNegotiate);
    const calls = [];
    const short = await expiryRound('v-neg-gw-exp', own, calls);
    assert.deepEqual(calls.map(x => [x.method, x.url, x.authorization]), [['GET', own, null], ['POST', coreNegotiate, `Bearer ${short}`]]);
  });
