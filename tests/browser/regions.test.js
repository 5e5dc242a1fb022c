// Issue 17: the demo widget in real Chromium (Debian /usr/bin/chromium, headless, playwright-core) shows the region it
// is on, why (the negotiate answer's reason) and the race winner. Real core-sim with a regions file written here
// (sg: 127.0.0.0/8, so the browser at 127.0.0.1 is an sg caller; syd: 127.0.2.0/24) and its real gateways relay-a (sg)
// and relay-b (syd) on loopback; core-sim's GET /v1/negotiate and the gateways' own (from the core's fleet view).
// The one exception: the stalled relay (accepts TCP, never answers the upgrade) cannot be a relay of the core's fleet;
// the first test routes the page's negotiate request through Playwright, fetches core-sim's real answer and puts the
// stalled relay first (marked below), so the SDK races.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Procs, missingDotnet, repoRoot, freePort } from '../../clients/js/test/procs.js';
import { writeRegionsFile, waitNegotiate, ids, startStalledRelay, stalledEntry } from '../../clients/js/test/regions.js';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const artifacts = join(repoRoot, 'artifacts', 'browser');

let skip = false;
if (!existsSync(CHROMIUM)) skip = `Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`;
else if (missingDotnet()) skip = missingDotnet();
let chromium = null;
if (!skip) {
  try { ({ chromium } = await import('playwright-core')); } catch { skip = 'playwright-core not installed: run npm ci in tests/browser'; }
}
if (skip) console.log(`# skipping browser regions tests: ${skip}`);

const procs = new Procs('browser-regions');
const reason = 'address 127.0.0.1 is in sg (127.0.0.0/8)';
let core, coreNegotiate, gwA, gwB, stalled, context, profile;

before(async () => {
  if (skip) return;
  mkdirSync(artifacts, { recursive: true });
  const [portA, portB] = [await freePort(), await freePort()];
  const regions = writeRegionsFile(procs.dir, [
    { name: 'sg', subnets: ['127.0.0.0/8'], fallback: ['syd'], relays: [{ id: 'relay-a', port: portA }] },
    { name: 'syd', subnets: ['127.0.2.0/24'], fallback: ['sg'], relays: [{ id: 'relay-b', port: portB }] },
  ]);
  core = await procs.startCoreSim({ extraArgs: [`--CoreSim:RegionsFile=${regions}`, '--CoreSim:FleetBroadcastInterval=00:00:00.200'] });
  coreNegotiate = `${core.http}/v1/negotiate`;
  const tokenUrl = `--Gateway:Negotiate:TokenUrl=${coreNegotiate}`;
  [gwA, gwB] = await Promise.all([
    procs.startGateway('relay-a', 'sg', { port: portA, extraArgs: [tokenUrl] }),
    procs.startGateway('relay-b', 'syd', { port: portB, extraArgs: [tokenUrl] }),
  ]);
  // Both relays in the core's answer and in each gateway's (the fleet view has reached them).
  for (const url of [coreNegotiate, `${gwA.http}/v1/negotiate`, `${gwB.http}/v1/negotiate`]) {
    await waitNegotiate(url, '127.0.0.1', a => ids(a).join() === 'relay-a,relay-b');
  }
  stalled = await startStalledRelay();
  profile = mkdtempSync(join(tmpdir(), 'relay-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 900 }, timeout: 30_000,
  });
}, { timeout: 90_000 });

after(async () => {
  if (context) await context.close().catch(() => {});
  if (stalled) await stalled.close();
  await procs.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
}, { timeout: 30_000 });

const pane = role => `section.pane[data-role=${role}]`;

test('the widget with ?negotiate= (core-sim\'s) shows its region, why, and the race winner (the stalled first relay lost to relay-a)', { skip, timeout: 60_000 }, async () => {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  // ==== WRAPPER FOR THE STALLED-RELAY CASE ONLY: the page's GET of core-sim's negotiate goes to core-sim (route.fetch);
  // its real answer reaches the page with the stalled relay put first (a TCP server cannot be a relay of the fleet). ====
  const answers = [];
  await page.route(u => u.href.startsWith(coreNegotiate), async route => {
    const response = await route.fetch();
    const doc = await response.json();
    answers.push({ status: response.status(), doc: structuredClone(doc) });
    doc.relays.unshift(stalledEntry(stalled, doc.region));
    await route.fulfill({ response, json: doc });
  });
  await page.goto(`${gwA.http}/?role=visitor&site=browser&visitor=visitor-r1&negotiate=${encodeURIComponent(coreNegotiate)}`);
  await page.waitForSelector(`${pane('visitor')}[data-state=open][data-relay=relay-a]`, { timeout: 15_000 });
  assert.ok(answers.length >= 1, 'the page asked core-sim\'s negotiate');
  assert.deepEqual(answers.map(a => [a.status, a.doc.region, a.doc.reason, ids(a.doc)]), answers.map(() => [200, 'sg', reason, ['relay-a', 'relay-b']]));
  assert.equal(await page.textContent(`${pane('visitor')} .region`), 'sg');
  assert.equal(await page.textContent(`${pane('visitor')} .why`), reason);
  assert.equal(await page.textContent(`${pane('visitor')} .race`), 'relay-a won over sg-stalled');
  assert.equal(await page.getAttribute(`${pane('visitor')} .race`, 'data-winner'), 'relay-a');
  assert.match(await page.textContent(`${pane('visitor')} .relay`), /relay-a \(sg\)/);
  assert.equal(await page.textContent('#steering'), `steered by ${coreNegotiate}`);
  // and it chats: the message is acknowledged through the race winner
  await page.fill(`${pane('visitor')} input[name=text]`, 'hello from sg');
  await page.press(`${pane('visitor')} input[name=text]`, 'Enter');
  await page.waitForFunction(() => document.querySelector('li.mine') && !document.querySelector('li.mine.pending'), null, { timeout: 10_000 });
  await page.screenshot({ path: join(artifacts, 'demo-regions.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('without ?negotiate= the widget uses its gateway\'s own /v1/negotiate (200 from the fleet view): a page from syd\'s relay-b is steered to sg\'s relay-a', { skip, timeout: 60_000 }, async () => {
  const own = `${gwB.http}/v1/negotiate`;
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  const seen = [];
  page.on('response', r => { if (r.url().startsWith(own)) seen.push(r.status()); });
  await page.goto(`${gwB.http}/?role=visitor&site=browser&visitor=visitor-r2`);
  await page.waitForSelector(`${pane('visitor')}[data-state=open][data-relay=relay-a]`, { timeout: 15_000 });
  assert.ok(seen.length >= 2 && seen.every(s => s === 200), `the widget's probe and the SDK's GET of ${own} answered 200: ${seen}`);
  assert.equal(await page.textContent('#steering'), `steered by ${own}`);
  assert.equal(await page.textContent(`${pane('visitor')} .region`), 'sg');
  assert.equal(await page.textContent(`${pane('visitor')} .why`), reason);
  assert.match(await page.textContent(`${pane('visitor')} .relay`), /relay-a \(sg\)/);
  await page.fill(`${pane('visitor')} input[name=text]`, 'hello via syd\'s negotiate');
  await page.press(`${pane('visitor')} input[name=text]`, 'Enter');
  await page.waitForFunction(() => document.querySelector('li.mine') && !document.querySelector('li.mine.pending'), null, { timeout: 10_000 });
  assert.deepEqual(errors, []);
  await page.close();
});
