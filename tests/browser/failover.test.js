// Real Chromium (Debian /usr/bin/chromium, headless, driven by playwright-core), real core-sim and two real gateways
// on loopback: a visitor page and an operator page chat through gateway A; A is drained mid-conversation; both pages
// move to gateway B and every message appears once, in order; the fleet dashboard shows the drain.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Procs, missingDotnet, adminKey, coreAdminKey, repoRoot, loadGenDll } from '../../clients/js/test/procs.js';

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
if (skip) console.log(`# skipping browser tests: ${skip}`);

const procs = new Procs('browser');
let core, gwA, gwB, context, profile;
let visitor, operator, dashboard;
const room = 'visitor-7'; // the visitor's own support room (a visitor may join only the room named by its sub)

before(async () => {
  if (skip) return;
  mkdirSync(artifacts, { recursive: true });
  core = await procs.startCoreSim();
  [gwA, gwB] = await Promise.all([procs.startGateway('relay-a', 'sg'), procs.startGateway('relay-b', 'syd')]);
  profile = mkdtempSync(join(tmpdir(), 'relay-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 900 }, timeout: 30_000,
  });
  // What a person would type into the pages' prompts: the demo's operator token (the demo mints visitor tokens only)
  // and the dashboard's core-sim admin key.
  const operatorToken = await procs.token('operator-1', 'operator', 'browser');
  await context.addInitScript(([token, key]) => {
    sessionStorage.setItem('relay-demo-operator-token', token);
    sessionStorage.setItem('relay-core-admin-key', key);
  }, [operatorToken, coreAdminKey]);
}, { timeout: 90_000 });

after(async () => {
  if (context) await context.close().catch(() => {});
  await procs.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
}, { timeout: 30_000 });

const pane = role => `section.pane[data-role=${role}]`;

async function chatPage(role, sub) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  page.errors = errors;
  const urls = `${gwA.ws},${gwB.ws}`;
  await page.goto(`${gwA.http}/?role=${role}&room=${room}&site=browser&${role}=${sub}&urls=${encodeURIComponent(urls)}`);
  return page;
}

async function say(page, role, text) {
  await page.fill(`${pane(role)} input[name=text]`, text);
  await page.press(`${pane(role)} input[name=text]`, 'Enter');
}

/** What a user sees in a pane: [who, text] per chat line ("me" for your own), system lines left out. */
async function lines(page, role) {
  return page.$$eval(`${pane(role)} ol.messages li:not(.system)`, lis => lis.map(li => [li.querySelector('.from').textContent, li.querySelector('.text').textContent]));
}

async function waitLine(page, role, text, timeout = 10_000) {
  await page.waitForFunction(([sel, t]) => [...document.querySelectorAll(sel + ' ol.messages li .text')].some(e => e.textContent === t),
    [pane(role), text], { timeout });
}

async function waitOn(page, role, relayId, timeout = 15_000) {
  await page.waitForSelector(`${pane(role)}[data-state=open][data-relay=${relayId}]`, { timeout });
}

async function fleetHasState() {
  const f = await (await fetch(`${core.http}/fleet`)).json();
  return (f.relays || []).some(r => typeof r.state === 'string');
}

/** On a page with both panes: both open on relay-a, the visitor asks, the operator answers, each sees the other's line. */
async function bothPanesChat(page) {
  await waitOn(page, 'visitor', 'relay-a');
  await waitOn(page, 'operator', 'relay-a');
  await say(page, 'visitor', 'is anyone there?');
  await waitLine(page, 'operator', 'is anyone there?');
  await say(page, 'operator', 'yes, how can I help?');
  await waitLine(page, 'visitor', 'yes, how can I help?');
}

test('the default demo page shows both panes, chatting with each other', { skip, timeout: 30_000 }, async () => {
  const page = await context.newPage();
  await page.goto(`${gwA.http}/?site=browser`); // the room defaults to the visitor's sub
  await bothPanesChat(page);
  assert.deepEqual((await lines(page, 'visitor')).map(l => l[1]), ['is anyone there?', 'yes, how can I help?']);
  await page.screenshot({ path: join(artifacts, 'demo-widget.png') });
  await page.close();
});

