// Protocol logic of relay-client.js against an in-memory core (test/fake-core.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RelayClient, backoffDelay, tokenExpiry, States } from '../relay-client.js';
import { FakeCore, until } from './fake-core.js';

const A = 'ws://relay-a.test/ws';
const B = 'ws://relay-b.test/ws';
const fast = { initialMs: 5, maxMs: 20, factor: 2 };

function client(core, extra = {}) {
  const c = new RelayClient({ urls: [A, B], token: 'visitor-1', WebSocket: core.WebSocket, backoff: fast, ...extra });
  const log = { states: [], messages: [], errors: [] };
  c.on('state', s => log.states.push(s));
  c.on('message', m => log.messages.push(m));
  c.on('error', e => log.errors.push(e));
  return { c, log };
}

test('connects: hello, welcome, an echo arrives once; states connecting → open; rtt measured', async () => {
  const core = new FakeCore();
  const { c, log } = client(core);
  const welcome = await c.connect();
  assert.equal(welcome.resumed, false);
  assert.equal(c.state, States.open);
  const sent = c.send({ text: 'hi' });
  await sent.delivered;
  await until(() => log.messages.length === 1, 1000, 'echo');
  assert.deepEqual(log.messages[0], { seq: 1, body: { text: 'hi' } });
  assert.deepEqual(log.states.map(s => s.state), ['connecting', 'open']);
  assert.equal(typeof c.rttMs, 'number');
  assert.equal(c.pendingCount, 0);
  assert.equal(core.opened[0].token, 'visitor-1');
  c.close();
  assert.equal(c.state, 'closed');
});

test('outbox: messages sent before the first welcome and while reconnecting are delivered once, in order', async () => {
  const core = new FakeCore();
  const { c, log } = client(core);
  const p = c.connect();
  c.send('m1');
  c.send('m2');
  await p;
  await until(() => log.messages.length === 2, 1000, 'm1, m2');
  core.down.add(A); core.down.add(B);
  core.closeAll(1011, 'internal error');
  await until(() => c.state === 'reconnecting', 1000, 'reconnecting');
  c.send('m3');
  c.send('m4');
  await new Promise(r => setTimeout(r, 30));
  assert.equal(c.pendingCount, 2);
  core.down.clear();
  await until(() => log.messages.length === 4, 2000, 'm3, m4 after reconnect');
  assert.deepEqual(core.received.map(r => r.body), ['m1', 'm2', 'm3', 'm4']);
  assert.deepEqual(log.messages.map(m => m.body), ['m1', 'm2', 'm3', 'm4']);
  assert.deepEqual(log.messages.map(m => m.seq), [1, 2, 3, 4]);
  c.close();
});

test('a fresh session sends queued messages right behind the hello (no welcome round trip), each once', async () => {
  const core = new FakeCore();
  const { c, log } = client(core);
  c.send('first');
  c.send('second');
  await c.connect();
  await until(() => log.messages.length === 2, 1000, 'both echoes');
  assert.deepEqual(core.sent.slice(0, 3), [
    { type: 'hello', welcomeSeen: false },
    { type: 'msg', welcomeSeen: false },
    { type: 'msg', welcomeSeen: false },
  ]);
  assert.equal(core.sent.filter(f => f.type === 'msg').length, 2, 'not sent again after the welcome');
  assert.deepEqual(log.messages.map(m => m.body), ['first', 'second']);
  c.close();
});

test('resume after 1001: what the core never got is resent after welcome.lastSeq; replayed duplicates are dropped', async () => {
  const core = new FakeCore();
  const { c, log } = client(core);
  await c.connect();
  c.send('a');
  await until(() => log.messages.length === 1, 1000, 'a');
  core.blackhole = true; // b and c are lost in flight
  c.send('b');
  c.send('c');
  await new Promise(r => setTimeout(r, 20));
  assert.equal(c.pendingCount, 2);
  core.blackhole = false;
  core.replayAll = true; // the core replays every message it ever sent: the client must drop seq 1
  core.closeAll(1001, 'going away');
  await until(() => log.messages.length === 3, 2000, 'b, c echoed after resume');
  await new Promise(r => setTimeout(r, 30));
  assert.deepEqual(core.received.map(r => r.body), ['a', 'b', 'c'], 'the core got each message once');
  assert.deepEqual(log.messages.map(m => m.body), ['a', 'b', 'c'], 'the app saw each message once');
  const opens = log.states.filter(s => s.state === 'open');
  assert.equal(opens.length, 2);
  assert.equal(opens[1].resumed, true);
  assert.equal(opens[1].session, opens[0].session);
  const reconnecting = log.states.find(s => s.state === 'reconnecting');
  assert.equal(reconnecting.code, 1001);
  assert.ok(reconnecting.delayMs > 0, 'backs off on 1001');
  c.close();
});

