// GENERATED from relay-client.js by scripts/build-global.mjs — do not edit.
// Classic script: <script src="relay-client.global.js"></script> then new RelayClient({...}) (also RelayClient.States, .CloseCodes).
(function (global) {
'use strict';
// Relay JavaScript client: the session protocol of docs/PROTOCOL.md over a websocket.
// Dependency-free ES module for browsers (global WebSocket) and Node (pass `WebSocket` in the options,
// e.g. the one from the npm package `ws`). relay-client.global.js is generated from this file
// (scripts/build-global.mjs) for a classic <script> tag: window.RelayClient.
//
//   const client = new RelayClient({ urls: ['wss://sg.example/ws', 'wss://syd.example/ws'], token: () => fetchToken() });
//   client.on('message', m => console.log(m.from, m.body));
//   client.on('state', s => console.log(s.state));
//   await client.connect();
//   client.send({ text: 'hi' }, { room: 'support-42' });

/** Connection states, in the order a client usually sees them. */
const States = Object.freeze({
  idle: 'idle',
  connecting: 'connecting',
  open: 'open',
  reconnecting: 'reconnecting',
  closed: 'closed',
});

/** Close codes of PROTOCOL.md. */
const CloseCodes = Object.freeze({
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
};

/** Reads the `exp` claim (seconds) of a JWT without verifying it; null when it is not a JWT. */
function tokenExpiry(token) {
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
function backoffDelay(failures, { initialMs, maxMs, factor }, random = Math.random) {
  const base = Math.min(maxMs, initialMs * Math.pow(factor, Math.max(0, failures - 1)));
  return Math.round(base / 2 + random() * base / 2);
}

function withToken(url, token, pow) {
  const sep = url.includes('?') ? '&' : '?';
  return `${url}${sep}access_token=${encodeURIComponent(token)}` + (pow ? `&pow=${encodeURIComponent(pow)}` : '');
}

/** Leading zero bits of a hash (a Uint8Array). */
function leadingZeroBits(bytes) {
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
const solveChallenge = async (challenge, difficulty, { crypto = globalThis.crypto, signal, batch = 512 } = {}) => {
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

/** A session with the chat core, kept across websocket connections. */
class RelayClient {
  /**
   * @param {object} options see relay-client.d.ts (RelayClientOptions)
   */
  constructor(options) {
    if (!options) throw new TypeError('RelayClient: options are required');
    const o = { ...DEFAULTS, ...options, backoff: { ...DEFAULTS.backoff, ...(options.backoff || {}) } };
    if (!o.urls && !o.url) throw new TypeError('RelayClient: options.urls (array or function) or options.url is required');
    if (!o.token) throw new TypeError('RelayClient: options.token (string or function) is required');
    this._o = o;
    this._WebSocket = o.WebSocket || globalThis.WebSocket;
    if (typeof this._WebSocket !== 'function') {
      throw new TypeError('RelayClient: no WebSocket implementation; in Node pass { WebSocket } from the npm package "ws"');
    }
    this._random = o.random || Math.random;
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
    this._retryTimer = null;
    this._connectTimer = null;
    this._attempt = 0;
    this._failures = 0;
    this._urlIndex = -1;
    this._dropFirstAfterWelcome = false;
    this._stopped = false;
    this._url = null;
    this._rttMs = null;
    this._firstOpen = null;
    this._onOnline = null;
    this._tokenReason = null;
    this._checkChallenge = false; // after a connect that failed before the welcome: Under Attack mode may be on
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

  /** Adds a listener: state, connecting, open, reconnecting, closed, message, ack, error, rtt, reset. Returns an unsubscribe function. */
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
      this._onOnline = () => { if (this._state === States.reconnecting && !this._ws) this._retryNow(); };
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

  /** Ends the session's connection with 1000 and stops reconnecting. Unacknowledged messages are rejected. */
  close(reason = 'client closed') {
    this._stopped = true;
    this._clearTimers();
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      this._detach(ws);
      try { ws.close(1000, reason); } catch { /* already closed */ }
    }

    this._finish(reason, 1000);
  }

  // ---- connection lifecycle ----

  _setState(state, detail) {
    const previous = this._state;
    this._state = state;
    const d = { state, previous, url: this._url, ...detail };
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
    if (this._urlIndex < 0) this._urlIndex = 0;
    else if (preferOther || this._failures > 0) this._urlIndex = (this._urlIndex + 1) % list.length;
    return list[this._urlIndex];
  }

  async _getToken(reason) {
    const expiry = tokenExpiry(this._token);
    if (this._token && expiry !== null && expiry - Date.now() < this._o.tokenRefreshSkewMs && typeof this._o.token === 'function') {
      this._token = null;
      reason = 'expiring';
    }

    if (!this._token) {
      if (typeof this._o.token !== 'function') {
        throw Object.assign(new Error('the token expired or was revoked and options.token is not a function'), { code: 'token_expired' });
      }

      const t = await this._o.token({ reason });
      if (typeof t !== 'string' || !t) throw Object.assign(new Error('the token provider returned no token'), { code: 'token_unavailable' });
      this._token = t;
    }

    return this._token;
  }

  async _open(preferOther = false) {
    if (this._stopped) return;
    const attempt = ++this._attempt;
    const tokenReason = this._tokenReason || (attempt === 1 ? 'initial' : 'reconnect');
    this._tokenReason = null;
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
      // A fresh session sends what is already in the outbox right behind the hello instead of waiting a
      // round trip for the welcome (the core reads the socket in order). A resume waits: the welcome
      // says what the core already holds.
      this._pipelinedUpTo = 0;
      if (!this._session && this._pending.every((p, i) => p.seq === i + 1)) {
        for (const p of this._pending) {
          const frame = { type: 'msg', seq: p.seq, ack: 0 };
          if (p.room !== null) frame.room = p.room;
          frame.body = p.body;
          if (!this._write(ws, frame)) break;
          p.sentAt = now();
          this._pipelinedUpTo = p.seq;
        }
      }
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

  /**
   * Under Attack mode: a browser sees a refused upgrade only as a failed connect, so after one the client asks the
   * gateway (GET /challenge). When the mode is on it solves the challenge ('challenge' events: solving, solved)
   * and returns `<challenge>.<nonce>` for the next connect; otherwise null.
   */
  async _solveChallenge(url) {
    const fetchFn = this._o.fetch || globalThis.fetch;
    if (typeof fetchFn !== 'function') return null;
    let c;
    try {
      const r = await fetchFn((this._o.challengeUrl || challengeUrlOf)(url), { cache: 'no-store' });
      if (!r.ok) return null;
      c = await r.json();
    } catch {
      return null; // no such endpoint (not a relay, or an older one): connect as before
    }

    if (!c || !c.underAttack || typeof c.challenge !== 'string' || !(c.difficulty > 0 && c.difficulty <= 32)) return null;
    const started = now();
    this._emit('challenge', { state: 'solving', difficulty: c.difficulty, url });
    try {
      const nonce = await solveChallenge(c.challenge, c.difficulty, { crypto: this._o.crypto || globalThis.crypto });
      this._emit('challenge', { state: 'solved', difficulty: c.difficulty, url, ms: Math.round(now() - started) });
      return `${c.challenge}.${nonce}`;
    } catch (e) {
      this._emit('error', { code: e?.code || 'challenge_failed', message: String(e?.message || e) });
      return null;
    }
  }

  _detach(ws) {
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
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
    let f;
    try {
      f = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data));
    } catch {
      this._emit('error', { code: 'bad_frame', message: 'the core sent a frame that is not JSON' });
      return;
    }

    if (!this._welcomed) {
      if (f.type === 'welcome') this._onWelcome(ws, f);
      else if (f.type === 'error') this._emit('error', { code: f.code || 'error', message: f.message || '' });
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
        this._emit('error', { code: f.code || 'error', message: f.message || '' });
        if (f.code === 'session_taken_over') this._takenOver = true;
        break;
      default:
        break; // 'ack' handled above; unknown types ignored
    }
  }

  _onWelcome(ws, w) {
    clearTimeout(this._connectTimer);
    this._connectTimer = null;
    this._welcomed = true;
    const resumed = !!w.resumed;
    if (!resumed) {
      if (this._session && this._inSeq > 0) this._emit('reset', { reason: 'the core started a fresh session', previousSession: this._session });
      this._inSeq = 0;
      this._renumber();
    }

    this._session = w.session;
    this._resumeToken = w.resumeToken;
    const lastSeq = resumed && typeof w.lastSeq === 'number' ? w.lastSeq : 0;
    if (resumed) this._acknowledge(lastSeq, false);
    if (this._dropFirstAfterWelcome && this._pending.length > 0) {
      // 1009: the core holds everything up to lastSeq, so the first message left is the one that was too big.
      const p = this._pending.shift();
      for (const q of this._pending) q.seq--;
      this._outSeq--;
      const err = Object.assign(new Error('the message was refused as too big (1009) and is not resent'), { code: 'message_too_big' });
      p.reject(err);
      this._emit('error', { code: 'message_too_big', message: err.message, id: p.id, seq: p.seq, body: p.body });
    }

    this._dropFirstAfterWelcome = false;
    this._sentUpTo = resumed ? lastSeq : Math.max(lastSeq, this._pipelinedUpTo || 0);
    this._ackSentUpTo = resumed ? this._inSeq : 0;
    this._failures = 0;
    this._setState(States.open, { session: this._session, resumed });
    if (this._firstOpen && !this._firstOpen.settled) {
      this._firstOpen.settled = true;
      this._firstOpen.resolve({ session: this._session, resumed });
    }

    this._flush();
  }

  _renumber() {
    this._pending.forEach((p, i) => { p.seq = i + 1; });
    this._outSeq = this._pending.length;
  }

  _acknowledge(ack, measure = true) {
    let acked = null;
    while (this._pending.length > 0 && this._pending[0].seq <= ack) {
      acked = this._pending.shift();
      acked.resolve();
    }

    if (acked) {
      if (measure && acked.sentAt !== null) {
        this._rttMs = Math.max(0, now() - acked.sentAt);
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
      p.sentAt = now();
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
    const welcomed = this._welcomed;
    this._welcomed = false;
    if (this._stopped) return;
    if (!welcomed) {
      this._failures++;
      this._checkChallenge = true;
    }
    const detail = { code, reason, byPeer };
    switch (code) {
      case CloseCodes.normal:
        // Normal close by the core (e.g. session_taken_over): nothing to do, the session ends here.
        this._finish(reason || 'closed by the core', code);
        return;
      case CloseCodes.draining:
        // The relay is draining: reconnect at once (another URL first) and resume.
        this._reconnectNow(detail, true);
        return;
      case CloseCodes.tokenExpired:
        // Ask the application for a new token, then reconnect and resume.
        this._token = null;
        this._tokenReason = 'expired';
        this._reconnectNow(detail, false);
        return;
      case CloseCodes.sessionUnknown:
        // The core no longer knows the session: start a fresh one; the outbox is renumbered and resent.
        if (this._session && this._inSeq > 0) this._emit('reset', { reason: reason || 'session unknown to the core', previousSession: this._session });
        this._session = null;
        this._resumeToken = null;
        this._inSeq = 0;
        this._renumber();
        this._reconnectNow(detail, false);
        return;
      case CloseCodes.tooBig:
        this._dropFirstAfterWelcome = true;
        this._failures = Math.max(this._failures, 1);
        this._scheduleRetry(reason || 'message too big', detail);
        return;
      default:
        // 1001, 1006, 1008, 1011, 1013 and anything else: back off, reconnect, resume.
        if (welcomed) this._failures = Math.max(this._failures, 1);
        this._scheduleRetry(reason || `closed with ${code}`, detail);
    }
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

  _reconnectNow(detail, preferOther) {
    // Immediate, unless these closes keep coming before any welcome (a loop): then back off.
    if (this._failures >= 2) {
      this._scheduleRetry(detail.reason || `closed with ${detail.code}`, detail);
      return;
    }

    this._setState(States.reconnecting, { ...detail, delayMs: 0 });
    this._open(preferOther);
  }

  _retryNow() {
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._open();
  }

  _clearTimers() {
    clearTimeout(this._retryTimer);
    clearTimeout(this._connectTimer);
    clearTimeout(this._ackTimer);
    this._retryTimer = this._connectTimer = this._ackTimer = null;
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

function now() {
  return typeof performance !== 'undefined' && performance.now ? performance.now() : Date.now();
}

RelayClient.RelayClient = RelayClient;
RelayClient.States = States;
RelayClient.CloseCodes = CloseCodes;
RelayClient.tokenExpiry = tokenExpiry;
RelayClient.backoffDelay = backoffDelay;
RelayClient.leadingZeroBits = leadingZeroBits;
RelayClient.solveChallenge = solveChallenge;
global.RelayClient = RelayClient;
})(typeof globalThis !== 'undefined' ? globalThis : this);
