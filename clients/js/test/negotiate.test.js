// Negotiate mode of relay-client.js (issue 17) against the in-memory core (test/fake-core.js) and a fetch that serves
// negotiate documents: candidate order, the race (new session and resume), no pipelining while racing, failover at
// once, re-fetch when stale or exhausted, a fresh token by POST, the fixed-urls fallback, the answer's caps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RelayClient, orderCandidates, parseNegotiate } from '../relay-client.js';
import { FakeCore, until } from './fake-core.js';

const A = 'ws://sg-1.test/ws';
const B = 'ws://sg-2.test/ws';
const C = 'ws://syd-1.test/ws';
const NEGOTIATE = 'http://core.test/v1/negotiate';
const fast = { initialMs: 5, maxMs: 20, factor: 2 };

const relay = (id, region, url) => ({ id, region, url, weight: 100, state: 'healthy', sessions: 0 });
const doc = (...relays) => ({ region: 'sg', reason: 'address 10.71.1.5 is in sg (10.71.1.0/24)', relays, token: null });

/** A fetch for the SDK: answer(call) returns the document (or {status}) for the n-th request (1-based). */
function negotiateFetch(answer) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    calls.push({ url, method: init.method || 'GET', authorization: init.headers?.authorization ?? null });
    const d = await answer(calls.length, calls.at(-1));
    if (d.status) return { ok: false, status: d.status, headers: { get: () => null }, text: async () => (d.body === undefined ? '' : JSON.stringify(d.body)) };
    return { ok: true, status: 200, headers: { get: () => null }, text: async () => JSON.stringify(d) };
  };
  return { fetch, calls };
}

function client(core, fetch, extra = {}) {
  const c = new RelayClient({
    negotiateUrl: NEGOTIATE, fetch, token: 'visitor-1', WebSocket: core.WebSocket, backoff: fast,
    rttMemory: new Map(), rttStorage: null, ...extra,
  });
  const log = { states: [], messages: [], errors: [], relays: [], races: [], dials: [], negotiated: [] };
  c.on('state', s => log.states.push(s));
  c.on('message', m => log.messages.push(m));
  c.on('error', e => log.errors.push(e));
  c.on('relay', r => log.relays.push(r));
  c.on('race', r => log.races.push(r));
  c.on('dial', d => log.dials.push(d));
  c.on('negotiate', n => log.negotiated.push(n));
  return { c, log };
}

test('negotiate: connects to relays[0] and tells where and why: relay event and open state {region, relayId, reason, url}', async () => {
  const core = new FakeCore();
  const n = negotiateFetch(() => doc(relay('sg-1', 'sg', A), relay('sg-2', 'sg', B)));
  const { c, log } = client(core, n.fetch, { raceAfterMs: 10_000 }); // in time even on a stalled event loop
  await c.connect();
  assert.equal(c.url, A);
  assert.deepEqual(core.opened.map(o => o.url), [A], 'no race when relays[0] answers in time');
  assert.deepEqual(n.calls.map(x => x.method), ['GET']);
  const reason = 'address 10.71.1.5 is in sg (10.71.1.0/24)';
  assert.deepEqual({ ...log.relays[0], handshakeMs: 0 }, { url: A, relayId: 'sg-1', region: 'sg', reason, race: null, failed: [], handshakeMs: 0 });
  const open = log.states.find(s => s.state === 'open');
  assert.deepEqual([open.region, open.relayId, open.reason, open.url], ['sg', 'sg-1', reason, A]);
  assert.equal(c.relay.relayId, 'sg-1');
  assert.equal(c.negotiated.reason, reason);
  assert.equal(typeof c.handshakeMs(A), 'number', 'the handshake time is remembered');
  c.close();
});

test('race, new session: relays[0] slow to welcome → relays[1] opened after raceAfterMs; hello on both, no message before the welcome, the loser closed with 1000', async () => {
  const core = new FakeCore();
  core.readDelayMs.set(A, 300); // A opens at once but its core answers late
  const n = negotiateFetch(() => doc(relay('sg-1', 'sg', A), relay('sg-2', 'sg', B)));
  const { c, log } = client(core, n.fetch, { raceAfterMs: 20 });
  c.send('m1'); // queued before connect: would be pipelined behind the hello without a race
  c.send('m2');
  await c.connect();
  assert.equal(c.url, B);
  await until(() => log.messages.length === 2, 2000, 'echoes');
  assert.deepEqual(core.frames.filter(f => f.type === 'hello').map(f => f.url), [A, B], 'a fresh hello on both');
  assert.deepEqual(core.frames.filter(f => f.type === 'msg').map(f => [f.url, f.welcomeSeen, f.body]), [[B, true, 'm1'], [B, true, 'm2']],
    'messages only on the winner, after its welcome');
  assert.deepEqual(core.clientClosed.filter(x => x.url === A).map(x => [x.code, x.open]), [[1000, true]], 'the loser is closed with 1000');
  assert.deepEqual(log.races.map(r => [r.winner.relayId, r.losers.map(l => l.relayId)]), [['sg-2', ['sg-1']]]);
  assert.deepEqual(log.relays[0].race.losers.map(l => l.url), [A]);
  await new Promise(r => setTimeout(r, 350)); // A's late hello reaches a closed socket: nothing is sent there
  assert.deepEqual(core.received.map(r => r.body), ['m1', 'm2']);
  assert.ok(c.handshakeMs(A) > c.handshakeMs(B), `the loser's lower bound (${c.handshakeMs(A)}) is above the winner's (${c.handshakeMs(B)})`);
  c.close();
});

