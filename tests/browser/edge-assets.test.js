// Real Chromium (Debian /usr/bin/chromium, headless, driven by playwright-core), real core-sim and a real gateway on
// loopback (issue 18): the demo widget's stylesheet and SDK come from the gateway's own origin under /assets/, through
// its edge cache and the backhaul to core-sim (a Cache-Status from the relay on each), the widget connects, and a
// reload gets the stylesheet from the edge cache (`Relay; hit`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Procs, missingDotnet } from '../../clients/js/test/procs.js';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

let skip = false;
if (!existsSync(CHROMIUM)) skip = `Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`;
else if (missingDotnet()) skip = missingDotnet();
let chromium = null;
if (!skip) {
  try { ({ chromium } = await import('playwright-core')); } catch { skip = 'playwright-core not installed: run npm ci in tests/browser'; }
}
if (skip) console.log(`# skipping browser tests: ${skip}`);

const procs = new Procs('browser-edge');
let gw, context, profile;

before(async () => {
  if (skip) return;
  await procs.startCoreSim();
  gw = await procs.startGateway('relay-edge', 'sg');
  profile = mkdtempSync(join(tmpdir(), 'relay-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 900 }, timeout: 30_000,
  });
}, { timeout: 90_000 });

after(async () => {
  if (context) await context.close().catch(() => {});
  await procs.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
}, { timeout: 30_000 });

const STYLESHEET = '/assets/widget.css';
const SDK = '/assets/relay-client.global.js';

/** The page's responses from the gateway's origin by path: the last one for each path. */
function record(page) {
  const seen = new Map();
  const origin = new URL(gw.http).origin;
  page.on('response', r => {
    const url = new URL(r.url());
    if (url.origin === origin) seen.set(url.pathname, r);
  });
  return seen;
}

test('the demo widget loads its stylesheet and SDK through the relay\'s edge, connects, and a reload gets the stylesheet from the edge cache',
  { skip, timeout: 60_000 }, async () => {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', e => errors.push(e.message));
    // Routing every request on (passed through unchanged) turns Chromium's own HTTP cache off (playwright-core): every
    // load asks the gateway, so the reload shows what the relay's edge cache answers.
    await page.route('**/*', route => route.continue());
    let seen = record(page);

    await page.goto(`${gw.http}/?site=browser`);
    await page.waitForSelector('section.pane[data-role=visitor][data-state=open][data-relay=relay-edge]', { timeout: 15_000 });
    for (const path of [STYLESHEET, SDK]) {
      const r = seen.get(path);
      assert.ok(r, `${path} was fetched from the gateway's origin (${gw.http}); seen: ${[...seen.keys()].join(', ')}`);
      assert.ok([200, 304].includes(r.status()), `${path}: ${r.status()}`);
      assert.match((await r.allHeaders())['cache-status'] ?? '', /^Relay;/, `${path}: answered through the relay's edge cache`);
    }
    assert.equal(await page.$eval('link[rel=stylesheet]', l => new URL(l.href).pathname), STYLESHEET);

    seen = record(page);
    await page.reload();
    await page.waitForSelector('section.pane[data-role=visitor][data-state=open][data-relay=relay-edge]', { timeout: 15_000 });
    const css = seen.get(STYLESHEET);
    assert.ok(css, 'the reload fetched the stylesheet from the gateway');
    assert.ok([200, 304].includes(css.status()), `${STYLESHEET} on reload: ${css.status()}`);
    assert.match((await css.allHeaders())['cache-status'] ?? '', /^Relay; hit/, 'the reload is served from the edge cache');
    assert.deepEqual(errors, []);
    await page.close();
  });
