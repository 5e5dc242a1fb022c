// Relay JavaScript client: the session protocol of docs/PROTOCOL.md over a websocket.
// Dependency-free ES module for browsers (global WebSocket) and Node (pass `WebSocket` in the options,
// e.g. the one from the npm package `ws`). relay-client.global.js is generated from this file
// (scripts/build-global.mjs) for a classic <script> tag: window.RelayClient.
//
//   const client = new RelayClient({ urls: ['wss://sg.example/ws', 'wss://syd.example/ws'], token: () => fetchToken() });
//   // or steered: new RelayClient({ negotiateUrl: 'https://core.example/v1/negotiate', token })  (races the best two relays)
//   client.on('message', m => console.log(m.from, m.body));
//   client.on('state', s => console.log(s.state));
//   await client.connect();
//   client.send({ text: 'hi' }, { room: 'support-42' });

/** Connection states, in the order a client usually sees them. */
export const States = Object.freeze({
  idle: 'idle',
  connecting: 'connecting',
  open: 'open',
  reconnecting: 'reconnecting',
  closed: 'closed',
});

/** Close codes of PROTOCOL.md. */
export const CloseCodes = Object.freeze({
  normal: 1000,
  goingAway: 1001,
  abnormal: 1006,
  policy: 1008,
  tooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
  draining: 4001,
  tokenExpired: 4003,
  sessionUnknown: 4004,
});

const OPEN = 1; // WebSocket.OPEN, the same in browsers and `ws`
const DEFAULTS = {
  rooms: [],
  connectTimeoutMs: 10_000,
  backoff: { initialMs: 250, maxMs: 15_000, factor: 2 },
  maxReconnectAttempts: Infinity,
  outboxLimit: 1000,
  maxMessageBytes: 65_536,
  ackDelayMs: 20,
  tokenRefreshSkewMs: 30_000,
  raceAfterMs: 250,
  negotiateMaxAgeMs: 60_000,
  tokenFromNegotiate: true,
  heartbeatMs: 5_000,
  heartbeatTimeoutMs: 4_000,
};

// Negotiate mode (issue 17's contract: GET /v1/negotiate): caps on what a negotiate answer may make the client hold.
const NEGOTIATE_MAX_CHARS = 65_536;
const NEGOTIATE_MAX_RELAYS = 32;
/** A relay that failed (or drained) this recently is tried after the others. */
const FAILED_RECENTLY_MS = 30_000;
/**
 * A welcomed connection that lived at least this long before it closed resets the failure count (see _onClosed); only
 * then does a 4001 or 1001 reconnect at once. Anything shorter-lived counts as a failure and backs off.
 */
const STABLE_SESSION_MS = 5_000;
/** Handshake times closer than this are equal: the negotiate order (weights) decides between them. */
const RTT_FLOOR_MS = 10;
const RTT_STORAGE_KEY = 'relay-client:handshake-ms';
const RTT_MAX_ENTRIES = 64;
/** Handshake times by websocket URL, shared by the clients of this page/process (options.rttMemory overrides). */
const sharedHandshakeTimes = new Map();

/** Reads the `exp` claim (seconds) of a JWT without verifying it; null when it is not a JWT. */
export function tokenExpiry(token) {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    let b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    while (b64.length % 4) b64 += '=';
    const json = typeof atob === 'function'
      ? decodeURIComponent(Array.from(atob(b64), c => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join(''))
      : Buffer.from(b64, 'base64').toString('utf8');
    const exp = JSON.parse(json).exp;
    return typeof exp === 'number' ? exp * 1000 : null;
  } catch {
    return null;
  }
}

/** Backoff with equal jitter: half the exponential delay plus a random share of the other half. */
export function backoffDelay(failures, { initialMs, maxMs, factor }, random = Math.random) {
  const base = Math.min(maxMs, initialMs * Math.pow(factor, Math.max(0, failures - 1)));
  return Math.round(base / 2 + random() * base / 2);
}

function withToken(url, token, pow) {
  const sep = url.includes('?') ? '&' : '?';
  return `${url}${sep}access_token=${encodeURIComponent(token)}` + (pow ? `&pow=${encodeURIComponent(pow)}` : '');
}

/** Leading zero bits of a hash (a Uint8Array). */
export function leadingZeroBits(bytes) {
  let bits = 0;
  for (const b of bytes) {
    if (b === 0) { bits += 8; continue; }
    return bits + Math.clz32(b) - 24;
  }
  return bits;
}

/**
 * Solves an Under Attack challenge from the gateway's GET /challenge: the smallest decimal nonce (in batches) such
 * that SHA-256(challenge + nonce) has `difficulty` leading zero bits, with WebCrypto (browsers in a secure context,
 * Node >= 19; on Node 18 pass `crypto: require('node:crypto').webcrypto`). About 2^difficulty hashes.
 */
export const solveChallenge = async (challenge, difficulty, { crypto = globalThis.crypto, signal, batch = 512 } = {}) => {
  const subtle = crypto && crypto.subtle;
  if (!subtle) throw Object.assign(new Error('no WebCrypto (crypto.subtle): cannot solve the relay\'s challenge'), { code: 'no_webcrypto' });
  const prefix = new TextEncoder().encode(challenge);
  for (let base = 0; ; base += batch) {
    if (signal && signal.aborted) throw Object.assign(new Error('challenge solving aborted'), { code: 'aborted' });
    const jobs = [];
    for (let i = 0; i < batch; i++) {
      const nonce = String(base + i);
      const input = new Uint8Array(prefix.length + nonce.length);
      input.set(prefix);
      for (let k = 0; k < nonce.length; k++) input[prefix.length + k] = nonce.charCodeAt(k);
      jobs.push(subtle.digest('SHA-256', input));
    }
    const digests = await Promise.all(jobs);
    for (let i = 0; i < batch; i++) {
      if (leadingZeroBits(new Uint8Array(digests[i])) >= difficulty) return String(base + i);
    }
  }
};

/** The gateway's challenge endpoint for a websocket URL: ws[s]://host/ws → http[s]://host/challenge. */
function challengeUrlOf(wsUrl) {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = '/challenge';
  u.search = '';
  return u.toString();
}

function defaultStorage() {
  try {
    const s = globalThis.localStorage; // throws in some sandboxed frames
    return s && typeof s.getItem === 'function' && typeof s.setItem === 'function' ? s : null;
  } catch {
    return null;
  }
}

/**
 * Measured handshake times (new WebSocket → welcome, ms) by websocket URL: in memory, and in a Storage (localStorage)
 * when there is one, under one key, at most RTT_MAX_ENTRIES URLs (the newest kept). Each sample is averaged with the
 * previous value; a race loser records a lower bound (it had no welcome after that long).
 */
class HandshakeTimes {
  constructor(memory, storage) {
    this._m = memory;
    this._s = storage;
    this._loaded = !storage;
  }

  _load() {
    if (this._loaded) return;
    this._loaded = true;
    try {
      const text = this._s.getItem(RTT_STORAGE_KEY);
      if (typeof text !== 'string' || text.length > NEGOTIATE_MAX_CHARS) return;
      const saved = JSON.parse(text);
      if (!saved || typeof saved !== 'object') return;
      for (const [url, e] of Object.entries(saved).slice(-RTT_MAX_ENTRIES)) {
        if (!this._m.has(url) && e && Number.isFinite(e.ms) && e.ms >= 0) this._m.set(url, { ms: e.ms, at: Number.isFinite(e.at) ? e.at : 0 });
      }
    } catch { /* unreadable: start empty */ }
  }

