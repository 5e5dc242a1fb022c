// Issue 16, Under Attack mode: while the gateway asks new sessions for proof of work, the SDK fetches the challenge
// after a failed connect, solves it with WebCrypto and connects. Real core-sim and gateway processes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { RelayClient, solveChallenge, leadingZeroBits } from '../relay-client.js';
import { Procs, missingDotnet, adminKey } from './procs.js';
import { until } from './fake-core.js';

const skip = missingDotnet() || false;
if (skip) console.log(`# skipping Under Attack tests: ${skip}`);
const procs = new Procs('under-attack');
let gw;
const clients = [];

before(async () => {
  if (skip) return;
  await procs.startCoreSim();
  gw = await procs.startGateway('ua-a', 'test-a', { extraArgs: ['--Gateway:UnderAttack:Difficulty=12'] });
}, { timeout: 60_000 });

after(async () => {
  for (const c of clients) c.close();
  await procs.stop();
});

async function underAttack(on) {
  const r = await fetch(`${gw.http}/admin/under-attack?on=${on}`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}` } });
  assert.equal(r.status, 200, `POST /admin/under-attack?on=${on}`);
}

function rawConnect(url) {
  return new Promise(res => {
    const ws = new WebSocket(url);
    ws.on('open', () => { ws.close(); res({ open: true }); });
    ws.on('unexpected-response', (_req, resp) => {
      let body = '';
      resp.on('data', d => { body += d; });
      resp.on('end', () => res({ open: false, status: resp.statusCode, body }));
    });
    ws.on('error', () => res({ open: false }));
  });
}

test('leadingZeroBits counts bits; solveChallenge finds a nonce the gateway would accept', async () => {
  assert.equal(leadingZeroBits(new Uint8Array([0, 0, 0x3f])), 18);
  assert.equal(leadingZeroBits(new Uint8Array([0x80])), 0);
  const nonce = await solveChallenge('abc', 10);
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode('abc' + nonce)));
  assert.ok(leadingZeroBits(digest) >= 10);
});

test('under attack: a raw connect is refused (429, challenge required); the SDK solves the challenge and chats', { skip, timeout: 60_000 }, async () => {
  await underAttack(true);
  const raw = await rawConnect(`${gw.ws}?access_token=${encodeURIComponent(await procs.token('js-raw'))}`);
  assert.equal(raw.open, false);
  assert.equal(raw.status, 429);
  assert.match(raw.body, /challenge required/);

  const challenges = [];
  const c = new RelayClient({ urls: [gw.ws], WebSocket, backoff: { initialMs: 20, maxMs: 200, factor: 2 }, token: () => procs.token('js-ua') });
  clients.push(c);
  c.on('challenge', e => challenges.push(e.state));
  const got = [];
  c.on('message', m => got.push(m));
  await c.connect();
  assert.deepEqual(challenges.slice(0, 2), ['solving', 'solved']);
  c.send('under attack and fine');
  await until(() => got.length === 1, 10_000, 'the echo');
  assert.equal(got[0].body, 'under attack and fine');
  c.close();

  await underAttack(false);
  const after = await rawConnect(`${gw.ws}?access_token=${encodeURIComponent(await procs.token('js-raw-2'))}`);
  assert.equal(after.open, true, 'mode off: no challenge');
});
