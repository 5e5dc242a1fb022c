// When the SDK reconnects, what it resends, and what it gives up on, against the in-memory core (test/fake-core.js),
// with fixed urls and in negotiate mode. The rules (README "Reconnects"; the .NET client keeps the same ones):
// - the failure count resets only when a welcomed connection closes after living STABLE_SESSION_MS (5 s);
// - a reconnect without delay only after 4001 or 1001 of such a connection; every other close adds a failure and
//   waits backoff(failures), also when negotiate mode moves on to the next candidate;
// - a message the core refuses by seq (error room_forbidden/too_many_rooms) fails and is never sent again;
// - every welcome renumbers the outbox from welcome.lastSeq + 1 (close() then connect() goes on without a gap);
// - a 1009 drops the too-big message only on a resume that identifies it, never on a fresh session;
// - close() stops a proof-of-work solve in progress.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RelayClient } from '../relay-client.js';
import { FakeCore, until } from './fake-core.js';

const A = 'ws://relay-a.test/ws';
const B = 'ws://relay-b.test/ws';
const NEGOTIATE = 'http://core.test/v1/negotiate';
const fast = { initialMs: 5, maxMs: 20, factor: 2 };
const STABLE_SESSION_MS = 5_000;
const relay = (id, url) => ({ id, region: 'sg', url, weight: 100, state: 'healthy', sessions: 0 });
const negotiateDoc = { region: 'sg', reason: 'test', relays: [relay('sg-1', A), relay('sg-2', B)], token: null };
const fetchNegotiate = async () => ({ ok: true, status: 200, headers: { get: () => null }, text: async () => JSON.stringify(negotiateDoc) });
const modes = {
  urls: { urls: [A, B] },
  negotiate: { negotiateUrl: NEGOTIATE, fetch: fetchNegotiate, rttMemory: new Map(), rttStorage: null },
};