  get(url) {
    this._load();
    return this._m.get(url)?.ms;
  }

  record(url, sample, lowerBound = false) {
    this._load();
    const old = this._m.get(url)?.ms;
    let ms = old === undefined ? sample : lowerBound && sample <= old ? old : (old + sample) / 2;
    ms = Math.round(ms * 10) / 10;
    this._m.delete(url);
    this._m.set(url, { ms, at: Date.now() });
    while (this._m.size > RTT_MAX_ENTRIES) this._m.delete(this._m.keys().next().value);
    if (!this._s) return;
    try { this._s.setItem(RTT_STORAGE_KEY, JSON.stringify(Object.fromEntries(this._m))); } catch { /* full or denied */ }
  }
}

function rttBucket(ms) {
  return Math.floor(Math.log2(Math.max(RTT_FLOOR_MS, ms)) * 2); // half octaves: 10-14 ms tie, 250 ms is far from 20
}

/**
 * Orders negotiate candidates: regions stay in the server's order (own region, then fallback); within a region, by
 * remembered handshake time (half-octave buckets from 10 ms up; a relay never measured counts as the best of its
 * region; ties keep the server's order, i.e. its weights). Then the relays that failed recently go last and
 * `prefer` (the relay to go back to after a 4003/4004) first.
 */
export function orderCandidates(relays, { rttMs = () => undefined, failedRecently = () => false, prefer = null } = {}) {
  const groups = new Map();
  relays.forEach((r, i) => {
    const k = r.region ?? '';
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push({ r, i, ms: rttMs(r.url) });
  });
  const ordered = [];
  for (const g of groups.values()) {
    const known = g.filter(x => typeof x.ms === 'number').map(x => x.ms);
    const best = known.length ? Math.min(...known) : 0;
    for (const x of g) x.key = rttBucket(typeof x.ms === 'number' ? x.ms : best);
    g.sort((a, b) => a.key - b.key || a.i - b.i);
    ordered.push(...g.map(x => x.r));
  }
  const list = [...ordered.filter(r => !failedRecently(r.url)), ...ordered.filter(r => failedRecently(r.url))];
  const p = prefer ? list.findIndex(r => r.url === prefer) : -1;
  if (p > 0) list.unshift(...list.splice(p, 1));
  return list;
}

/**
 * Validates a negotiate document (GET /v1/negotiate): {region, reason, relays: [{id, region, url, weight, state,
 * sessions}], token, tokenUrl}. Keeps at most NEGOTIATE_MAX_RELAYS relays with a ws:// or wss:// url; throws on a
 * document that is not one.
 */