// CI at stop 44 failed the test above once: under load the pane's history (fetched when it opens) came back after the
// chat had begun, and the messages it held showed twice. Here the history is held back on purpose until the chat is on.
test('the demo page shows the room\'s history once: messages that arrive while it loads are not shown twice', { skip, timeout: 30_000 }, async () => {
  const sub = 'visitor-hist';
  const url = `${gwA.http}/?site=browser&visitor=${sub}`;
  const before = await context.newPage();
  await before.goto(url);
  await waitOn(before, 'visitor', 'relay-a');
  await waitOn(before, 'operator', 'relay-a');
  await say(before, 'visitor', 'an earlier visit');
  await waitLine(before, 'operator', 'an earlier visit');
  await before.waitForFunction(() => !document.querySelector('li.mine.pending'), null, { timeout: 10_000 });
  await before.close();

  const page = await context.newPage();
  let release;
  const held = new Promise(r => { release = r; });
  let asked = 0;
  await page.route('**/api/rooms/*/history*', async route => { asked++; await held; await route.continue(); });
  await page.goto(url);
  await bothPanesChat(page);
  await page.waitForFunction(() => !document.querySelector('li.mine.pending'), null, { timeout: 10_000 });
  assert.equal(asked, 2, 'each pane asked for the history when it opened');
  release();
  for (const role of ['visitor', 'operator']) {
    await page.waitForSelector(`${pane(role)}[data-history]`, { timeout: 10_000 });
    assert.notEqual(await page.getAttribute(pane(role), 'data-history'), 'failed');
  }
  const texts = async role => (await lines(page, role)).map(l => l[1]);
  assert.deepEqual(await texts('visitor'), ['an earlier visit', 'is anyone there?', 'yes, how can I help?']);
  assert.deepEqual(await texts('operator'), ['an earlier visit', 'is anyone there?', 'yes, how can I help?']);
  assert.deepEqual((await lines(page, 'visitor')).map(l => l[0]), [sub, 'me', 'operator-1'], 'history says who; live lines as before');
  await page.close();
});

test('visitor and operator chat through gateway A; A drains mid-conversation; both continue on gateway B, every message once, in order',
  { skip, timeout: 90_000 }, async () => {
    visitor = await chatPage('visitor', 'visitor-7');
    operator = await chatPage('operator', 'operator-1');
    await waitOn(visitor, 'visitor', 'relay-a');
    await waitOn(operator, 'operator', 'relay-a');
    assert.match(await visitor.textContent(`${pane('visitor')} .relay`), /relay-a \(sg\)/);

    dashboard = await context.newPage();
    await dashboard.goto(core.http + '/');
    await dashboard.waitForSelector('tr[data-relay=relay-a]', { timeout: 10_000 });
    await dashboard.waitForFunction(() => Number(document.querySelector('tr[data-relay=relay-a] .sessions')?.textContent) >= 2, null, { timeout: 10_000 });

    const expected = [];
    async function round(i) {
      await say(visitor, 'visitor', `hello ${i} from the visitor`);
      await waitLine(operator, 'operator', `hello ${i} from the visitor`);
      expected.push(['visitor', `hello ${i} from the visitor`]);
      await say(operator, 'operator', `answer ${i} from the operator`);
      await waitLine(visitor, 'visitor', `answer ${i} from the operator`);
      expected.push(['operator', `answer ${i} from the operator`]);
    }
    for (let i = 1; i <= 3; i++) await round(i);
    // RTT is shown once a message has been acknowledged.
    assert.match(await visitor.textContent(`${pane('visitor')} .rtt`), /^\d+(\.\d+)? ms$/);

    // Drain gateway A while the visitor is typing: the message goes out during the move (the outbox holds it).
    await procs.waitHealthy(['relay-a', 'relay-b']); // a drain of the last healthy relay is refused (409)
    const drain = procs.drain(gwA.http);
    await say(visitor, 'visitor', 'sent while the relay drains');
    assert.equal((await drain).status, 200);
    expected.push(['visitor', 'sent while the relay drains']);
    await waitOn(visitor, 'visitor', 'relay-b');
    await waitOn(operator, 'operator', 'relay-b');
    await waitLine(operator, 'operator', 'sent while the relay drains');
    assert.match(await operator.textContent(`${pane('operator')} .relay`), /relay-b \(syd\)/);
    assert.match(await operator.textContent(`${pane('operator')} .session`), /resumed/);
    for (let i = 4; i <= 6; i++) await round(i);

    await visitor.waitForFunction(() => !document.querySelector('li.mine.pending'), null, { timeout: 10_000 });
    await operator.waitForFunction(() => !document.querySelector('li.mine.pending'), null, { timeout: 10_000 });
    await new Promise(r => setTimeout(r, 500)); // any late duplicate would show up now
    const asSeenBy = who => expected.map(([from, text]) => [from === who ? 'me' : from === 'visitor' ? 'visitor-7' : 'operator-1', text]);
    assert.deepEqual(await lines(visitor, 'visitor'), asSeenBy('visitor'));
    assert.deepEqual(await lines(operator, 'operator'), asSeenBy('operator'));
    assert.equal(await visitor.locator('li.failed').count(), 0);
    assert.deepEqual(visitor.errors, []);
    assert.deepEqual(operator.errors, []);
  });

