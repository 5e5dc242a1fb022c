// Starts real core-sim / gateway processes (the Release builds) on free loopback ports; kills them by pid.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const coreSimDll = join(repoRoot, 'core-sim', 'bin', 'Release', 'net10.0', 'Relay.CoreSim.dll');
export const gatewayDll = join(repoRoot, 'gateway', 'bin', 'Release', 'net10.0', 'Relay.Gateway.dll');
export const loadGenDll = join(repoRoot, 'tools', 'Relay.LoadGen', 'bin', 'Release', 'net10.0', 'Relay.LoadGen.dll');
export const sharedKey = 'T8MX78SA83e1/7GxBxbFSR6AAPBQ4EhlBVu1GkbN1Wg='; // base64 of 32 bytes: gateways also run outside Development
export const adminKey = 'js-test-admin-key';
/** core-sim's admin key (CoreSim:AdminKey): faults, drain buttons, operator tokens. */
export const coreAdminKey = 'js-test-core-admin-key';

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
  });
}

/** Why real-process tests cannot run here, or null. */
export function missingDotnet() {
  if (!existsSync(coreSimDll) || !existsSync(gatewayDll)) return `core-sim/gateway not built (run: dotnet build Relay.sln -c Release); looked for ${coreSimDll}`;
  return null;
}

export class Procs {
  constructor(name) {
    this.dir = mkdtempSync(join(tmpdir(), `relay-${name}-`));
    this.children = [];
  }