test('4001 (draining) of a session that lived 5 s: reconnects at once to the next URL and resumes', async () => {
  const core = new FakeCore();
  let skew = 0; // the client's clock: the session "lives" 5 s without the test waiting (younger ones back off first)
  const { c, log } = client(core, { now: () => performance.now() + skew });
  await c.connect();
  assert.equal(c.url, A);
  c.send('before');
  await until(() => log.messages.length === 1, 1000, 'before');
  skew += 5_000;
  core.closeAll(4001, 'relay draining');
  c.send('during');
  await until(() => log.states.filter(s => s.state === 'open').length === 2, 1000, 'reopen');
  assert.equal(c.url, B);
  const r = log.states.find(s => s.state === 'reconnecting');
  assert.equal(r.code, 4001);
  assert.equal(r.delayMs, 0);
  await until(() => log.messages.length === 2, 1000, 'during');
  assert.deepEqual(log.messages.map(m => m.body), ['before', 'during']);
  assert.equal(log.states.at(-1).resumed, true);
  c.close();
});

test('4003: asks the app for a new token (reason "expired") and reconnects with it', async () => {
  const core = new FakeCore();
  const reasons = [];
  let n = 0;
  const { c, log } = client(core, { token: ({ reason }) => { reasons.push(reason); return `tok-${++n}`; } });
  await c.connect();
  core.closeAll(4003, 'token expired');
  await until(() => log.states.filter(s => s.state === 'open').length === 2, 1000, 'reopen');
  assert.deepEqual(reasons, ['initial', 'expired']);
  assert.deepEqual(core.opened.map(o => o.token), ['tok-1', 'tok-2']);
  c.close();
});

test('4003 with a fixed token string: reports token_expired and closes', async () => {
  const core = new FakeCore();
  const { c, log } = client(core);
  await c.connect();
  core.closeAll(4003, 'token expired');
  await until(() => c.state === 'closed', 1000, 'closed');
  assert.ok(log.errors.some(e => e.code === 'token_expired'));
});

test('a JWT about to expire is refreshed before connecting', async () => {
  const b64 = o => Buffer.from(JSON.stringify(o)).toString('base64url');
  const expired = `${b64({ alg: 'ES256' })}.${b64({ sub: 'v', exp: Math.floor(Date.now() / 1000) + 5 })}.sig`;
  assert.ok(Math.abs(tokenExpiry(expired) - (Date.now() + 5000)) < 1500);
  const core = new FakeCore();
  const given = [];
  const { c } = client(core, { token: ({ reason }) => { given.push(reason); return given.length === 1 ? expired : 'fresh'; } });
  await c.connect();
  core.closeAll(1001);
  await until(() => core.opened.length === 2, 1000, 'second connect');
  assert.deepEqual(given, ['initial', 'expiring']);
  assert.equal(core.opened[1].token, 'fresh');
  c.close();
});

test('4004: starts a fresh session, renumbers the outbox from 1 and emits reset', async () => {
  const core = new FakeCore();
  const { c, log } = client(core);
  const resets = [];
  c.on('reset', r => resets.push(r));
  await c.connect();
  c.send('one');
  await until(() => log.messages.length === 1, 1000, 'one');
  const first = c.session;
  core.forgetSessions();
  core.down.add(A); core.down.add(B);
  core.closeAll(1001);
  await until(() => c.state === 'reconnecting', 1000, 'reconnecting');
  c.send('two');
  c.send('three');
  core.down.clear();
  await until(() => log.messages.length === 3, 2000, 'two, three on the fresh session');
  assert.notEqual(c.session, first);
  assert.equal(resets.length, 1);
  assert.deepEqual(log.messages.map(m => [m.seq, m.body]), [[1, 'one'], [1, 'two'], [2, 'three']]);
  const fresh = core.received.filter(r => r.session === c.session).map(r => [r.seq, r.body]);
  assert.deepEqual(fresh, [[1, 'two'], [2, 'three']]);
  c.close();
});

