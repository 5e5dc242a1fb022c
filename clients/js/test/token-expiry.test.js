// Issue 16 item 6: a session whose token expires is closed by the gateway with 4003; the SDK asks the app for a new
// token and resumes the session (same session id, nothing lost). Real core-sim and gateway processes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { RelayClient } from '../relay-client.js';
import { Procs, missingDotnet } from './procs.js';
import { until } from './fake-core.js';

const skip = missingDotnet() || false;
if (skip) console.log(`# skipping token expiry tests: ${skip}`);
const procs = new Procs('tokens');
let core, gw;
const clients = [];

before(async () => {
  if (skip) return;
  core = await procs.startCoreSim();
  gw = await procs.startGateway('tok-a', 'test-a');
}, { timeout: 60_000 });

after(async () => {
  for (const c of clients) c.close();
  await procs.stop();
});

async function token(sub, ttlSeconds) {
  const r = await fetch(`${core.http}/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sub, site: 'js-test', role: 'visitor', ttlSeconds }) });
  if (!r.ok) throw new Error(`POST /v1/tokens: ${r.status}`);
  return (await r.json()).token;
}

test('token expiry: the gateway closes with 4003, the SDK fetches a new token and resumes, every message once, in order', { skip, timeout: 30_000 }, async () => {
  const reasons = [];
  const codes = [];
  const c = new RelayClient({
    urls: [gw.ws], WebSocket, backoff: { initialMs: 50, maxMs: 500, factor: 2 }, tokenRefreshSkewMs: 0,
    // The first token lives 2 s, later ones an hour.
    token: ({ reason }) => { reasons.push(reason); return token('v-exp', reasons.length === 1 ? 2 : 3600); },
  });
  clients.push(c);
  const got = [];
  c.on('message', m => got.push(m));
  c.on('reconnecting', s => codes.push(s.code));
  await c.connect();
  const session = c.session;
  assert.ok(session, 'a session id after the welcome');
  for (let i = 0; i < 5; i++) c.send(`m${i}`);
  await until(() => got.length === 5, 5000, 'first five echoes');
  await until(() => codes.includes(4003), 15_000, 'the 4003 close at expiry'); // without the fix the session stays open
  for (let i = 5; i < 10; i++) c.send(`m${i}`); // while the SDK fetches a new token and resumes
  await until(() => got.length >= 10 && c.pendingCount === 0, 10_000, 'all ten echoes');
  await new Promise(r => setTimeout(r, 200));
  assert.deepEqual(reasons.slice(0, 2), ['initial', 'expired']);
  assert.equal(c.session, session, 'the same session, resumed');
  assert.deepEqual(got.map(m => m.body), Array.from({ length: 10 }, (_, i) => `m${i}`));
  c.close();
});