export function parseNegotiate(doc) {
  const bad = why => Object.assign(new Error(`bad negotiate answer: ${why}`), { code: 'negotiate_failed' });
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw bad('not a JSON object');
  if (!Array.isArray(doc.relays)) throw bad('no relays array');
  const str = (v, max = 512) => (typeof v === 'string' && v.length <= max ? v : null);
  const region = str(doc.region, 64);
  const relays = [];
  const seen = new Set();
  for (const r of doc.relays.slice(0, NEGOTIATE_MAX_RELAYS)) {
    const url = str(r && r.url, 2048);
    if (!url || seen.has(url)) continue;
    try {
      const u = new URL(url);
      if (u.protocol !== 'ws:' && u.protocol !== 'wss:') continue;
    } catch {
      continue;
    }
    seen.add(url);
    relays.push({
      id: str(r.id, 128) ?? url, region: str(r.region, 64) ?? region, url,
      weight: Number.isFinite(r.weight) ? r.weight : null, state: str(r.state, 32), sessions: Number.isFinite(r.sessions) ? r.sessions : null,
    });
  }
  let tokenUrl = str(doc.tokenUrl, 2048);
  if (tokenUrl && !/^https?:\/\//i.test(tokenUrl)) tokenUrl = null;
  return { region, reason: str(doc.reason, 1024) ?? '', relays, token: str(doc.token, 16_384), tokenUrl };
}

/** The `error` of a refused negotiate answer ({error}: why the core refused, e.g. "sign in again"), as ": why"; at
 *  most 300 characters, read only when the answer says it is short; '' when it has none. */
async function errorOf(r) {
  try {
    const length = Number(r.headers && typeof r.headers.get === 'function' ? r.headers.get('content-length') : 0);
    if (length > NEGOTIATE_MAX_CHARS || typeof r.text !== 'function') return '';
    const text = await r.text();
    if (text.length > NEGOTIATE_MAX_CHARS) return '';
    const error = JSON.parse(text)?.error;
    return typeof error === 'string' && error ? `: ${error.slice(0, 300)}` : '';
  } catch {
    return '';
  }
}

function timeoutSignal(ms) {
  return typeof AbortSignal !== 'undefined' && typeof AbortSignal.timeout === 'function' && Number.isFinite(ms) ? AbortSignal.timeout(ms) : undefined;
}

/** Closes a socket we no longer want (a race loser, a timed-out connect) without hearing from it again. */
function discard(ws, code, reason) {
  ws.onopen = ws.onmessage = ws.onclose = null;
  ws.onerror = () => { /* closing a connecting socket reports an error (npm ws); nothing to do */ };
  try { ws.close(code, reason); } catch { /* already closed */ }
}

/** A session with the chat core, kept across websocket connections. */
export class RelayClient {
  /**
   * @param {object} options see relay-client.d.ts (RelayClientOptions)
   */
  constructor(options) {
    if (!options) throw new TypeError('RelayClient: options are required');
    const o = { ...DEFAULTS, ...options, backoff: { ...DEFAULTS.backoff, ...(options.backoff || {}) } };
    if (!o.urls && !o.url && !o.negotiateUrl) throw new TypeError('RelayClient: options.negotiateUrl, options.urls (array or function) or options.url is required');
    if (o.negotiateUrl && typeof o.urls === 'function') throw new TypeError('RelayClient: with negotiateUrl, urls (the fallback when negotiate cannot be fetched) must be a list');
    if (!o.token) throw new TypeError('RelayClient: options.token (string or function) is required');
    this._o = o;
    this._WebSocket = o.WebSocket || globalThis.WebSocket;
    if (typeof this._WebSocket !== 'function') {
      throw new TypeError('RelayClient: no WebSocket implementation; in Node pass { WebSocket } from the npm package "ws"');
    }
    this._random = o.random || Math.random;
    this._now = typeof o.now === 'function' ? o.now : now;
    this._listeners = new Map();
    this._state = States.idle;
    this._token = typeof o.token === 'string' ? o.token : null;
    this._session = null;
    this._resumeToken = null;
    this._inSeq = 0; // highest core → client seq delivered to the app
    this._outSeq = 0; // highest client → core seq assigned
    this._pending = []; // {id, seq, room, body, json, sentAt, resolve, reject}
    this._nextId = 1;
    this._ws = null;
    this._welcomed = false;
    this._sentUpTo = 0; // seq already written on the current connection
    this._ackSentUpTo = 0;
    this._ackTimer = null;
    this._heartbeatTimer = null;
    this._lastRxAt = 0; // when the current connection last delivered a frame (any frame counts as liveness)
    this._rxCount = 0; // frames delivered, to tell "something arrived since the ping"
    this._pingId = 0;
    this._retryTimer = null;
    this._connectTimer = null;
    this._attempt = 0;
    this._failures = 0;
    this._urlIndex = -1;
    this._tooBig = null; // after a 1009: ids of the messages written on that connection (the too-big one is among them)
    this._keepUrl = false; // the next connect goes to the same URL (4003/4004/1009: the relay was fine)
    this._powAbort = null; // the proof-of-work solve in progress (close() aborts it)
    this._stopped = false;
    this._url = null;
    this._rttMs = null;
    this._firstOpen = null;
    this._onOnline = null;
    this._tokenReason = null;
    this._checkChallenge = false; // after a connect that failed before the welcome: Under Attack mode may be on
    // negotiate mode
    this._negotiate = !!o.negotiateUrl;
    this._doc = null; // the last negotiate answer (parsed) with fetchedAt, or the fallback urls
    this._tried = new Set(); // candidate URLs dialled since the list was (re)fetched
    this._failedAt = new Map(); // URL → when it last failed or drained (tried last for FAILED_RECENTLY_MS)
    this._prefer = null; // URL to go back to first (after 4003/4004/1009 the relay itself was fine)
    this._dial = null; // the connect in progress: its sockets (two while racing)
    this._relay = null; // {region, relayId, reason, url, race, handshakeMs} of the current or last session's relay
    this._lastToken = null;
    this._welcomedAt = 0; // when the current connection's welcome arrived (this._now())
    const storage = o.rttStorage === undefined ? defaultStorage() : o.rttStorage;
    this._rtt = new HandshakeTimes(o.rttMemory || sharedHandshakeTimes, storage);
  }

  /** The connection state: idle, connecting, open, reconnecting, closed. */
  get state() { return this._state; }
  /** The session id from the last welcome, or null. */
  get session() { return this._session; }
  /** The websocket URL (without the token) of the current or last connection. */
  get url() { return this._url; }
  /** Round-trip time of the last acknowledged message, ms (null before the first ack). */
  get rttMs() { return this._rttMs; }
  /** Messages in the outbox: not yet acknowledged by the core. */
  get pendingCount() { return this._pending.length; }
  /** The highest seq received from the core. */
  get lastReceivedSeq() { return this._inSeq; }
  /** Negotiate mode: the relay of the current or last session {region, relayId, reason, url, race, handshakeMs}, or null. */
  get relay() { return this._relay; }
  /** Negotiate mode: the last negotiate answer {region, reason, relays, fallback, error}, or null. */
  get negotiated() { return this._doc ? this._docSummary() : null; }
  /** Negotiate mode: remembered handshake time (ms) to a websocket URL, or undefined. */
  handshakeMs(url) { return this._rtt.get(url); }

  /** Adds a listener: state, connecting, open, reconnecting, closed, message, ack, error, rtt, reset, challenge, negotiate, dial, relay, race. Returns an unsubscribe function. */
  on(event, fn) {
    if (!this._listeners.has(event)) this._listeners.set(event, new Set());
    this._listeners.get(event).add(fn);
    return () => this.off(event, fn);
  }

  off(event, fn) { this._listeners.get(event)?.delete(fn); }

  once(event, fn) {
    const off = this.on(event, e => { off(); fn(e); });
    return off;
  }

  _emit(event, detail) {
    const set = this._listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try { fn(detail); } catch (e) { setTimeout(() => { throw e; }, 0); }
    }
  }

  /** Starts (or restarts after close()) the session. Resolves at the first welcome; rejects if the client closes before it. */
  connect() {
    if (this._firstOpen && this._state !== States.closed) return this._firstOpen.promise;
    this._stopped = false;
    this._failures = 0;
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    promise.catch(() => {});
    this._firstOpen = { promise, resolve, reject, settled: false };
    if (typeof globalThis.addEventListener === 'function' && !this._onOnline) {
      this._onOnline = () => { if (this._state === States.reconnecting && !this._ws && !this._dial) this._retryNow(); };
      globalThis.addEventListener('online', this._onOnline);
    }
    this._setState(this._attempt === 0 ? States.connecting : States.reconnecting, {});
    this._open();
    return promise;
  }

  /**
   * Queues a message for the core. It is sent now when connected, otherwise after the next welcome,
   * and kept until the core acknowledges it. Returns {id, seq, delivered}: `delivered` resolves on the ack
   * and rejects when the message is refused (1009, too big) or the client closes first.
   */
  send(body, { room } = {}) {
    if (this._state === States.closed && this._stopped) throw new Error('RelayClient: closed');
    if (body === undefined) throw new TypeError('RelayClient.send: body is required (any JSON value)');
    const json = JSON.stringify(body);
    const bytes = typeof TextEncoder === 'function' ? new TextEncoder().encode(json).length : json.length;
    if (bytes + 64 + (room ? room.length : 0) > this._o.maxMessageBytes) {
      const err = Object.assign(new Error(`message of ${bytes} bytes is over the limit of ${this._o.maxMessageBytes}`), { code: 'message_too_big' });
      this._emit('error', { code: 'message_too_big', message: err.message, body });
      throw err;
    }

    if (this._pending.length >= this._o.outboxLimit) {
      throw Object.assign(new Error(`RelayClient: outbox full (${this._o.outboxLimit} unacknowledged messages)`), { code: 'outbox_full' });
    }

    const p = { id: this._nextId++, seq: ++this._outSeq, room: room ?? null, body, json, sentAt: null };
    p.delivered = new Promise((res, rej) => { p.resolve = res; p.reject = rej; });
    p.delivered.catch(() => {});
    this._pending.push(p);
    this._flush();
    return { id: p.id, seq: p.seq, delivered: p.delivered };
  }

  /**
   * Ends the session's connection with 1000 and stops reconnecting (a proof-of-work solve in progress too). Every
   * message not yet acknowledged is rejected (code 'closed') and removed from the outbox: it is never resent, also not
   * after connect() resumes the session; one that was already written may still have reached the core.
   */
  close(reason = 'client closed') {
    this._stopped = true;
    this._clearTimers();
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      this._detach(ws);
      try { ws.close(1000, reason); } catch { /* already closed */ }
    }

    this._abortDial(reason);
    this._finish(reason, 1000);
  }

  // ---- connection lifecycle ----

  _setState(state, detail) {
    const previous = this._state;
    this._state = state;
    const d = { state, previous, url: this._url, ...detail };
    if (state === States.open && this._negotiate && this._relay) {
      // Negotiate mode: where the session is and why (the negotiate answer's reason).
      d.region = this._relay.region;
      d.relayId = this._relay.relayId;
      d.reason = this._relay.reason;
      d.race = this._relay.race;
    }
    if (state !== previous || state === States.reconnecting) {
      this._emit('state', d);
      this._emit(state, d);
    }
  }

  async _nextUrl(preferOther) {
    const o = this._o;
    if (typeof o.urls === 'function') {
      const r = await o.urls({ attempt: this._attempt, previous: this._url });
      return Array.isArray(r) ? r[(this._attempt) % r.length] : r;
    }

    const list = o.urls ? (Array.isArray(o.urls) ? o.urls : [o.urls]) : [o.url];
    const keep = this._keepUrl;
    this._keepUrl = false;
    if (this._urlIndex < 0) this._urlIndex = 0;
    else if (!keep && (preferOther || this._failures > 0)) this._urlIndex = (this._urlIndex + 1) % list.length;
    return list[this._urlIndex];
  }

  async _getToken(reason) {
    const expiry = tokenExpiry(this._token);
    if (this._token && expiry !== null && expiry - Date.now() < this._o.tokenRefreshSkewMs && typeof this._o.token === 'function') {
      this._token = null;
      reason = 'expiring';
    }

    if (!this._token && this._negotiate && this._o.tokenFromNegotiate && this._lastToken && (reason === 'expired' || reason === 'expiring')) {
      // POST negotiate with the old token (the core accepts one expired by at most its refresh window): a fresh token
      // with the same claims, and a fresh relay list. When that fails, the token provider is asked as before.
      const t = await this._refreshTokenByNegotiate(this._lastToken);
      if (t) this._token = t;
    }

    if (!this._token) {
      if (typeof this._o.token !== 'function') {
        throw Object.assign(new Error('the token expired or was revoked and options.token is not a function'), { code: 'token_expired' });
      }

      const t = await this._o.token({ reason });
      if (typeof t !== 'string' || !t) throw Object.assign(new Error('the token provider returned no token'), { code: 'token_unavailable' });
      this._token = t;
    }

    this._lastToken = this._token;
    return this._token;
  }

  async _open(preferOther = false) {
    if (this._stopped) return;
    const attempt = ++this._attempt;
    const tokenReason = this._tokenReason || (attempt === 1 ? 'initial' : 'reconnect');
    this._tokenReason = null;
    if (this._negotiate) {
      await this._openNegotiated(attempt, tokenReason);
      return;
    }

    let url, token;
    try {
      url = await this._nextUrl(preferOther);
      token = await this._getToken(tokenReason);
    } catch (e) {
      if (this._stopped || attempt !== this._attempt) return;
      if (e && e.code === 'token_expired') {
        this._emit('error', { code: 'token_expired', message: e.message });
        this._finish(e.message, 4003);
        return;
      }

      this._emit('error', { code: e?.code || 'connect_failed', message: String(e?.message || e) });
      this._failures++;
      this._scheduleRetry(`token or url provider failed: ${e?.message || e}`);
      return;
    }

    if (this._stopped || attempt !== this._attempt) return;
    let pow = null;
    if (this._checkChallenge) {
      this._checkChallenge = false;
      pow = await this._solveChallenge(url);
      if (this._stopped || attempt !== this._attempt) return;
    }

    this._url = url;
    let ws;
    try {
      ws = new this._WebSocket(withToken(url, token, pow));
    } catch (e) {
      this._failures++;
      this._emit('error', { code: 'connect_failed', message: String(e?.message || e) });
      this._scheduleRetry(`cannot open ${url}: ${e?.message || e}`);
      return;
    }

    this._ws = ws;
    this._welcomed = false;
    this._connectTimer = setTimeout(() => {
      if (this._ws === ws && !this._welcomed) {
        this._detach(ws);
        try { ws.close(4000, 'connect timeout'); } catch { /* ignore */ }
        this._onClosed(ws, CloseCodes.abnormal, 'connect timeout: no welcome', false);
      }
    }, this._o.connectTimeoutMs);
    ws.onopen = () => {
      if (this._ws !== ws) return;
      const hello = { type: 'hello' };
      if (this._session) hello.resume = { session: this._session, resumeToken: this._resumeToken, lastSeq: this._inSeq };
      if (this._o.rooms && this._o.rooms.length) hello.rooms = [...this._o.rooms];
      this._write(ws, hello);
      this._pipelinedUpTo = this._pipeline(ws);
    };
    ws.onmessage = ev => {
      if (this._ws !== ws) return;
      this._onFrame(ws, ev.data);
    };
    ws.onerror = () => { /* a close event follows */ };
    ws.onclose = ev => {
      if (this._ws !== ws) return;
      this._onClosed(ws, ev.code || CloseCodes.abnormal, ev.reason || '', true);
    };
  }

  // ---- negotiate mode: a list of relays from GET negotiateUrl, the best two raced ----

  async _openNegotiated(attempt, tokenReason) {
    this._abortDial('superseded');
    let token;
    try {
      token = await this._getToken(tokenReason);
      if (this._stopped || attempt !== this._attempt) return;
      const stale = !this._doc || this._now() - this._doc.fetchedAt > this._o.negotiateMaxAgeMs;
      // Re-fetched when older than negotiateMaxAgeMs and when every relay it listed has been tried.
      if (stale || this._candidatesLeft().length === 0) await this._refreshPlan(!this._doc ? 'initial' : stale ? 'stale' : 'exhausted');
    } catch (e) {
      if (this._stopped || attempt !== this._attempt) return;
      if (e && e.code === 'token_expired') {
        this._emit('error', { code: 'token_expired', message: e.message });
        this._finish(e.message, 4003);
        return;
      }

      this._emit('error', { code: e?.code || 'connect_failed', message: String(e?.message || e) });
      this._failures++;
      this._scheduleRetry(`token or negotiate failed: ${e?.message || e}`);
      return;
    }

    if (this._stopped || attempt !== this._attempt) return;
    const left = this._candidatesLeft();
    if (left.length === 0) {
      this._failures++;
      this._emit('error', { code: 'no_relay', message: `negotiate (${this._o.negotiateUrl}) listed no relay` });
      this._scheduleRetry('negotiate listed no relay');
      return;
    }

    let pow = null;
    if (this._checkChallenge) {
      this._checkChallenge = false;
      // Bounded: the first candidate may be a relay that just died (a blackhole would hold the fetch).
      pow = await this._solveChallenge(left[0].url, timeoutSignal(Math.min(this._o.connectTimeoutMs, 2000)));
      if (this._stopped || attempt !== this._attempt) return;
    }

    const dial = { attempt, token, resume: !!this._session, sockets: [], raceTimer: null, raced: false, resumeOn: null, losers: [], failed: [] };
    this._dial = dial;
    this._welcomed = false;
    if (!this._launch(dial, pow)) this._dialFailedAll(dial, 'no relay could be opened', CloseCodes.abnormal);
  }

  /** Fetches negotiate; when that fails, keeps the last answer (its relays tried again) or falls back to options.urls. */
  async _refreshPlan(why) {
    try {
      this._setDoc(await this._fetchNegotiate(this._o.negotiateUrl), why);
    } catch (e) {
      const message = String(e?.message || e);
      this._emit('error', { code: e?.code || 'negotiate_failed', message });
      const fallback = !this._o.urls ? (this._o.url ? [this._o.url] : []) : Array.isArray(this._o.urls) ? this._o.urls : [this._o.urls];
      if (this._doc && !this._doc.fallback) {
        this._tried.clear();
        this._doc.error = message;
        this._emit('negotiate', { ...this._docSummary(), why });
      } else if (fallback.length) {
        const relays = fallback.slice(0, NEGOTIATE_MAX_RELAYS).map(url => ({ id: url, region: null, url, weight: null, state: null, sessions: null }));
        // fetchedAt -Infinity: every later connect asks negotiate again first.
        this._setDoc({ region: null, reason: `negotiate unavailable (${message}): the fixed urls`, relays, token: null, tokenUrl: null }, why, { fallback: true, error: message, fetchedAt: -Infinity });
      } else {
        throw e;
      }
    }
  }

  _setDoc(doc, why, { fallback = false, error = null, fetchedAt = this._now() } = {}) {
    this._doc = { ...doc, fetchedAt, fallback, error };
    this._tried.clear();
    this._emit('negotiate', { ...this._docSummary(), why });
  }

  _docSummary() {
    const d = this._doc;
    return { url: this._o.negotiateUrl, region: d.region, reason: d.reason, relays: d.relays.map(r => ({ ...r })), fallback: d.fallback, error: d.error };
  }

  /** GET (or with a bearer token POST: a fresh token) a negotiate URL; the parsed answer. Bounded in time and size. */
  async _fetchNegotiate(url, bearer = null) {
    const fetchFn = this._o.fetch || globalThis.fetch;
    const method = bearer ? 'POST' : 'GET';
    const fail = why => Object.assign(new Error(`${method} ${url}: ${why}`), { code: 'negotiate_failed' });
    if (typeof fetchFn !== 'function') throw fail('no fetch (pass options.fetch)');
    const init = { method, cache: 'no-store', headers: { accept: 'application/json' } };
    if (bearer) init.headers.authorization = `Bearer ${bearer}`;
    const signal = timeoutSignal(this._o.connectTimeoutMs);
    if (signal) init.signal = signal;
    let r;
    try {
      r = await fetchFn(url, init);
    } catch (e) {
      throw fail(String(e?.message || e));
    }

    if (!r.ok) throw Object.assign(fail(`HTTP ${r.status}${await errorOf(r)}`), { status: r.status });
    let doc;
    try {
      const length = Number(r.headers && typeof r.headers.get === 'function' ? r.headers.get('content-length') : 0);
      if (length > NEGOTIATE_MAX_CHARS) throw new Error(`answer of ${length} bytes is over ${NEGOTIATE_MAX_CHARS}`);
      if (typeof r.text === 'function') {
        const text = await r.text();
        if (text.length > NEGOTIATE_MAX_CHARS) throw new Error(`answer over ${NEGOTIATE_MAX_CHARS} characters`);
        doc = JSON.parse(text);
      } else {
        doc = await r.json();
      }
    } catch (e) {
      throw fail(String(e?.message || e));
    }

    try {
      return parseNegotiate(doc);
    } catch (e) {
      throw fail(e.message);
    }
  }

  /** POST negotiate with the old token (then its tokenUrl, the core's, when a relay answers token null); the new token or null. */
  async _refreshTokenByNegotiate(oldToken) {
    let url = this._doc?.tokenUrl || this._o.negotiateUrl;
    for (let hop = 0; hop < 2 && url; hop++) {
      let doc;
      try {
        doc = await this._fetchNegotiate(url, oldToken);
      } catch (e) {
        this._emit('error', { code: 'negotiate_token_failed', message: String(e?.message || e) });
        return null;
      }

      if (url === this._o.negotiateUrl) this._setDoc(doc, 'token');
      if (doc.token) return doc.token;
      url = doc.tokenUrl && doc.tokenUrl !== url ? doc.tokenUrl : null;
    }

    return null;
  }

  /** The relays of the last negotiate answer not yet tried since it was fetched, best first (orderCandidates). */
  _candidatesLeft() {
    if (!this._doc) return [];
    const t = this._now();
    const list = orderCandidates(this._doc.relays, {
      rttMs: url => this._rtt.get(url),
      failedRecently: url => { const at = this._failedAt.get(url); return at !== undefined && t - at < FAILED_RECENTLY_MS; },
      prefer: this._prefer,
    });
    return list.filter(r => !this._tried.has(r.url));
  }

  _markFailed(url) {
    const t = this._now();
    for (const [u, at] of this._failedAt) if (t - at >= FAILED_RECENTLY_MS) this._failedAt.delete(u);
    this._failedAt.delete(url);
    this._failedAt.set(url, t);
    while (this._failedAt.size > RTT_MAX_ENTRIES) this._failedAt.delete(this._failedAt.keys().next().value);
  }

  /** Opens the next untried candidate into the dial (a race when one is already in flight); false when none is left. */
  _launch(dial, pow = null) {
    for (;;) {
      const cand = this._candidatesLeft()[0];
      if (!cand) return false;
      this._tried.add(cand.url);
      let ws;
      try {
        ws = new this._WebSocket(withToken(cand.url, dial.token, pow));
      } catch (e) {
        this._markFailed(cand.url);
        dial.failed.push({ ...where(cand), reason: String(e?.message || e) });
        this._emit('dial', { phase: 'failed', ...where(cand), reason: String(e?.message || e) });
        pow = null;
        continue; // bounded: each candidate is tried once per list
      }

      const s = { ws, cand, startedAt: this._now(), opened: false, timer: null, pipelinedUpTo: 0 };
      dial.sockets.push(s);
      if (dial.sockets.length > 1) dial.raced = true;
      else this._url = cand.url;
      this._emit('dial', { phase: 'start', ...where(cand), racing: dial.sockets.length > 1 });
      s.timer = setTimeout(() => this._dialFailed(dial, s, 'connect timeout: no welcome', CloseCodes.abnormal), this._o.connectTimeoutMs);
      ws.onopen = () => this._dialOpen(dial, s);
      ws.onmessage = ev => this._dialFrame(dial, s, ev.data);
      ws.onerror = () => { /* a close event follows */ };
      ws.onclose = ev => this._dialFailed(dial, s, ev.reason || `closed with ${ev.code || CloseCodes.abnormal} before the welcome`, ev.code || CloseCodes.abnormal);
      this._armRace(dial);
      return true;
    }
  }

  /** With one socket in flight and no welcome within raceAfterMs, opens the next candidate too (a resume: no upgrade yet). */
  _armRace(dial) {
    clearTimeout(dial.raceTimer);
    dial.raceTimer = null;
    if (!this._canRace(dial) || dial.sockets.length !== 1) return;
    dial.raceTimer = setTimeout(() => {
      dial.raceTimer = null;
      if (this._dial === dial && dial.sockets.length === 1 && this._canRace(dial)) this._launch(dial);
    }, this._o.raceAfterMs);
  }

  _canRace(dial) {
    const ms = this._o.raceAfterMs;
    if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) return false;
    if (dial.resumeOn) return false; // a resume races the upgrade only: its hello is out on one socket
    return this._candidatesLeft().length > 0;
  }

  _dialOpen(dial, s) {
    if (this._dial !== dial || !dial.sockets.includes(s)) return;
    s.opened = true;
    if (dial.resume) {
      // Never two resumes of one session: the first socket that opens carries the resume hello, the others close.
      for (const x of [...dial.sockets]) if (x !== s) this._dialLose(dial, x);
      dial.resumeOn = s;
      clearTimeout(dial.raceTimer);
      dial.raceTimer = null;
    }

    const hello = { type: 'hello' };
    if (this._session) hello.resume = { session: this._session, resumeToken: this._resumeToken, lastSeq: this._inSeq };
    if (this._o.rooms && this._o.rooms.length) hello.rooms = [...this._o.rooms];
    this._write(s.ws, hello);
    // A fresh session pipelines its outbox behind the hello only when no race can start: a race loser's session
    // is closed at once and must have carried no message.
    if (!dial.raced && !this._canRace(dial)) s.pipelinedUpTo = this._pipeline(s.ws);
  }

  /**
   * A fresh session sends what is already in the outbox right behind the hello instead of waiting a round trip for the
   * welcome (the core reads the socket in order), numbered from 1. A resume waits: the welcome says what the core
   * already holds. Not after a 1009 until a welcome (the too-big message would close the connection before it).
   * At-least-once for these: when the connection is lost after the core read them but before the welcome arrived, the
   * client cannot know the session and sends them again on a new one. Returns the last seq written (0: none).
   */
  _pipeline(ws) {
    if (this._session || this._tooBig) return 0;
    this._renumberFrom(0);
    let upTo = 0;
    for (const p of this._pending) {
      const frame = { type: 'msg', seq: p.seq, ack: 0 };
      if (p.room !== null) frame.room = p.room;
      frame.body = p.body;
      if (!this._write(ws, frame)) break;
      p.sentAt = this._now();
      upTo = p.seq;
    }
    return upTo;
  }

  _dialFrame(dial, s, data) {
    if (this._dial !== dial || !dial.sockets.includes(s)) return;
    let f;
    try {
      f = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data));
    } catch {
      this._emit('error', { code: 'bad_frame', message: 'the core sent a frame that is not JSON' });
      return;
    }

    if (f.type === 'welcome') this._dialWon(dial, s, f);
    else if (f.type === 'error') this._onError(f);
  }

  /** A race loser: closed with 1000 at once (a fresh session's loser ends its session), its time kept as a lower bound. */
  _dialLose(dial, x) {
    dial.sockets.splice(dial.sockets.indexOf(x), 1);
    clearTimeout(x.timer);
    const ms = this._now() - x.startedAt;
    this._rtt.record(x.cand.url, ms, true);
    dial.losers.push(where(x.cand));
    this._emit('dial', { phase: 'lost', ...where(x.cand), ms: Math.round(ms) });
    discard(x.ws, CloseCodes.normal, 'lost the race');
  }

  _dialWon(dial, s, welcome) {
    const ms = this._now() - s.startedAt;
    clearTimeout(s.timer);
    clearTimeout(dial.raceTimer);
    dial.raceTimer = null;
    for (const x of [...dial.sockets]) if (x !== s) this._dialLose(dial, x);
    this._dial = null;
    this._rtt.record(s.cand.url, ms);
    this._failedAt.delete(s.cand.url);
    this._prefer = null;
    this._tried = new Set([s.cand.url]); // after this session: every other relay of the list may be tried again
    const race = dial.raced ? { winner: where(s.cand), losers: dial.losers } : null;
    this._relay = { ...where(s.cand), reason: this._doc?.reason ?? '', race, failed: dial.failed, handshakeMs: Math.round(ms * 10) / 10 };
    this._url = s.cand.url;
    this._pipelinedUpTo = s.pipelinedUpTo;
    const ws = s.ws;
    this._ws = ws;
    ws.onopen = null;
    ws.onmessage = ev => { if (this._ws === ws) this._onFrame(ws, ev.data); };
    ws.onclose = ev => { if (this._ws === ws) this._onClosed(ws, ev.code || CloseCodes.abnormal, ev.reason || '', true); };
    this._emit('dial', { phase: 'won', ...where(s.cand), ms: Math.round(ms) });
    if (race) this._emit('race', { ...race, ms: Math.round(ms) });
    this._emit('relay', { ...this._relay });
    this._onWelcome(ws, welcome);
  }

  _dialFailed(dial, s, reason, code) {
    if (this._dial !== dial || !dial.sockets.includes(s)) return;
    dial.sockets.splice(dial.sockets.indexOf(s), 1);
    clearTimeout(s.timer);
    discard(s.ws, 4000, reason);
    if (dial.resumeOn === s) dial.resumeOn = null;
    if (code === CloseCodes.normal || code === CloseCodes.tokenExpired || code === CloseCodes.sessionUnknown || code === CloseCodes.tooBig) {
      // The session or the token, not the relay: handled as a close of this connection (new token, fresh session, …).
      this._abortDial('superseded');
      this._url = s.cand.url;
      this._ws = s.ws;
      this._welcomed = false;
      this._pipelinedUpTo = s.pipelinedUpTo;
      this._onClosed(s.ws, code, reason, true);
      return;
    }

    this._markFailed(s.cand.url);
    dial.failed.push({ ...where(s.cand), reason });
    this._emit('dial', { phase: 'failed', ...where(s.cand), reason, code });
    // A socket still in flight (a race) may yet win. No candidate is opened in its place at once: the next ones are
    // dialled after the backoff (_dialFailedAll), so relays that fail fast make no loop.
    if (dial.sockets.length === 0) this._dialFailedAll(dial, reason, code);
  }

  /** Every socket of this connect failed before a welcome: one failure, the backoff, then the next candidates. */
  _dialFailedAll(dial, reason, code) {
    this._abortDial('superseded');
    this._failures++;
    this._checkChallenge = true;
    const tried = dial.failed.map(f => f.relayId).join(', ');
    this._scheduleRetry(`no relay answered (${tried || 'none'}; last: ${reason})`, { code, reason });
  }

  _abortDial(reason) {
    const dial = this._dial;
    if (!dial) return;
    this._dial = null;
    clearTimeout(dial.raceTimer);
    dial.raceTimer = null;
    for (const x of dial.sockets) {
      clearTimeout(x.timer);
      discard(x.ws, CloseCodes.normal, reason);
    }
    dial.sockets = [];
  }

  /**
   * Negotiate mode, a session's connection closed: after 4003/4004/1009 (the session or the token, not the relay) the
   * same relay first; otherwise (it failed, went away or drains) that relay goes last and the next candidate is dialled,
   * when _onClosed says: at once or after the backoff.
   */
  _noteNegotiatedClose(code) {
    const url = this._url;
    if (!url) return;
    if (code === CloseCodes.tokenExpired || code === CloseCodes.sessionUnknown || code === CloseCodes.tooBig) {
      this._tried.delete(url);
      this._prefer = url;
    } else {
      this._markFailed(url);
    }
  }

  /**
   * Under Attack mode: a browser sees a refused upgrade only as a failed connect, so after one the client asks the
   * gateway (GET /challenge). When the mode is on it solves the challenge ('challenge' events: solving, solved)
   * and returns `<challenge>.<nonce>` for the next connect; otherwise null.
   */
  async _solveChallenge(url, fetchTimeout) {
    const fetchFn = this._o.fetch || globalThis.fetch;
    if (typeof fetchFn !== 'function' || typeof AbortController !== 'function') return null;
    // close() aborts both the fetch and the solve (this._powAbort); the fetch alone is also bounded by fetchTimeout.
    const abort = new AbortController();
    this._powAbort?.abort();
    this._powAbort = abort;
    try {
      let c;
      const fetchAbort = new AbortController();
      const stopFetch = () => fetchAbort.abort();
      abort.signal.addEventListener('abort', stopFetch);
      fetchTimeout?.addEventListener('abort', stopFetch);
      try {
        const r = await fetchFn((this._o.challengeUrl || challengeUrlOf)(url), { cache: 'no-store', signal: fetchAbort.signal });
        if (!r.ok) return null;
        c = await r.json();
      } catch {
        return null; // no such endpoint (not a relay, or an older one): connect as before
      } finally {
        abort.signal.removeEventListener('abort', stopFetch);
        fetchTimeout?.removeEventListener('abort', stopFetch);
      }

      if (abort.signal.aborted || !c || !c.underAttack || typeof c.challenge !== 'string' || !(c.difficulty > 0 && c.difficulty <= 32)) return null;
      const started = this._now();
      this._emit('challenge', { state: 'solving', difficulty: c.difficulty, url });
      try {
        const nonce = await solveChallenge(c.challenge, c.difficulty, { crypto: this._o.crypto || globalThis.crypto, signal: abort.signal });
        this._emit('challenge', { state: 'solved', difficulty: c.difficulty, url, ms: Math.round(this._now() - started) });
        return `${c.challenge}.${nonce}`;
      } catch (e) {
        if (abort.signal.aborted) return null; // close(): nothing to report
        this._emit('error', { code: e?.code || 'challenge_failed', message: String(e?.message || e) });
        return null;
      }
    } finally {
      if (this._powAbort === abort) this._powAbort = null;
    }
  }

  _detach(ws) {
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.onerror = () => { /* closing a connecting socket reports an error (npm ws) */ };
  }

  _write(ws, obj) {
    if (ws.readyState !== OPEN) return false;
    try {
      ws.send(JSON.stringify(obj));
      return true;
    } catch {
      return false;
    }
  }

  _onFrame(ws, data) {
    this._lastRxAt = this._now();
    this._rxCount++;
    let f;
    try {
      f = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data));
    } catch {
      this._emit('error', { code: 'bad_frame', message: 'the core sent a frame that is not JSON' });
      return;
    }

    if (!this._welcomed) {
      if (f.type === 'welcome') this._onWelcome(ws, f);
      else if (f.type === 'error') this._onError(f);
      return;
    }

    if (typeof f.ack === 'number') this._acknowledge(f.ack);
    switch (f.type) {
      case 'msg':
        if (typeof f.seq !== 'number') return;
        if (f.seq === this._inSeq + 1) {
          this._inSeq = f.seq;
          const m = { seq: f.seq, body: f.body };
          if (f.room !== undefined) m.room = f.room;
          if (f.from !== undefined) m.from = f.from;
          this._emit('message', m);
        } else if (f.seq > this._inSeq + 1) {
          // A gap the core should never produce: reconnect and resume so it replays from our lastSeq.
          this._emit('error', { code: 'seq_gap', message: `expected seq ${this._inSeq + 1}, got ${f.seq}` });
          this._detach(ws);
          try { ws.close(4000, 'seq gap'); } catch { /* ignore */ }
          this._onClosed(ws, CloseCodes.abnormal, 'seq gap', false);
          return;
        }

        // seq <= inSeq: a replayed duplicate; dropped, and re-acknowledged below.
        this._scheduleAck();
        break;
      case 'error':
        this._onError(f);
        break;
      default:
        break; // 'ack' handled above; unknown types ignored
    }
  }

  _onWelcome(ws, w) {
    clearTimeout(this._connectTimer);
    this._connectTimer = null;
    this._welcomed = true;
    this._welcomedAt = this._now();
    const resumed = !!w.resumed;
    if (!resumed) {
      if (this._session && this._inSeq > 0) this._emit('reset', { reason: 'the core started a fresh session', previousSession: this._session });
      this._inSeq = 0;
      this._tooBig = null; // a new session: which message was too big is not known here (if it is, it gets a 1009 again)
    }

    this._session = w.session;
    this._resumeToken = w.resumeToken;
    // The last seq the core holds: those are acknowledged, the rest renumbered from the next one (PROTOCOL.md).
    const lastSeq = Number.isInteger(w.lastSeq) && w.lastSeq >= 0 ? w.lastSeq : resumed ? this._outSeq - this._pending.length : 0;
    if (resumed) this._acknowledge(lastSeq, false);
    const p = this._pending[0];
    if (p && this._tooBig && this._tooBig.has(p.id)) {
      // 1009: the core holds everything up to lastSeq, so the first message left, written on the connection the relay
      // closed, is the one that was too big.
      this._pending.shift();
      this._fail(p, 'message_too_big', 'the message was refused as too big (1009) and is not resent');
    }

    this._tooBig = null;
    this._renumberFrom(lastSeq);
    this._sentUpTo = resumed ? lastSeq : Math.max(lastSeq, this._pipelinedUpTo || 0);
    this._ackSentUpTo = resumed ? this._inSeq : 0;
    this._startHeartbeat(ws);
    this._setState(States.open, { session: this._session, resumed });
    if (this._firstOpen && !this._firstOpen.settled) {
      this._firstOpen.settled = true;
      this._firstOpen.resolve({ session: this._session, resumed });
    }

    this._flush();
  }

  /**
   * Liveness (PROTOCOL.md): when nothing has arrived for heartbeatMs, a ping; when nothing at all has arrived
   * heartbeatTimeoutMs after it, the connection is dead (a silent path: no close, no error ever comes). It is dropped
   * without waiting for a close handshake and handled as a lost connection (1006): backoff, resume (negotiate: next candidate).
   * One timer per connection, re-armed from the last arrival (never per frame). Late timers (a throttled background
   * tab) only delay the verdict: a connection is declared dead only when nothing arrived since its ping was sent.
   */
  _startHeartbeat(ws) {
    clearTimeout(this._heartbeatTimer);
    this._heartbeatTimer = null;
    const every = this._o.heartbeatMs;
    if (!(every > 0) || !Number.isFinite(every)) return;
    this._lastRxAt = this._now();
    const timeout = Math.max(1, Number(this._o.heartbeatTimeoutMs) || DEFAULTS.heartbeatTimeoutMs);
    const arm = (fn, ms) => { this._heartbeatTimer = setTimeout(fn, Math.max(1, ms)); };
    const idle = () => {
      this._heartbeatTimer = null;
      if (this._ws !== ws || !this._welcomed) return;
      const quiet = this._now() - this._lastRxAt;
      if (quiet < every) { arm(idle, every - quiet); return; }
      const seen = this._rxCount;
      this._write(ws, { type: 'ping', id: ++this._pingId });
      arm(() => {
        this._heartbeatTimer = null;
        if (this._ws !== ws || !this._welcomed) return;
        if (this._rxCount !== seen) { idle(); return; }
        const reason = `heartbeat: nothing arrived for ${Math.round(this._now() - this._lastRxAt)} ms (no pong): the connection is dead`;
        this._emit('error', { code: 'heartbeat_timeout', message: reason });
        this._detach(ws);
        try {
          if (typeof ws.terminate === 'function') ws.terminate(); // npm ws: drop the socket now
          else ws.close(4000, 'heartbeat timeout'); // a browser: start the close, wait for nothing
        } catch { /* already closed */ }
        this._onClosed(ws, CloseCodes.abnormal, reason, false);
      }, timeout);
    };
    arm(idle, every);
  }

  /** Numbers the outbox contiguously after `lastSeq` (the last seq the core holds); send() goes on after it. */
  _renumberFrom(lastSeq) {
    this._pending.forEach((p, i) => { p.seq = lastSeq + 1 + i; });
    this._outSeq = lastSeq + this._pending.length;
  }

  /** Rejects a message of the outbox (already removed from it) that will never be sent again, and says so. */
  _fail(p, code, message) {
    p.reject(Object.assign(new Error(message), { code }));
    this._emit('error', { code, message, id: p.id, seq: p.seq, room: p.room, body: p.body });
  }

  /**
   * An error frame. With `seq` (room_forbidden, too_many_rooms for a msg to a room) the core refuses that message and
   * ends the session: it fails, leaves the outbox and is never sent again; the close that follows reconnects as usual.
   */
  _onError(f) {
    const code = typeof f.code === 'string' && f.code ? f.code : 'error';
    const message = typeof f.message === 'string' ? f.message : '';
    const i = Number.isInteger(f.seq) ? this._pending.findIndex(p => p.seq === f.seq) : -1;
    if (i < 0) {
      this._emit('error', { code, message });
      return;
    }

    const [p] = this._pending.splice(i, 1);
    this._fail(p, code, `the core refused the message (${code})${message ? `: ${message}` : ''}; it is not resent`);
  }

  _acknowledge(ack, measure = true) {
    let acked = null;
    while (this._pending.length > 0 && this._pending[0].seq <= ack) {
      acked = this._pending.shift();
      acked.resolve();
    }

    if (acked) {
      if (measure && acked.sentAt !== null) {
        this._rttMs = Math.max(0, this._now() - acked.sentAt);
        this._emit('rtt', { ms: this._rttMs });
      }

      this._emit('ack', { ack, pending: this._pending.length });
    }
  }

  _flush() {
    const ws = this._ws;
    if (!ws || !this._welcomed || ws.readyState !== OPEN) return;
    let wrote = false;
    for (const p of this._pending) {
      if (p.seq <= this._sentUpTo) continue;
      const frame = { type: 'msg', seq: p.seq, ack: this._inSeq };
      if (p.room !== null) frame.room = p.room;
      frame.body = p.body;
      if (!this._write(ws, frame)) return;
      p.sentAt = this._now();
      this._sentUpTo = p.seq;
      wrote = true;
    }

    if (wrote) this._ackSentUpTo = this._inSeq;
  }

  _scheduleAck() {
    if (this._ackTimer) return;
    this._ackTimer = setTimeout(() => {
      this._ackTimer = null;
      const ws = this._ws;
      if (ws && this._welcomed && this._inSeq > this._ackSentUpTo && this._write(ws, { type: 'ack', ack: this._inSeq })) {
        this._ackSentUpTo = this._inSeq;
      }
    }, this._o.ackDelayMs);
  }

  _onClosed(ws, code, reason, byPeer) {
    if (this._ws !== ws) return;
    this._ws = null;
    clearTimeout(this._connectTimer);
    this._connectTimer = null;
    clearTimeout(this._heartbeatTimer);
    this._heartbeatTimer = null;
    const welcomed = this._welcomed;
    this._welcomed = false;
    if (this._stopped) return;
    const detail = { code, reason, byPeer };
    if (code === CloseCodes.normal) {
      // Normal close by the core (e.g. session_taken_over): nothing to do, the session ends here.
      this._finish(reason || 'closed by the core', code);
      return;
    }

    if (!welcomed) this._checkChallenge = true; // Under Attack mode may be why
    // Failures: a connection that was welcomed and lived STABLE_SESSION_MS resets the count. Only such a connection
    // closed by a drain (4001) or a relay/core going away (1001) reconnects at once. Every other close, and any close
    // of a younger one, counts one failure and waits backoff(failures) (also before the next negotiate candidate), so a
    // core that welcomes and then closes at once cannot make a reconnect loop.
    const stable = welcomed && this._now() - this._welcomedAt >= STABLE_SESSION_MS;
    if (stable) this._failures = 0;
    const atOnce = stable && (code === CloseCodes.draining || code === CloseCodes.goingAway);
    if (!atOnce) this._failures++;
    if (this._negotiate) this._noteNegotiatedClose(code);
    switch (code) {
      case CloseCodes.tokenExpired:
        // Ask for a new token (negotiate POST, then the application), then reconnect and resume.
        this._token = null;
        this._tokenReason = 'expired';
        this._keepUrl = true;
        break;
      case CloseCodes.sessionUnknown:
        // The core no longer knows the session: start a fresh one; the outbox is renumbered and resent.
        if (this._session && this._inSeq > 0) this._emit('reset', { reason: reason || 'session unknown to the core', previousSession: this._session });
        this._session = null;
        this._resumeToken = null;
        this._inSeq = 0;
        this._tooBig = null; // the next welcome is a new session's: it cannot tell which message was too big
        this._renumberFrom(0);
        this._keepUrl = true;
        break;
      case CloseCodes.tooBig: {
        // The relay refused a message as too big: one of those written on this connection. The next welcome that
        // resumes names it (the first after its lastSeq); it is dropped then.
        const upTo = welcomed ? this._sentUpTo : this._pipelinedUpTo || 0;
        const written = this._pending.filter(p => p.seq <= upTo).map(p => p.id);
        if (written.length) this._tooBig = new Set(written);
        this._keepUrl = true;
        break;
      }
      default:
        break; // 1001, 1006, 1008, 1011, 1013, 4001 and anything else: reconnect and resume
    }

    if (atOnce) this._reconnectNow(detail);
    else this._scheduleRetry(reason || `closed with ${code}`, detail);
  }

  _scheduleRetry(reason, detail = {}) {
    if (this._stopped) return;
    if (this._failures > this._o.maxReconnectAttempts) {
      this._finish(`gave up after ${this._failures - 1} reconnect attempts: ${reason}`, detail.code ?? CloseCodes.abnormal);
      return;
    }

    const delayMs = backoffDelay(Math.max(1, this._failures), this._o.backoff, this._random);
    this._setState(States.reconnecting, { ...detail, reason, delayMs });
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => { this._retryTimer = null; this._open(); }, delayMs);
  }

  /** After a 4001/1001 of a stable session: at once, another URL (negotiate: the next candidate) first. */
  _reconnectNow(detail) {
    this._setState(States.reconnecting, { ...detail, reason: detail.reason || `closed with ${detail.code}`, delayMs: 0 });
    this._open(true);
  }

  _retryNow() {
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._open();
  }

  _clearTimers() {
    this._abortDial('client stopped');
    this._powAbort?.abort();
    this._powAbort = null;
    clearTimeout(this._retryTimer);
    clearTimeout(this._connectTimer);
    clearTimeout(this._ackTimer);
    clearTimeout(this._heartbeatTimer);
    this._retryTimer = this._connectTimer = this._ackTimer = this._heartbeatTimer = null;
  }

  _finish(reason, code) {
    this._stopped = true;
    this._clearTimers();
    if (this._onOnline && typeof globalThis.removeEventListener === 'function') {
      globalThis.removeEventListener('online', this._onOnline);
      this._onOnline = null;
    }

    const err = Object.assign(new Error(`RelayClient closed: ${reason}`), { code: 'closed' });
    for (const p of this._pending) p.reject(err);
    this._pending = [];
    if (this._firstOpen && !this._firstOpen.settled) {
      this._firstOpen.settled = true;
      this._firstOpen.reject(err);
    }

    this._setState(States.closed, { reason, code });
  }
}

/** What events say about a candidate relay. */
function where(cand) {
  return { url: cand.url, relayId: cand.id, region: cand.region };
}

function now() {
  return typeof performance !== 'undefined' && performance.now ? performance.now() : Date.now();
}

export default RelayClient;