test('the fleet dashboard shows the drain as it happens: sessions leave relay-a for relay-b', { skip, timeout: 30_000 }, async () => {
  assert.ok(dashboard, 'the chat test opened the dashboard');
  await dashboard.waitForFunction(() => Number(document.querySelector('tr[data-relay=relay-a] .sessions')?.textContent) === 0, null, { timeout: 15_000 });
  await dashboard.waitForFunction(() => Number(document.querySelector('tr[data-relay=relay-b] .sessions')?.textContent) >= 2, null, { timeout: 15_000 });
  assert.equal(await dashboard.getAttribute('#live', 'data-mode'), 'sse', 'the dashboard is live over server-sent events');
  const events = await dashboard.textContent('#events');
  assert.match(events, /relay-a: sessions \d+ → 0/);
  await dashboard.screenshot({ path: join(artifacts, 'dashboard.png'), fullPage: true });
});

test('the dashboard shows the latest load-generator report (a real 3 s run through gateway B)', { skip: skip || (!existsSync(loadGenDll) && `load generator not built: ${loadGenDll}`), timeout: 60_000 }, async () => {
  const out = join(procs.loadDir, 'browser-steady');
  const code = await procs.runLoadGen(['steady', '--url', gwB.ws, '--token-url', `${core.http}/v1/tokens`, '--admin-key', coreAdminKey, '--sessions', '20', '--rate', '5', '--seconds', '3', '--out', out], 45_000);
  assert.equal(code, 0, 'load generator: nothing lost, duplicated or reordered');
  await dashboard.click('#load-refresh');
  await dashboard.waitForFunction(() => /steady/.test(document.querySelector('#load-body').textContent), null, { timeout: 5000 });
  const text = await dashboard.textContent('#load-body');
  assert.match(text, /20 \/ 20/, 'sessions connected / asked');
  assert.match(text, /browser-steady/);
  await dashboard.waitForTimeout(1000);
  await dashboard.screenshot({ path: join(artifacts, 'dashboard.png'), fullPage: true });
});

test('the fleet dashboard shows relay-a in state "draining" (needs the relays\' health reports in /fleet)', { skip, timeout: 30_000 }, async t => {
  if (!(await fleetHasState())) {
    t.skip('/fleet carries no relay state yet (health reports, issue 6)');
    return;
  }

  await dashboard.waitForSelector('tr[data-relay=relay-a][data-state=draining]', { timeout: 15_000 });
  assert.match(await dashboard.textContent('#events'), /relay-a: \w+ → draining/);
  await dashboard.screenshot({ path: join(artifacts, 'dashboard.png'), fullPage: true });
});

test('the dashboard\'s drain and undrain buttons command a relay over the backhaul', { skip, timeout: 45_000 }, async t => {
  if (!(await fleetHasState())) {
    await dashboard.click('tr[data-relay=relay-b] button[data-cmd=drain]');
    await dashboard.waitForFunction(() => /drain relay-b: command sent over the backhaul/.test(document.querySelector('#events').textContent), null, { timeout: 5000 });
    t.diagnostic('the relay state is not in /fleet: the command was sent, its effect is not visible here');
    return;
  }

  // relay-b is the last healthy relay while relay-a drains (the gateway refuses to drain the last healthy one): undrain A first.
  const undrain = await fetch(`${gwA.http}/admin/undrain`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}` } });
  assert.equal(undrain.status, 200);
  await procs.waitHealthy(['relay-a', 'relay-b']);
  await dashboard.waitForSelector('tr[data-relay=relay-a][data-state=healthy]', { timeout: 5000 });
  // The gateway refuses a drain while its last fleet view (broadcast by the core) has no other healthy relay: the
  // view may lag the undrain of relay-a by a broadcast interval, so the operator clicks again (at most 4 times).
  let drained = false;
  for (let i = 0; i < 4 && !drained; i++) {
    await dashboard.click('tr[data-relay=relay-b] button[data-cmd=drain]');
    drained = await dashboard.waitForSelector('tr[data-relay=relay-b][data-state=draining]', { timeout: 4000 }).then(() => true, () => false);
  }
  assert.ok(drained, 'relay-b shows draining after the drain button');
  await dashboard.click('tr[data-relay=relay-b] button[data-cmd=undrain]');
  await dashboard.waitForSelector('tr[data-relay=relay-b][data-state=healthy]', { timeout: 20_000 });
  assert.match(await dashboard.textContent('#events'), /relay-b: \w+ → draining/);
});

test('outside Development the gateway serves no demo widget', { skip, timeout: 30_000 }, async () => {
  const prod = await procs.startGateway('relay-prod', 'eu', { production: true });
  for (const path of ['/', '/relay-client.global.js']) {
    assert.equal((await fetch(prod.http + path)).status, 404, path);
  }
  assert.equal((await fetch(prod.http + '/demo/token', { method: 'POST', body: '{}' })).status, 404);
  assert.equal((await fetch(gwA.http + '/relay-client.global.js')).status, 200);
});