test('1009: the too-big message is reported, rejected and not resent; the others are delivered', async () => {
  const core = new FakeCore({ maxMessageBytes: 200 });
  const { c, log } = client(core);
  await c.connect();
  c.send('small-1');
  await until(() => log.messages.length === 1, 1000, 'small-1');
  const big = c.send('x'.repeat(300));
  c.send('small-2');
  await assert.rejects(big.delivered, /too big/);
  await until(() => log.messages.length === 2, 2000, 'small-2');
  assert.deepEqual(log.messages.map(m => m.body), ['small-1', 'small-2']);
  const err = log.errors.find(e => e.code === 'message_too_big');
  assert.equal(err.body.length, 300);
  assert.equal(core.received.length, 2);
  c.close();
});

test('a message over maxMessageBytes is refused at send() without touching the connection', async () => {
  const core = new FakeCore();
  const { c } = client(core, { maxMessageBytes: 100 });
  await c.connect();
  assert.throws(() => c.send('y'.repeat(200)), /over the limit/);
  assert.equal(c.pendingCount, 0);
  c.close();
});

test('1000 from the core (e.g. session taken over): closed, no reconnect', async () => {
  const core = new FakeCore();
  const { c, log } = client(core);
  await c.connect();
  core.closeAll(1000, 'taken over');
  await until(() => c.state === 'closed', 1000, 'closed');
  await new Promise(r => setTimeout(r, 50));
  assert.equal(core.opened.length, 1);
  assert.equal(log.states.at(-1).code, 1000);
});

test('1013/1008/1011: back off with growing, jittered delays, rotating URLs; gives up after maxReconnectAttempts', async () => {
  const core = new FakeCore();
  const { c, log } = client(core, { maxReconnectAttempts: 3 });
  await c.connect();
  core.down.add(A); core.down.add(B);
  core.closeAll(1013, 'overloaded');
  await until(() => c.state === 'closed', 3000, 'gave up');
  const delays = log.states.filter(s => s.state === 'reconnecting').map(s => s.delayMs);
  assert.equal(delays.length, 3, "three reconnect attempts, then closed");
  assert.ok(delays.every(d => d > 0 && d <= fast.maxMs));
  const urls = core.opened.map(o => o.url);
  assert.deepEqual(urls, [A, B, A, B]);
});

test('connect() rejects when the client gives up before any welcome', async () => {
  const core = new FakeCore();
  core.down.add(A); core.down.add(B);
  const { c } = client(core, { maxReconnectAttempts: 2 });
  await assert.rejects(c.connect(), /closed/);
});

test('backoffDelay: equal jitter between half and all of an exponential, capped', () => {
  const b = { initialMs: 100, maxMs: 1000, factor: 2 };
  assert.equal(backoffDelay(1, b, () => 0), 50);
  assert.equal(backoffDelay(1, b, () => 1), 100);
  assert.equal(backoffDelay(3, b, () => 1), 400);
  assert.equal(backoffDelay(10, b, () => 1), 1000);
  assert.equal(backoffDelay(10, b, () => 0), 500);
});

test('rooms: members joined by hello get room messages with from; the sender gets only the ack', async () => {
  const core = new FakeCore();
  const v = client(core, { token: 'visitor-1', rooms: ['r1'] });
  const o = client(core, { token: 'operator-1', rooms: ['r1'] });
  await v.c.connect();
  await o.c.connect();
  await v.c.send('hello?', { room: 'r1' }).delivered;
  await until(() => o.log.messages.length === 1, 1000, 'operator receives');
  await o.c.send('hi!', { room: 'r1' }).delivered;
  await until(() => v.log.messages.length === 1, 1000, 'visitor receives');
  assert.deepEqual(o.log.messages[0], { seq: 1, room: 'r1', from: 'visitor-1', body: 'hello?' });
  assert.deepEqual(v.log.messages[0], { seq: 1, room: 'r1', from: 'operator-1', body: 'hi!' });
  v.c.close(); o.c.close();
});

test('acks: received messages are acknowledged so the core can free them', async () => {
  const core = new FakeCore();
  const { c, log } = client(core);
  await c.connect();
  const s = core.sessions.get(c.session);
  core.push(c.session, 'p1');
  core.push(c.session, 'p2');
  await until(() => log.messages.length === 2, 1000, 'pushes');
  await until(() => s.unacked.length === 0, 1000, 'core freed acked messages');
  c.close();
});

test('a close by the app stops everything and rejects what was not acknowledged', async () => {
  const core = new FakeCore();
  const { c } = client(core);
  await c.connect();
  core.blackhole = true;
  const m = c.send('never');
  c.close();
  await assert.rejects(m.delivered, /closed/);
  assert.throws(() => c.send('after'), /closed/);
});
