// Real Chromium on a page the relay serves over https (its wss listener, a test certificate): Chromium opens the demo
// widget's websocket as an HTTP/2 stream on the page's connection (RFC 8441; handshake status 200, not 101), and that
// session must live past the gateway's request-head deadline. Until stop 35 the connection fast path left that deadline
// armed on the connections it handed to Kestrel, and every such session was cut at it (10 s by default) and resumed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Procs, missingDotnet, freePort } from '../../clients/js/test/procs.js';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--ignore-certificate-errors'];

function hasOpenssl() {
  try { execFileSync('openssl', ['version'], { stdio: 'ignore' }); return true; } catch { return false; }
}

let skip = false;
if (!existsSync(CHROMIUM)) skip = `Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`;
else if (missingDotnet()) skip = missingDotnet();
else if (!hasOpenssl()) skip = 'openssl not found (it makes the test certificate): apt-get install openssl';
let chromium = null;
if (!skip) {
  try { ({ chromium } = await import('playwright-core')); } catch { skip = 'playwright-core not installed: run npm ci in tests/browser'; }
}
if (skip) console.log(`# skipping browser tests: ${skip}`);

const procs = new Procs('browser-wss-h2');
let gw, browser, certDir, httpsPort;

before(async () => {
  if (skip) return;
  certDir = mkdtempSync(join(tmpdir(), 'relay-wss-cert-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  httpsPort = await freePort();
  await procs.startCoreSim();
  gw = await procs.startGateway('relay-h2', 'sg', {
    extraArgs: [`--Gateway:CertificatePath=${join(certDir, 'cert.pem')}`, `--Gateway:CertificateKeyPath=${join(certDir, 'key.pem')}`,
      `--Gateway:HttpsPort=${httpsPort}`, '--Gateway:RequestHeadTimeout=00:00:01'], // the shortest deadline allowed
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
}, { timeout: 90_000 });

after(async () => {
  if (browser) await browser.close().catch(() => {});
  await procs.stop();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
}, { timeout: 30_000 });

/** The gateway's /metrics series (otel_scope labels dropped) → value. */
async function scrape() {
  const text = await (await fetch(`${gw.http}/metrics`)).text();
  const series = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space).replace(/otel_scope_[a-z_]+="[^"]*",?/g, '').replace(/\{\}$/, '').replace(/,\}$/, '}'), Number(line.slice(space + 1)));
  }
  return series;
}

test('Chromium opens the widget\'s wss session as an HTTP/2 stream on the page\'s connection, and the session outlives the request-head deadline',
  { skip, timeout: 60_000 }, async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const handshakes = [];
    cdp.on('Network.webSocketHandshakeResponseReceived', e => handshakes.push(e.response.status));

    await page.goto(`https://127.0.0.1:${httpsPort}/?site=browser`);
    await page.waitForSelector('section.pane[data-role=visitor][data-state=open][data-relay=relay-h2]', { timeout: 15_000 });
    assert.deepEqual(handshakes, [200], 'one websocket, opened with an HTTP/2 CONNECT (200), not an HTTP/1.1 upgrade (101)');
    let m = await scrape();
    assert.equal(m.get('relay_gateway_upgrades_total{path="http"}'), 1, 'through ASP.NET Core: an HTTP/2 stream');
    assert.equal(m.get('relay_gateway_session_opens_total'), 1);

    await sleep(2_500); // past the 1 s head deadline of the connection the session runs on (a real process: no fake clock)
    m = await scrape();
    assert.equal(m.get('relay_gateway_session_opens_total'), 1, 'no second session: the first was not cut and resumed');
    assert.equal(m.get('relay_gateway_session_closes_total{code="1001"}') ?? 0, 0, 'no session closed as lost');
    assert.equal(m.get('relay_gateway_sessions'), 1);
    assert.ok(await page.$('section.pane[data-role=visitor][data-state=open]'), 'the widget still shows its session open');
    await context.close();
  });
