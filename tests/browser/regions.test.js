// Issue 17: the demo widget in real Chromium (Debian /usr/bin/chromium, headless, playwright-core) shows the region it
// is on, why (the negotiate answer's reason) and the race winner. Real core-sim and gateways on loopback, a stalled
// relay (accepts TCP, never answers the upgrade) listed first so the SDK races.
// NOTE: the negotiate answer comes from clients/js/test/negotiate-standin.js, a STAND-IN for core-sim's /v1/negotiate
// (written on another branch) listing the real gateways started here; the lead switches it to core-sim.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Procs, missingDotnet, repoRoot } from '../../clients/js/test/procs.js';
import { startNegotiateStandin, startStalledRelay, relayOf } from '../../clients/js/test/negotiate-standin.js';

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
let gwA, gwB, stalled, standin, context, profile;

before(async () => {
  if (skip) return;
  mkdirSync(artifacts, { recursive: true });
  await procs.startCoreSim();
  [gwA, gwB] = await Promise.all([procs.startGateway('relay-a', 'sg'), procs.startGateway('relay-b', 'syd')]);
  stalled = await startStalledRelay();
  standin = await startNegotiateStandin(() => ({
    region: 'sg', reason,
    relays: [{ ...relayOf(gwA, 'sg'), id: 'sg-stalled', url: stalled.url }, relayOf(gwA, 'sg'), relayOf(gwB, 'syd')],
  }));
  profile = mkdtempSync(join(tmpdir(), 'relay-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 900 }, timeout: 30_000,
  });
}, { timeout: 90_000 });

after(async () => {
  if (context) await context.close().catch(() => {});
  if (standin) await standin.close();
  if (stalled) await stalled.close();
  await procs.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
}, { timeout: 30_000 });

const pane = role => `section.pane[data-role=${role}]`;

test('the widget with ?negotiate= shows its region, why, and the race winner (the stalled first relay lost to relay-a)', { skip, timeout: 60_000 }, async () => {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  await page.goto(`${gwA.http}/?role=visitor&site=browser&visitor=visitor-r1&negotiate=${encodeURIComponent(standin.url)}`);
  await page.waitForSelector(`${pane('visitor')}[data-state=open][data-relay=relay-a]`, { timeout: 15_000 });
  assert.equal(await page.textContent(`${pane('visitor')} .region`), 'sg');
  assert.equal(await page.textContent(`${pane('visitor')} .why`), reason);
  assert.equal(await page.textContent(`${pane('visitor')} .race`), 'relay-a won over sg-stalled');
  assert.equal(await page.getAttribute(`${pane('visitor')} .race`, 'data-winner'), 'relay-a');
  assert.match(await page.textContent(`${pane('visitor')} .relay`), /relay-a \(sg\)/);
  assert.match(await page.textContent('#steering'), /steered by http:\/\/127\.0\.0\.1:\d+\/v1\/negotiate/);
  assert.ok(standin.calls.length >= 1, 'the page asked the negotiate URL');
  // and it chats: the message is acknowledged through the race winner
  await page.fill(`${pane('visitor')} input[name=text]`, 'hello from sg');
  await page.press(`${pane('visitor')} input[name=text]`, 'Enter');
  await page.waitForFunction(() => document.querySelector('li.mine') && !document.querySelector('li.mine.pending'), null, { timeout: 10_000 });
  await page.screenshot({ path: join(artifacts, 'demo-regions.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('without ?negotiate= the widget uses the gateway\'s own /v1/negotiate when it answers, else (404) its fixed URL, and says which', { skip, timeout: 60_000 }, async () => {
  const own = await fetch(`${gwA.http}/v1/negotiate`);
  const page = await context.newPage();
  await page.goto(`${gwA.http}/?role=visitor&site=browser&visitor=visitor-r2`);
  await page.waitForSelector(`${pane('visitor')}[data-state=open]`, { timeout: 15_000 });
  if (own.status === 404) {
    await page.waitForSelector(`${pane('visitor')}[data-relay=relay-a]`, { timeout: 5000 });
    assert.equal(await page.textContent(`${pane('visitor')} .why`), 'this gateway (its /v1/negotiate answered 404)');
    assert.equal(await page.textContent(`${pane('visitor')} .region`), 'sg', 'the region from the relay\'s /status');
    assert.match(await page.textContent('#steering'), /^fixed: ws:\/\/127\.0\.0\.1:\d+\/ws$/);
  } else {
    // The gateway's negotiate (issue 17, another branch) answers: the pane shows its region and reason.
    const doc = await own.json();
    assert.equal(own.status, 200);
    await page.waitForFunction(sel => document.querySelector(sel + ' .why').textContent !== '—', pane('visitor'), { timeout: 5000 });
    assert.equal(await page.textContent(`${pane('visitor')} .why`), doc.reason);
    assert.match(await page.textContent('#steering'), /steered by .*\/v1\/negotiate/);
  }
  await page.close();
});