/** `promise`, or a rejection after `ms` (a test fails instead of hanging). */
function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not settled after ${ms} ms`)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * A client with a clock the test can move (clock.skew, ms): a session "lives" 5 s without the test waiting 5 s.
 * random 1: each backoff is its full value, so delays are exact (5, 10, 20, 20, … with `fast`).
 */
function client(core, mode, extra = {}) {
  const clock = { skew: 0 };
  const c = new RelayClient({
    ...modes[mode], token: 'visitor-1', WebSocket: core.WebSocket, backoff: fast, random: () => 1, heartbeatMs: 0,
    now: () => performance.now() + clock.skew, ...extra,
  });
  const log = { states: [], messages: [], errors: [] };
  c.on('state', s => log.states.push(s));
  c.on('message', m => log.messages.push(m));
  c.on('error', e => log.errors.push(e));
  const reconnects = () => log.states.filter(s => s.state === 'reconnecting');
  const opens = () => log.states.filter(s => s.state === 'open').length;
  return { c, log, clock, reconnects, opens };
}

for (const mode of ['urls', 'negotiate']) {
  test(`${mode}: a core that welcomes and then closes 1013 every time: each reconnect waits a longer backoff, up to its cap`, async () => {
    const core = new FakeCore();
    core.closeAfterWelcome = { code: 1013, reason: 'core_unavailable' };
    const { c, reconnects } = client(core, mode);
    try {
      await c.connect();
      await until(() => reconnects().length >= 6, 3000, 'six reconnects');
      c.close();
      assert.deepEqual(reconnects().slice(0, 6).map(s => [s.code, s.delayMs]), [[1013, 5], [1013, 10], [1013, 20], [1013, 20], [1013, 20], [1013, 20]]);
      assert.ok(core.opened.length <= reconnects().length + 1, `${core.opened.length} connections for ${reconnects().length} reconnects: none without a delay`);
      if (mode === 'negotiate') assert.deepEqual(core.opened.slice(0, 4).map(o => o.url), [A, B, A, B], 'the next candidate, after the delay');
    } finally {
      c.close();
    }
  });
}

test('negotiate, default backoff: a core that welcomes and then closes 1013 gets a handful of connections a second, not hundreds', async () => {
  const core = new FakeCore();
  core.closeAfterWelcome = { code: 1013, reason: 'core_unavailable' };
  const c = new RelayClient({ ...modes.negotiate, token: 'v', WebSocket: core.WebSocket, random: () => 0 }); // the shortest delays: 125, 250, 500 ms
  try {
    await c.connect();
    await new Promise(r => setTimeout(r, 1000));
  } finally {
    c.close();
  }
  assert.ok(core.opened.length <= 5, `${core.opened.length} connections in 1 s`);
});

for (const mode of ['urls', 'negotiate']) {
  test(`${mode}: only a session that lived ${STABLE_SESSION_MS} ms resets the failures; only then do 4001 and 1001 reconnect at once`, async () => {
    const core = new FakeCore();
    core.closeAfterWelcome = { code: 1013, times: 3 };
    const { c, clock, reconnects, opens } = client(core, mode, { token: () => 'visitor-1' });
    try {
      await c.connect();
      await until(() => reconnects().length === 3 && c.state === 'open', 2000, 'three failures, then a connection that stays');
      const step = async (code, age) => {
        const n = reconnects().length;
        const o = opens();
        clock.skew += age;
        core.closeAll(code, 'test');
        await until(() => opens() > o, 2000, `open again after ${code}`);
        assert.equal(reconnects().length, n + 1);
        return reconnects().at(-1).delayMs;
      };
      assert.equal(await step(4001, 100), 20, 'a young session: one more failure (the fourth), no reset');
      assert.equal(await step(1013, STABLE_SESSION_MS), 5, 'a session of 5 s: failures reset, then this close counts one');
      assert.equal(await step(4001, 1000), 10, 'young again: failures 2');
      assert.equal(await step(4001, STABLE_SESSION_MS), 0, 'a drain of a stable session: at once');
      assert.equal(await step(1001, STABLE_SESSION_MS), 0, 'going away, stable: at once');
      assert.equal(await step(1001, 10), 5, 'going away right after a reconnect: backs off');
      assert.equal(await step(4003, STABLE_SESSION_MS), 5, 'token expired: backoff(1), not at once');
      assert.equal(await step(1011, STABLE_SESSION_MS), 5);
      assert.deepEqual(reconnects().slice(3).map(s => s.code), [4001, 1013, 4001, 4001, 1001, 1001, 4003, 1011]);
    } finally {
      c.close();
    }
  });
}

for (const mode of ['urls', 'negotiate']) {
  test(`${mode}: a message the core refuses (error room_forbidden with its seq, 1008) fails, is never sent again, and the messages behind it are delivered`, async () => {
    const core = new FakeCore();
    core.allowRoom = (sub, room) => room === sub; // a visitor may join only the room named by its sub
    const { c, log, opens } = client(core, mode);
    try {
      await c.connect();
      await within(c.send('before', { room: 'visitor-1' }).delivered, 3000, 'delivered');
      const bad = c.send('to another room', { room: 'visitor-2' });
      const good = c.send('next', { room: 'visitor-1' });
      const later = c.send('later', { room: 'visitor-1' });
      await assert.rejects(within(bad.delivered, 3000, 'bad'), e => e.code === 'room_forbidden');
      await within(good.delivered, 3000, 'good');
      await within(later.delivered, 3000, 'later');
      const refused = log.errors.filter(e => e.code === 'room_forbidden');
      assert.equal(refused.length, 1);
      assert.deepEqual([refused[0].id, refused[0].body, refused[0].room], [bad.id, 'to another room', 'visitor-2']);
      await new Promise(r => setTimeout(r, 50));
      assert.equal(core.frames.filter(f => f.body === 'to another room').length, 1, 'sent once, never again');
      assert.deepEqual(core.received.map(r => r.body), ['before', 'next', 'later']);
      assert.equal(c.pendingCount, 0);
      assert.ok(opens() <= 3, `${opens()} sessions opened`);
      assert.equal(c.state, 'open');
    } finally {
      c.close();
    }
  });
}

for (const mode of ['urls', 'negotiate']) {
  test(`${mode}: close() with a message lost in flight, then connect(): the next message is delivered (no seq gap)`, async () => {
    const core = new FakeCore();
    const { c, log } = client(core, mode);
    try {
      await c.connect();
      await within(c.send('a').delivered, 3000, 'delivered');
      core.blackhole = true;
      const lost = c.send('lost in flight');
      await new Promise(r => setTimeout(r, 20));
      c.close();
      await assert.rejects(within(lost.delivered, 3000, 'lost'), e => e.code === 'closed');
      core.blackhole = false;
      const w = await within(c.connect(), 3000, 'connect');
      assert.equal(w.resumed, true);
      await within(c.send('after reopening').delivered, 3000, 'delivered');
      assert.deepEqual(core.received.map(r => [r.seq, r.body]), [[1, 'a'], [2, 'after reopening']]);
      assert.deepEqual(log.errors.filter(e => e.code === 'seq_gap'), []);
      assert.equal(core.opened.length, 2);
    } finally {
      c.close();
    }
  });
}

test('close() while offline with a message queued, then connect(): the queued one was rejected, the next is delivered', async () => {
  const core = new FakeCore();
  const { c } = client(core, 'urls');
  try {
    await c.connect();
    await within(c.send('a').delivered, 3000, 'delivered');
    core.down.add(A); core.down.add(B);
    core.closeAll(1011);
    await until(() => c.state === 'reconnecting', 1000, 'reconnecting');
    const queued = c.send('typed while offline');
    c.close();
    await assert.rejects(within(queued.delivered, 3000, 'queued'), e => e.code === 'closed');
    core.down.clear();
    assert.equal((await within(c.connect(), 3000, 'connect')).resumed, true);
    await within(c.send('after reopening').delivered, 3000, 'delivered');
    assert.deepEqual(core.received.map(r => [r.seq, r.body]), [[1, 'a'], [2, 'after reopening']]);
  } finally {
    c.close();
  }
});

test('1009 then a fresh session (4004): the too-big message is the one dropped, not the first one left', async () => {
  const core = new FakeCore({ maxMessageBytes: 200 });
  const orig = core._onClientFrame.bind(core);
  let restarted = false;
  core._onClientFrame = (sock, text) => {
    // The core loses the session (a restart) just as the relay refuses the big message: the resume gets 4004.
    if (text.length > core.maxMessageBytes && !restarted) { restarted = true; core.forgetSessions(); core.blackhole = false; }
    orig(sock, text);
  };
  const { c, log } = client(core, 'urls');
  try {
    await c.connect();
    core.blackhole = true; // 'first' is lost in flight: still in the outbox when the 1009 comes
    const first = c.send('first');
    const big = c.send('x'.repeat(300));
    const last = c.send('last');
    await assert.rejects(within(big.delivered, 3000, 'big'), e => e.code === 'message_too_big');
    await within(first.delivered, 3000, 'first');
    await within(last.delivered, 3000, 'last');
    assert.deepEqual(core.received.map(r => r.body), ['first', 'last']);
    assert.deepEqual(log.errors.filter(e => e.code === 'message_too_big').map(e => e.id), [big.id]);
  } finally {
    c.close();
  }
});

test('close() stops a proof-of-work solve in progress', async () => {
  const core = new FakeCore();
  core.down.add(A); core.down.add(B); // the first connect fails: the client asks for a challenge
  let hashes = 0;
  const crypto = { subtle: { digest: (alg, data) => { hashes++; return globalThis.crypto.subtle.digest(alg, data); } } };
  const fetch = async () => ({ ok: true, status: 200, json: async () => ({ challenge: 'c', difficulty: 32, underAttack: true }) }); // ~4e9 hashes
  const { c } = client(core, 'urls', { fetch, crypto });
  const challenges = [];
  c.on('challenge', e => challenges.push(e.state));
  c.connect().catch(() => {});
  try {
    await until(() => hashes > 0, 3000, 'solving');
  } finally {
    c.close();
  }
  await new Promise(r => setTimeout(r, 100)); // a batch in flight may finish
  const atClose = hashes;
  await new Promise(r => setTimeout(r, 200));
  assert.equal(hashes, atClose, 'no hashing after close()');
  assert.deepEqual(challenges, ['solving']);
});