test('no race possible (one relay): the outbox is pipelined behind the hello as with fixed urls', async () => {
  const core = new FakeCore();
  const n = negotiateFetch(() => doc(relay('sg-1', 'sg', A)));
  const { c, log } = client(core, n.fetch);
  c.send('first');
  await c.connect();
  await until(() => log.messages.length === 1, 1000, 'echo');
  assert.deepEqual(core.frames.slice(0, 2).map(f => [f.type, f.welcomeSeen]), [['hello', false], ['msg', false]]);
  c.close();
});

test('race, resume: only the websocket upgrade is raced; one resume hello, on the first socket that opens', async () => {
  const core = new FakeCore();
  const n = negotiateFetch(() => doc(relay('sg-1', 'sg', A), relay('sg-2', 'sg', B), relay('syd-1', 'syd', C)));
  const { c, log } = client(core, n.fetch, { raceAfterMs: 20 });
  await c.connect();
  c.send('before');
  await until(() => log.messages.length === 1, 1000, 'first echo');
  core.openDelayMs.set(B, 200); // the next candidate's upgrade is slow: C is raced against it
  core.down.add(A);
  core.closeAll(1006);
  await until(() => c.state === 'open' && c.url === C, 2000, 'resumed on C');
  c.send('after');
  await until(() => log.messages.length === 2, 1000, 'second echo');
  await new Promise(r => setTimeout(r, 250)); // B's upgrade completes now: it must not carry a hello
  const resumes = core.frames.filter(f => f.type === 'hello' && f.resume);
  assert.deepEqual(resumes.map(f => f.url), [C], 'exactly one resume hello');
  assert.ok(core.clientClosed.some(x => x.url === B && x.code === 1000), 'the slow upgrade is closed');
  assert.equal(log.states.filter(s => s.state === 'open').at(-1).resumed, true);
  assert.deepEqual(log.messages.map(m => m.body), ['before', 'after']);
  c.close();
});

