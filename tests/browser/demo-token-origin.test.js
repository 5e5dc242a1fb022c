// The gateway's demo widget (gateway/Demo/DemoPage.cs) connects only to its own host (any port), whatever its `?urls=` and
// `?negotiate=` query parameters name: the page hands its tokens (the visitor token it mints, the operator token it
// prompts for) to where they point, in the websocket URL. Until stop 42 a link to a relay's demo page naming another host
// sent them there (found by a security review). Real Chromium (headless, playwright-core), real core-sim and gateway on
// loopback; the "other host" is a plain HTTP server on 127.0.0.2 that records upgrade requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Procs, missingDotnet } from '../../clients/js/test/procs.js';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

let skip = false;
if (!existsSync(CHROMIUM)) skip = `Chromium not found at ${CHROMIUM}`;
else if (missingDotnet()) skip = missingDotnet();
let chromium = null;
if (!skip) {
  try { ({ chromium } = await import('playwright-core')); } catch { skip = 'playwright-core not installed: run npm ci in tests/browser'; }
}
if (skip) console.log(`# skipping demo token origin test: ${skip}`);

const procs = new Procs('browser-demo-origin');
let gw, context, profile, other;
const seen = []; // upgrade request URLs the other host received

before(async () => {
  if (skip) return;
  await procs.startCoreSim();
  gw = await procs.startGateway('relay-demo', 'sg');
  other = createServer((req, res) => res.end());
  other.on('upgrade', (req, socket) => { seen.push(req.url); socket.destroy(); });
  await new Promise(r => other.listen(0, '127.0.0.2', r));
  profile = mkdtempSync(join(tmpdir(), 'relay-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
}, { timeout: 90_000 });

after(async () => {
  if (context) await context.close().catch(() => {});
  if (other) other.close();
  await procs.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
}, { timeout: 30_000 });

test('the demo page sends its tokens only to its own relay, whatever ?urls= names', { skip, timeout: 60_000 }, async () => {
  const page = await context.newPage();
  const foreign = `ws://127.0.0.2:${other.address().port}/ws`;
  await page.goto(`${gw.http}/?role=visitor&site=browser&urls=${encodeURIComponent(foreign)}`);
  // Bounded: 8 s for the page to mint its token and dial.
  for (let i = 0; i < 80 && seen.length === 0; i++) await new Promise(r => setTimeout(r, 100));
  // Not vacuous: the page did connect, to the relay that served it (bounded: 15 s).
  const connected = await page.waitForFunction(() => /relay-demo/.test(document.querySelector('.pane .relay')?.textContent || ''), null, { timeout: 15_000 })
    .then(() => true, () => false);
  await page.close();
  assert.ok(connected, 'the page connected to the relay that served it');
  const leaked = seen.filter(u => /access_token=/.test(u)).map(u => u.replace(/(access_token=)([^&]{12})[^&]*/, '$1$2…'));
  console.log(`# upgrade requests at ${foreign}: ${JSON.stringify(leaked)}`);
  assert.deepEqual(leaked, [], `a link to the relay's demo page sent the page's token to ${foreign}`);
});
