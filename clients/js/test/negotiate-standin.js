// ============================================================================================================
// STAND-IN for core-sim's GET/POST /v1/negotiate (issue 17, REGIONS-CONTRACT.md) while that endpoint is written on
// another branch: a small node http server that answers the contract's document, built by the test from the real
// gateways it started (their real ws:// URLs). When core-sim's /v1/negotiate lands, the lead switches the tests that
// use this file to core-sim (and the gateways' own /v1/negotiate) and deletes it.
// ============================================================================================================
// Also here: a TCP server that accepts connections and never answers the websocket upgrade (a stalled relay).
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';

/**
 * Serves GET /v1/negotiate from answer({ call, method, authorization }) → the document, or a number (an HTTP
 * status). POST (a fresh token) gets the same document; answer decides its token. CORS open (the browser test's page
 * is on a gateway's origin), Cache-Control: no-store as the contract says. Resolves to {url, calls, close()}.
 */
export function startNegotiateStandin(answer) {
  const calls = [];
  const server = createServer(async (req, res) => {
    const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'authorization, accept', 'access-control-allow-methods': 'GET, POST' };
    if (req.method === 'OPTIONS') { res.writeHead(204, cors); res.end(); return; }
    const path = req.url.split('?')[0];
    if (path !== '/v1/negotiate' || (req.method !== 'GET' && req.method !== 'POST')) { res.writeHead(404, cors); res.end(); return; }
    const call = { call: calls.length + 1, method: req.method, authorization: req.headers.authorization ?? null, query: req.url.split('?')[1] ?? '' };
    calls.push(call);
    req.resume();
    let doc;
    try {
      doc = await answer(call);
    } catch (e) {
      res.writeHead(500, { ...cors, 'content-type': 'text/plain' }); res.end(String(e?.message || e)); return;
    }

    if (typeof doc === 'number') { res.writeHead(doc, cors); res.end(); return; }
    res.writeHead(200, { ...cors, 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ token: null, ...doc }));
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}/v1/negotiate`;
      resolve({ url, calls, close: () => new Promise(r => { server.closeAllConnections?.(); server.close(() => r()); }) });
    });
  });
}

/** The contract's relay entry for a gateway started by Procs.startGateway. */
export function relayOf(gw, region, weight = 100) {
  return { id: gw.relayId, region, url: gw.ws, weight, state: 'healthy', sessions: 0 };
}

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