test('failover: the relay dies mid-session → the next candidate after one backoff (not at once: only a drain or 1001 of a session older than 5 s is), every message once, in order', async () => {
  const core = new FakeCore();
  const n = negotiateFetch(() => doc(relay('sg-1', 'sg', A), relay('sg-2', 'sg', B)));
  const { c, log } = client(core, n.fetch, { random: () => 1 }); // each delay its full backoff: 5, 10, 20, …
  await c.connect();
  for (let i = 1; i <= 3; i++) c.send(`m${i}`);
  await until(() => log.messages.length === 3, 1000, 'first three');
  core.down.add(A);
  core.closeAll(1011);
  for (let i = 4; i <= 6; i++) c.send(`m${i}`);
  await until(() => log.messages.length === 6 && c.pendingCount === 0, 2000, 'all six via B');
  assert.equal(c.url, B);
  assert.deepEqual(log.states.filter(s => s.state === 'reconnecting').map(s => [s.code, s.delayMs]), [[1011, 5]]);
  assert.deepEqual(core.opened.map(o => o.url), [A, B], 'B after the delay, not A again');
  assert.deepEqual(log.messages.map(m => m.body), ['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
  assert.deepEqual(log.messages.map(m => m.seq), [1, 2, 3, 4, 5, 6]);
  c.close();
});

test('a drain (4001) moves the session to the next candidate, not back to the draining relay', async () => {
  const core = new FakeCore();
  const n = negotiateFetch(() => doc(relay('sg-1', 'sg', A), relay('sg-2', 'sg', B)));
  const { c } = client(core, n.fetch);
  await c.connect();
  core.closeAll(4001, 'draining');
  await until(() => c.state === 'open' && c.url === B, 2000, 'on B');
  assert.deepEqual(core.opened.map(o => o.url), [A, B]);
  c.close();
});

test('negotiate is re-fetched when every relay it listed failed, and when older than negotiateMaxAgeMs', async () => {
  const core = new FakeCore();
  core.down.add(A);
  const n = negotiateFetch(call => (call === 1 ? doc(relay('sg-1', 'sg', A)) : doc(relay('sg-2', 'sg', B), relay('syd-1', 'syd', C))));
  const { c, log } = client(core, n.fetch, { negotiateMaxAgeMs: 100 });
  await c.connect();
  assert.equal(c.url, B);
  assert.deepEqual(log.negotiated.map(x => x.why), ['initial', 'exhausted']);
  await new Promise(r => setTimeout(r, 150));
  core.closeAll(1011);
  await until(() => log.negotiated.length === 3 && c.state === 'open', 2000, 'a third fetch');
  assert.equal(log.negotiated[2].why, 'stale');
  c.close();
});

test('token expiry (4003) with a fixed token: POST negotiate with the old token as bearer; the fresh token resumes on the same relay', async () => {
  const core = new FakeCore();
  const n = negotiateFetch((call, req) => ({ ...doc(relay('sg-1', 'sg', A), relay('sg-2', 'sg', B)), token: req.method === 'POST' ? 'visitor-1-fresh' : null }));
  const { c, log } = client(core, n.fetch);
  await c.connect();
  const session = c.session;
  core.closeAll(4003, 'token expired');
  await until(() => core.opened.length === 2 && c.state === 'open', 2000, 'reconnected');
  assert.deepEqual(n.calls.map(x => [x.method, x.authorization]), [['GET', null], ['POST', 'Bearer visitor-1']]);
  assert.deepEqual(core.opened.map(o => [o.url, o.token]), [[A, 'visitor-1'], [A, 'visitor-1-fresh']]);
  assert.equal(c.session, session);
  assert.deepEqual(log.errors.filter(e => e.code === 'token_expired'), []);
  c.close();
});

test('a refused refresh (the core: past MaxSessionAge, HTTP 401) says why: the core\'s own error, not only the status', async () => {
  const core = new FakeCore();
  const why = 'the token\'s sign-in is more than CoreSim:MaxSessionAge (1.00:00:00) ago; sign in again';
  const n = negotiateFetch((call, req) => (req.method === 'POST' ? { status: 401, body: { error: why } } : doc(relay('sg-1', 'sg', A))));
  const { c, log } = client(core, n.fetch);
  await c.connect();
  core.closeAll(4003, 'token expired');
  await until(() => log.errors.some(e => e.code === 'negotiate_token_failed'), 2000, 'the refresh was refused');
  const refused = log.errors.find(e => e.code === 'negotiate_token_failed');
  assert.match(refused.message, /HTTP 401: the token's sign-in is more than CoreSim:MaxSessionAge .* sign in again/);
  c.close();
});

test('a relay answer with token null and a tokenUrl: the fresh token comes from the tokenUrl (the core)', async () => {
  const core = new FakeCore();
  const tokenUrl = 'http://core.test/v1/negotiate';
  const n = negotiateFetch((call, req) => (req.url === tokenUrl
    ? { ...doc(relay('sg-1', 'sg', A)), token: req.method === 'POST' ? 'from-core' : null }
    : { ...doc(relay('sg-1', 'sg', A)), tokenUrl }));
  const { c } = client(core, n.fetch, { negotiateUrl: 'http://sg-1.test/v1/negotiate' });
  await c.connect();
  core.closeAll(4003, 'token expired');
  await until(() => core.opened.length === 2 && c.state === 'open', 2000, 'reconnected');
  assert.deepEqual(n.calls.map(x => [x.url, x.method]), [['http://sg-1.test/v1/negotiate', 'GET'], [tokenUrl, 'POST']]);
  assert.equal(core.opened[1].token, 'from-core');
  c.close();
});

test('negotiate unavailable (HTTP 503): the fixed urls are the fallback, and say so', async () => {
  const core = new FakeCore();
  const n = negotiateFetch(() => ({ status: 503 }));
  const { c, log } = client(core, n.fetch, { urls: [B] });
  await c.connect();
  assert.equal(c.url, B);
  assert.match(c.relay.reason, /negotiate unavailable \(GET .* HTTP 503\)/);
  assert.ok(log.errors.some(e => e.code === 'negotiate_failed'));
  c.close();
});

test('orderCandidates: remembered handshake times reorder relays of one region only; near-equal times keep the server order', () => {
  const list = [relay('sg-1', 'sg', A), relay('sg-2', 'sg', B), relay('syd-1', 'syd', C)];
  const ids = (rtt, opts = {}) => orderCandidates(list, { rttMs: u => rtt[u], ...opts }).map(r => r.id);
  assert.deepEqual(ids({}), ['sg-1', 'sg-2', 'syd-1']);
  assert.deepEqual(ids({ [A]: 300, [B]: 20 }), ['sg-2', 'sg-1', 'syd-1']);
  assert.deepEqual(ids({ [A]: 300, [B]: 250, [C]: 1 }), ['sg-2', 'sg-1', 'syd-1'], 'a fast relay of another region stays behind its region');
  assert.deepEqual(ids({ [A]: 4, [B]: 2 }), ['sg-1', 'sg-2'].concat('syd-1'), 'below 10 ms: equal, the server order holds');
  const D = 'ws://sg-3.test/ws';
  const three = [relay('sg-1', 'sg', A), relay('sg-2', 'sg', B), relay('sg-3', 'sg', D)];
  assert.deepEqual(orderCandidates(three, { rttMs: u => ({ [A]: 300, [B]: 20 })[u] }).map(r => r.id), ['sg-2', 'sg-3', 'sg-1'],
    'a relay never measured counts as the best of its region');
  assert.deepEqual(ids({}, { failedRecently: u => u === A }), ['sg-2', 'syd-1', 'sg-1']);
  assert.deepEqual(ids({}, { prefer: C }), ['syd-1', 'sg-1', 'sg-2']);
});

test('remembered handshake times persist in the storage (localStorage) and order the next client\'s candidates', async () => {
  const core = new FakeCore();
  const saved = new Map();
  const storage = { getItem: k => saved.get(k) ?? null, setItem: (k, v) => saved.set(k, String(v)) };
  core.readDelayMs.set(A, 200);
  const n = negotiateFetch(() => doc(relay('sg-1', 'sg', A), relay('sg-2', 'sg', B)));
  const first = client(core, n.fetch, { raceAfterMs: 20, rttStorage: storage });
  let second = null;
  try {
    await first.c.connect();
    assert.equal(first.c.url, B);
    first.c.close();
    second = client(core, n.fetch, { raceAfterMs: 20, rttStorage: storage }); // a new page: its memory is empty
    await second.c.connect();
    assert.equal(second.c.url, B);
    assert.deepEqual(second.log.dials.filter(d => d.phase === 'start').map(d => d.url), [B], 'B first, A never opened');
    // A's time is a lower bound (the race ended before its handshake): slower than B's, not a figure to compare with
    // raceAfterMs, since Node may fire that 20 ms timer early on a busy machine (its loop time is cached).
    const stored = JSON.parse(saved.get('relay-client:handshake-ms'));
    assert.ok(stored[A].ms > stored[B].ms, JSON.stringify(stored));
  } finally {
    first.c.close(); // also when an assertion failed: an open client would hold the test run until its timeout
    second?.c.close();
  }
});

test('parseNegotiate: keeps at most 32 relays with ws(s) URLs, drops duplicates, refuses what is not a negotiate answer', () => {
  const many = Array.from({ length: 100 }, (_, i) => relay(`r${i}`, 'sg', `ws://r${i}.test/ws`));
  assert.equal(parseNegotiate({ region: 'sg', relays: many }).relays.length, 32);
  const d = parseNegotiate({ region: 'sg', reason: 'why', relays: [relay('a', 'sg', 'http://a.test/ws'), relay('b', null, B), relay('b2', 'sg', B), { url: 5 }] });
  assert.deepEqual(d.relays.map(r => [r.id, r.region]), [['b', 'sg']]);
  assert.equal(d.reason, 'why');
  assert.throws(() => parseNegotiate([]), /not a JSON object/);
  assert.throws(() => parseNegotiate({ region: 'sg' }), /no relays array/);
  assert.equal(parseNegotiate({ relays: [], tokenUrl: 'javascript:alert(1)' }).tokenUrl, null);
});

test('every relay down: each failed connect backs off (no hot loop), the list is re-fetched once every relay was tried, and the client gives up at maxReconnectAttempts', async () => {
  const core = new FakeCore();
  core.down.add(A); core.down.add(B);
  const n = negotiateFetch(() => doc(relay('sg-1', 'sg', A), relay('sg-2', 'sg', B)));
  const { c, log } = client(core, n.fetch, { maxReconnectAttempts: 2 });
  await assert.rejects(c.connect(), /gave up/);
  const delays = log.states.filter(s => s.state === 'reconnecting').map(s => s.delayMs);
  assert.equal(delays.length, 2);
  assert.ok(delays.every(d => d > 0), `a backoff before each connect: ${delays}`);
  assert.deepEqual(core.opened.map(o => o.url), [A, B, A], 'one relay per connect, then the re-fetched list');
  const fetches = n.calls.filter(x => x.url === NEGOTIATE).length; // (the others ask the relays' /challenge)
  assert.equal(fetches, 2, 'initial, then one when every relay listed had been tried');
  assert.equal(c.state, 'closed');
});
