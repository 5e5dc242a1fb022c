// Issue 17 test helpers for core-sim's real /v1/negotiate (and the gateways' own): a regions file for the gateways a
// test starts, a fetch that calls from a chosen loopback source address (127.0.x.y picks the caller's region by
// subnet), and — for the stalled-relay case only — a TCP server that never answers the websocket upgrade.
import { request as httpRequest } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Largest negotiate answer read by fetchFrom. */
const MaxAnswerBytes = 1 << 20;

/**
 * Writes a regions file (docs/regions.md) into `dir`; returns its path. `regions`: [{name, subnets, fallback, relays:
 * [{id, port}]}], each relay a gateway on 127.0.0.1:port (its URL ws://127.0.0.1:port/ws, readyz on the same port).
 */
export function writeRegionsFile(dir, regions) {
  const doc = {
    hostname: 'chat.relay.test.', zone: 'relay.test.', ttl: 5,
    regions: regions.map(r => ({
      name: r.name, subnets: r.subnets, fallback: r.fallback,
      relays: r.relays.map(x => ({ id: x.id, address: '127.0.0.1', url: `ws://127.0.0.1:${x.port}/ws`, readyz: `http://127.0.0.1:${x.port}/readyz` })),
    })),
  };
  const path = join(dir, 'regions.json');
  writeFileSync(path, JSON.stringify(doc, null, 2));
  return path;
}

/**
 * A fetch (the subset RelayClient's options.fetch uses) whose connections leave from `localAddress` (any 127.0.x.y is
 * on loopback), so core-sim and the gateways see that caller address. Records each call in `calls`
 * ({method, url, authorization}). No connection reuse; the answer is capped at 1 MiB.
 */
export function fetchFrom(localAddress, calls = []) {
  return (url, init = {}) => new Promise((resolve, reject) => {
    const method = init.method || 'GET';
    const headers = { ...(init.headers || {}) };
    if (method === 'POST') headers['content-length'] = '0';
    calls.push({ method, url: String(url), authorization: headers.authorization ?? null });
    const req = httpRequest(new URL(url), { method, headers, localAddress, agent: false, signal: init.signal }, res => {
      const chunks = [];
      let size = 0;
      res.on('data', c => {
        size += c.length;
        if (size > MaxAnswerBytes) req.destroy(new Error(`answer over ${MaxAnswerBytes} bytes`));
        else chunks.push(c);
      });
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({
          ok: res.statusCode >= 200 && res.statusCode < 300, status: res.statusCode,
          headers: { get: name => res.headers[name.toLowerCase()] ?? null },
          text: async () => body, json: async () => JSON.parse(body),
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** GETs a negotiate URL from `from` until `done(answer)` holds (at most timeoutMs, 100 ms apart); the answer. */
export async function waitNegotiate(url, from, done, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const r = await fetchFrom(from)(url, { signal: AbortSignal.timeout(2000) });
      const text = await r.text();
      if (r.ok) {
        const answer = JSON.parse(text);
        if (done(answer)) return answer;
        last = `relays ${JSON.stringify(answer.relays.map(x => [x.id, x.state]))}`;
      } else {
        last = `HTTP ${r.status} ${text}`;
      }
    } catch (e) { last = e.message; }
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`${url} (from ${from}) did not answer as expected within ${timeoutMs} ms; last: ${last}`);
}

/** The relay ids of a negotiate answer, in order. */
export const ids = answer => answer.relays.map(r => r.id);

/**
 * A relay that accepts TCP connections and never answers the websocket upgrade. `accepted` counts connections,
 * `closed` how many the client has closed. Resolves to {url (ws://…/ws), accepted, closed, close()}.
 */
export function startStalledRelay() {
  const sockets = new Set();
  const state = { accepted: 0, closed: 0 };
  const server = createTcpServer(socket => {
    state.accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => { state.closed++; sockets.delete(socket); });
    socket.resume(); // read the upgrade request, answer nothing
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      state.url = `ws://127.0.0.1:${server.address().port}/ws`;
      state.close = () => new Promise(r => { for (const s of sockets) s.destroy(); server.close(() => r()); });
      resolve(state);
    });
  });
}

/** The relay entry the stalled relay gets in front of a real answer (see withStalledFirst). */
export function stalledEntry(stalled, region) {
  return { id: `${region}-stalled`, region, url: stalled.url, weight: 100, state: 'healthy', sessions: 0 };
}

/**
 * ============================================================================================================
 * WRAPPER FOR THE STALLED-RELAY CASE ONLY. A TCP server that never answers the upgrade cannot be a relay of core-sim's
 * fleet (the core lists only relays with a live backhaul link and healthy reports). This fetch asks the REAL
 * /v1/negotiate (through `fetchFn`) and puts the stalled relay, in the answer's region, in front of the relays it
 * listed; everything else in the answer is core-sim's.
 * ============================================================================================================
 */
export function withStalledFirst(fetchFn, stalled) {
  return async (url, init) => {
    const r = await fetchFn(url, init);
    if (!r.ok) return r;
    const doc = JSON.parse(await r.text());
    doc.relays.unshift(stalledEntry(stalled, doc.region));
    const text = JSON.stringify(doc);
    return { ok: true, status: r.status, headers: { get: () => null }, text: async () => text, json: async () => JSON.parse(text) };
  };
}