  _spawn(label, args) {
    const log = join(this.dir, `${label}.log`);
    const fd = openSync(log, 'w');
    const child = spawn('dotnet', args, { stdio: ['ignore', fd, fd], env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' } });
    child.label = label;
    child.log = log;
    this.children.push(child);
    return child;
  }

  /** core-sim in Development; `extraArgs` e.g. `--CoreSim:RegionsFile=…` (write it with writeRegionsFile first). */
  async startCoreSim({ extraArgs = [] } = {}) {
    const httpPort = await freePort();
    const backhaulPort = await freePort();
    const publicKey = join(this.dir, 'core-public.pem');
    // Development: the gateways' demo token proxy gets visitor tokens without the admin key.
    this._spawn('core-sim', [coreSimDll, '--environment=Development', `--CoreSim:AdminKey=${coreAdminKey}`, '--CoreSim:BindAddress=127.0.0.1', `--CoreSim:HttpPort=${httpPort}`, `--CoreSim:BackhaulPort=${backhaulPort}`,
      `--CoreSim:SharedKey=${sharedKey}`, `--CoreSim:PublicKeyPath=${publicKey}`, `--CoreSim:LoadReportsPath=${join(this.dir, 'load')}`, ...extraArgs]);
    const http = `http://127.0.0.1:${httpPort}`;
    await waitHttp(`${http}/fleet`, 20_000, 'core-sim');
    // The token issuer (which writes the public key) starts with the first token request.
    await fetch(`${http}/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sub: 'probe', site: 'probe', role: 'visitor' }) });
    await waitFile(publicKey, 5000);
    this.core = { http, ws: `ws://127.0.0.1:${httpPort}/ws`, httpPort, backhaulPort, publicKey };
    return this.core;
  }

  /**
   * A gateway in the Development environment with the demo widget on, unless `production` (no environment, no DemoWidget
   * setting). `port`: its HTTP port when the caller needs it in advance (a regions file names the relay's URL).
   */
  async startGateway(relayId, region, { production = false, extraArgs = [], port = null } = {}) {
    port ??= await freePort();
    const agentPort = await freePort();
    const mode = production ? ['--environment=Production'] : ['--environment=Development', '--Gateway:DemoWidget=true'];
    this._spawn(`gateway-${relayId}`, [gatewayDll, ...mode, '--Gateway:BindAddress=127.0.0.1', `--Gateway:HttpPort=${port}`,
      `--Gateway:PublicKeyPath=${this.core.publicKey}`, `--Gateway:Backhaul:Endpoints:0=127.0.0.1:${this.core.backhaulPort}`,
      `--Gateway:Backhaul:SharedKey=${sharedKey}`, `--Gateway:Backhaul:RelayId=${relayId}`, `--Gateway:Backhaul:Region=${region}`,
      `--Gateway:Backhaul:LinksPerEndpoint=2`, `--Gateway:AdminKey=${adminKey}`,
      `--Gateway:Health:AgentPort=${agentPort}`, '--Gateway:Health:ReportInterval=00:00:00.500',
      `--Gateway:DemoTokenUrl=${this.core.http}/v1/tokens`, ...extraArgs]);
    const http = `http://127.0.0.1:${port}`;
    await waitHttp(`${http}/readyz`, 20_000, `gateway ${relayId}`);
    return { relayId, http, ws: `ws://127.0.0.1:${port}/ws`, port };
  }

  /** Kills a gateway this object started (SIGKILL by default: a crash), by pid; resolves when it has exited. */
  kill(relayId, signal = 'SIGKILL') {
    const child = this.children.find(c => c.label === `gateway-${relayId}`);
    if (!child) throw new Error(`no gateway ${relayId} started here`);
    return new Promise(res => {
      if (child.exitCode !== null || child.signalCode !== null) { res(); return; }
      child.once('exit', () => res());
      process.kill(child.pid, signal);
    });
  }

  /** Runs the load generator to completion (at most timeoutMs); resolves with its exit code. Reports go to this.loadDir. */
  runLoadGen(args, timeoutMs = 60_000) {
    const child = this._spawn('loadgen', [loadGenDll, ...args]);
    return new Promise(res => {
      const t = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
      child.once('exit', code => { clearTimeout(t); res(code); });
    });
  }

  /** Waits (bounded) until /fleet reports every relay in ids as healthy; returns at once when /fleet has no relay state. */
  async waitHealthy(ids, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    let seen = '';
    while (Date.now() < deadline) {
      const f = await (await fetch(`${this.core.http}/fleet`)).json();
      const relays = (f.relays || []).filter(r => ids.includes(r.relayId));
      if (relays.length === ids.length && relays.every(r => r.state === undefined)) return;
      if (relays.length === ids.length && relays.every(r => r.state === 'healthy')) return;
      seen = JSON.stringify(relays.map(r => [r.relayId, r.state, r.reasons]));
      await new Promise(r => setTimeout(r, 200));
    }
    throw new Error(`relays ${ids} not healthy within ${timeoutMs} ms: ${seen}`);
  }

  /**
   * POST /admin/drain on a gateway. A 409 means the gateway does not yet know another healthy relay: the fleet view
   * reaches it from the core a moment after the core's own /fleet shows it, so retry until it does (up to timeoutMs).
   */
  async drain(gatewayHttp, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const res = await fetch(`${gatewayHttp}/admin/drain`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}` } });
      if (res.status !== 409 || Date.now() > deadline) return res;
      await new Promise(r => setTimeout(r, 200));
    }
  }

  get loadDir() { return join(this.dir, 'load'); }

  async token(sub, role = 'visitor', site = 'js-test') {
    const r = await fetch(`${this.core.http}/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${coreAdminKey}` }, body: JSON.stringify({ sub, site, role }) });
    if (!r.ok) throw new Error(`POST /v1/tokens: ${r.status}`);
    return (await r.json()).token;
  }

  /** Kills every process this object started, by pid, and waits (bounded) for them to exit. */
  async stop() {
    const waits = this.children.map(c => new Promise(res => {
      if (c.exitCode !== null || c.signalCode !== null) { res(); return; }
      const t = setTimeout(() => { try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } res(); }, 5000);
      c.once('exit', () => { clearTimeout(t); res(); });
      try { process.kill(c.pid, 'SIGTERM'); } catch { clearTimeout(t); res(); }
    }));
    await Promise.all(waits);
    this.children = [];
    // The processes' folder (logs, the core's public key) goes with them, unless RELAY_KEEP_TEST_DIRS asks to keep it.
    if (!process.env.RELAY_KEEP_TEST_DIRS) rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function waitHttp(url, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
      last = `HTTP ${r.status}`;
    } catch (e) { last = e.message; }
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`${what} did not answer ${url} within ${timeoutMs} ms (${last})`);
}

async function waitFile(path, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !existsSync(path)) await new Promise(r => setTimeout(r, 50));
  if (!existsSync(path)) throw new Error(`${path} was not written`);
}
