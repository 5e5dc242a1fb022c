// Issue 17: the fleet dashboard's Regions section, its Steering decisions and its rebalance button, in real Chromium
// (Debian /usr/bin/chromium, headless, playwright-core). Real core-sim with a regions file (sg: 127.0.0.1/32, the address
// the browser and this test come from; syd: 127.0.0.2/32) and two real gateways, relay-a in sg and relay-b in syd. sg's
// relay drains, so a visitor in sg lands on relay-b (away from home); relay-a comes back; the operator presses sg's
// rebalance button; relay-b closes that session with 4001 and the widget reconnects home to relay-a.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Procs, missingDotnet, adminKey, coreAdminKey, coreSimDll, gatewayDll, sharedKey, freePort, waitHttp, repoRoot } from '../../clients/js/test/procs.js';

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
if (skip) console.log(`# skipping browser dashboard-regions tests: ${skip}`);

/** Procs whose core-sim reads a regions file and whose gateways listen on ports chosen before (the file names their URLs). */
class RegionProcs extends Procs {
  async startCoreSimWithRegions(regionsPath) {
    const httpPort = await freePort();
    const backhaulPort = await freePort();
    const publicKey = join(this.dir, 'core-public.pem');
    this._spawn('core-sim', [coreSimDll, '--environment=Development', `--CoreSim:AdminKey=${coreAdminKey}`, '--CoreSim:BindAddress=127.0.0.1', `--CoreSim:HttpPort=${httpPort}`,
      `--CoreSim:BackhaulPort=${backhaulPort}`, `--CoreSim:SharedKey=${sharedKey}`, `--CoreSim:PublicKeyPath=${publicKey}`, `--CoreSim:RegionsFile=${regionsPath}`,
      '--CoreSim:FleetBroadcastInterval=00:00:00.250']);
    const http = `http://127.0.0.1:${httpPort}`;
    await waitHttp(`${http}/fleet`, 20_000, 'core-sim');
    await fetch(`${http}/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sub: 'probe', site: 'probe', role: 'visitor' }) });
    for (let i = 0; i < 100 && !existsSync(publicKey); i++) await new Promise(r => setTimeout(r, 50));
    this.core = { http, httpPort, backhaulPort, publicKey };
    return this.core;
  }

  async startGatewayOn(relayId, region, port) {
    this._spawn(`gateway-${relayId}`, [gatewayDll, '--environment=Development', '--Gateway:DemoWidget=true', '--Gateway:BindAddress=127.0.0.1', `--Gateway:HttpPort=${port}`,
      `--Gateway:PublicKeyPath=${this.core.publicKey}`, `--Gateway:Backhaul:Endpoints:0=127.0.0.1:${this.core.backhaulPort}`,
      `--Gateway:Backhaul:SharedKey=${sharedKey}`, `--Gateway:Backhaul:RelayId=${relayId}`, `--Gateway:Backhaul:Region=${region}`,
      '--Gateway:Backhaul:LinksPerEndpoint=1', `--Gateway:AdminKey=${adminKey}`, '--Gateway:Health:AgentPort=-1',
      '--Gateway:Health:ReportInterval=00:00:00.250', `--Gateway:DemoTokenUrl=${this.core.http}/v1/tokens`]);
    const http = `http://127.0.0.1:${port}`;
    await waitHttp(`${http}/readyz`, 20_000, `gateway ${relayId}`);
    return { relayId, http, port };
  }
}

const procs = new RegionProcs('browser-dashboard-regions');
let core, gwA, gwB, context, profile, dashboard;

before(async () => {
  if (skip) return;
  mkdirSync(artifacts, { recursive: true });
  const [portA, portB] = [await freePort(), await freePort()];
  const relay = (id, port) => ({ id, address: '127.0.0.1', url: `ws://127.0.0.1:${port}/ws`, readyz: `http://127.0.0.1:${port}/readyz` });
  const regionsPath = join(procs.dir, 'regions.json');
  writeFileSync(regionsPath, JSON.stringify({ regions: [
    { name: 'sg', subnets: ['127.0.0.1/32'], fallback: ['syd'], relays: [relay('relay-a', portA)] },
    { name: 'syd', subnets: ['127.0.0.2/32'], fallback: ['sg'], relays: [relay('relay-b', portB)] },
  ] }));
  core = await procs.startCoreSimWithRegions(regionsPath);
  [gwA, gwB] = await Promise.all([procs.startGatewayOn('relay-a', 'sg', portA), procs.startGatewayOn('relay-b', 'syd', portB)]);
  await procs.waitHealthy(['relay-a', 'relay-b']);
  profile = mkdtempSync(join(tmpdir(), 'relay-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 1000 }, timeout: 30_000,
  });
  await context.addInitScript(key => sessionStorage.setItem('relay-core-admin-key', key), coreAdminKey); // what the operator types at the prompt
}, { timeout: 90_000 });

after(async () => {
  if (context) await context.close().catch(() => {});
  await procs.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
}, { timeout: 30_000 });

const pane = role => `section.pane[data-role=${role}]`;
const region = name => `#regions-body .region[data-region=${name}]`;

async function gatewayAdmin(gw, action) {
  for (let i = 0; i < 50; i++) { // 409 until the relay's fleet view shows the other relay healthy: ask again
    const res = await fetch(`${gw.http}/admin/${action}${action === 'drain' ? '?force=true' : ''}`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}` } });
    if (res.ok) return;
    await new Promise(r => setTimeout(r, 200));
  }
  throw new Error(`${action} ${gw.relayId} refused`);
}

test('the dashboard shows each region\'s relays, users, fallback and the steering decisions', { skip, timeout: 60_000 }, async () => {
  dashboard = await context.newPage();
  const errors = [];
  dashboard.on('pageerror', e => errors.push(e.message));
  dashboard.errors = errors;
  await dashboard.goto(core.http + '/');
  await dashboard.waitForSelector(`${region('sg')}[data-ready=true] .relay[data-relay=relay-a] .state[data-state=healthy]`, { timeout: 15_000 });
  await dashboard.waitForSelector(`${region('syd')}[data-ready=true] .relay[data-relay=relay-b]`, { timeout: 15_000 });
  assert.equal(await dashboard.textContent(`${region('sg')} .fallback`), 'syd');
  assert.equal(await dashboard.textContent(`${region('syd')} .fallback`), 'sg');

  // A negotiate call from this address (127.0.0.1: sg) appears in the steering list.
  const answer = await (await fetch(`${core.http}/v1/negotiate`)).json();
  assert.deepEqual(answer.relays.map(r => r.id), ['relay-a', 'relay-b']);
  await dashboard.waitForSelector('#steering li[data-region=sg][data-how=address]', { timeout: 5000 });
  const line = await dashboard.textContent('#steering li');
  assert.match(line, /127\.0\.0\.0\/24 → sg \(address in 127\.0\.0\.1\/32\)/);
  assert.match(line, /relay-a, relay-b/);
  assert.deepEqual(errors, []);
});

test('a visitor of sg failed over to syd is shown away from home; sg\'s rebalance button sends it home', { skip, timeout: 90_000 }, async () => {
  assert.ok(dashboard, 'the first test opened the dashboard');
  // sg's only relay drains: a visitor in sg is steered to syd's relay-b.
  await gatewayAdmin(gwA, 'drain');
  await dashboard.waitForSelector(`${region('sg')}[data-ready=false] .relay[data-relay=relay-a] .state[data-state=draining]`, { timeout: 15_000 });
  const visitor = await context.newPage();
  const errors = [];
  visitor.on('pageerror', e => errors.push(e.message));
  await visitor.goto(`${gwB.http}/?role=visitor&site=browser&visitor=visitor-away`);
  await visitor.waitForSelector(`${pane('visitor')}[data-state=open][data-relay=relay-b]`, { timeout: 20_000 });
  await dashboard.waitForFunction(sel => document.querySelector(sel + ' .away')?.textContent === '1', region('sg'), { timeout: 15_000 });
  assert.match(await dashboard.textContent(`${region('sg')} h3`), /1 of its users on other regions' relays \(relay-b: 1\)/);
  // The left-out relay and why, in the steering list.
  await fetch(`${core.http}/v1/negotiate`);
  await dashboard.waitForFunction(() => /left out: relay-a \(draining\)/.test(document.querySelector('#steering li')?.textContent || ''), null, { timeout: 5000 });
  assert.match(await dashboard.textContent('#steering li'), /served by syd/);

  // sg comes back; the operator rebalances sg.
  await gatewayAdmin(gwA, 'undrain');
  await dashboard.waitForSelector(`${region('sg')}[data-ready=true] button[data-rebalance=sg]:not([disabled])`, { timeout: 15_000 });
  await dashboard.click(`${region('sg')} button[data-rebalance=sg]`);
  await dashboard.waitForFunction(() => /rebalance sg: 1 sessions of sg's users on 1 relays asked to go home \(relay-b: 1\)/.test(document.querySelector('#events').textContent), null, { timeout: 5000 });
  await visitor.waitForSelector(`${pane('visitor')}[data-state=open][data-relay=relay-a]`, { timeout: 20_000 });
  await dashboard.waitForFunction(sel => document.querySelector(sel + ' .away')?.textContent === '0', region('sg'), { timeout: 15_000 });
  const status = await (await fetch(`${gwB.http}/status`)).json();
  assert.equal(status.rebalance.region, 'sg');
  assert.equal(status.rebalance.sessionsMoved, 1);
  assert.equal(status.health.drain.draining, false, 'relay-b did not drain');
  await dashboard.screenshot({ path: join(artifacts, 'dashboard-regions.png'), fullPage: true });
  assert.deepEqual(errors, []);
  assert.deepEqual(dashboard.errors, []);
  await visitor.close();
});
