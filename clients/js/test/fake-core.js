// An in-memory stand-in for the gateway + core, speaking the session protocol of docs/PROTOCOL.md
// the way core-sim does (welcome.lastSeq, acks on every msg, rooms with `from`, echo without a room,
// replay of unacknowledged messages on resume, 4004 for unknown sessions). Tests drive faults on it.

let nextSessionId = 1;

export class FakeCore {
  constructor({ validTokens = null, maxMessageBytes = 65536 } = {}) {
    this.validTokens = validTokens; // null: any token
    this.maxMessageBytes = maxMessageBytes;
    this.sessions = new Map();
    this.sockets = new Set();
    this.opened = []; // every connection attempt: {url, token}
    this.down = new Set(); // URL prefixes that refuse connections (like a dead relay)
    this.stall = new Set(); // URL prefixes whose upgrade never completes (accepted, never answered)
    this.openDelayMs = new Map(); // URL prefix → ms before its upgrade completes (a far relay)
    this.readDelayMs = new Map(); // URL prefix → ms before the core reads each frame sent there (a slow backhaul)
    this.clientClosed = []; // every close() by the client: {url, code, reason, open}
    this.blackhole = false; // drop client messages without processing them (lost in flight)
    this.silent = new Set(); // URL prefixes whose open connections go silent: nothing arrives either way, nothing closes
    this.pings = 0; // pings the core answered
    this.closeAfterWelcome = null; // {code, reason?, times?}: connections are closed right after their welcome (a core that welcomes, then 1013); times: how many (default all)
    this.allowRoom = null; // (sub, room) => boolean: a msg to a refused room ends the session, error {code:'room_forbidden', seq} + 1008 (core-sim's RoomPolicy)
    this.replayAll = false; // on resume, replay every message ever sent (the client must dedupe)
    this.received = []; // bodies the core accepted, in order: {session, seq, body}
    this.sent = []; // every frame clients sent: {type, welcomeSeen}
    this.frames = []; // the same with where it went: {type, welcomeSeen, url, resume, body}
    const core = this;
    this.WebSocket = class extends FakeSocket {
      constructor(url) { super(core, url); }
    };
  }

  /** Closes every open connection with a code (like a drain, 4001, or a crash, 1001/1011). */
  closeAll(code, reason = '') {
    for (const s of [...this.sockets]) s._serverClose(code, reason);
  }

  forgetSessions() { this.sessions.clear(); }

  /** Sends a core message to a session (a push from the core). */
  push(sessionId, body, room) {
    const s = this.sessions.get(sessionId);
    this._deliver(s, { body, room });
  }

  _deliver(s, { body, room, from }) {
    const seq = ++s.outSeq;
    const frame = { type: 'msg', seq, ack: s.inSeq };
    if (room) frame.room = room;
    if (from) frame.from = from;
    frame.body = body;
    s.unacked.push(frame);
    s.history.push(frame);
    s.sock?._toClient({ ...frame, ack: s.inSeq });
  }

  _onClientFrame(sock, text) {
    if (text.length > this.maxMessageBytes) { sock._serverClose(1009, 'message too big'); return; }
    const f = JSON.parse(text);
    if (!sock.session) {
      if (f.type !== 'hello') { sock._serverClose(1008, 'first message must be hello'); return; }
      let s;
      if (f.resume) {
        s = this.sessions.get(f.resume.session);
        if (!s || s.resumeToken !== f.resume.resumeToken) {
          sock._toClient({ type: 'error', code: 'session_unknown', message: 'unknown session' });
          sock._serverClose(4004, 'session unknown');
          return;
        }
        if (s.sock && s.sock !== sock) { s.sock._toClient({ type: 'error', code: 'session_taken_over', message: 'x' }); s.sock._serverClose(1000, 'taken over'); }
        s.unacked = s.unacked.filter(m => m.seq > f.resume.lastSeq);
      } else {
        const id = `s${nextSessionId++}`;
        s = { id, resumeToken: `rt-${id}`, sub: sock.token, inSeq: 0, outSeq: 0, unacked: [], history: [], rooms: new Set() };
        this.sessions.set(id, s);
      }
      s.sock = sock;
      sock.session = s;
      for (const r of f.rooms || []) s.rooms.add(r);
      sock._toClient({ type: 'welcome', session: s.id, resumeToken: s.resumeToken, lastSeq: s.inSeq, resumed: !!f.resume });
      const replay = f.resume && this.replayAll ? s.history : s.unacked;
      for (const m of replay) sock._toClient({ ...m, ack: s.inSeq });
      const cw = this.closeAfterWelcome;
      if (cw && cw.times !== 0) {
        if (cw.times > 0) cw.times--;
        setImmediate(() => sock._serverClose(cw.code, cw.reason ?? ''));
      }
      return;
    }
    if (sock.ended) return; // the session was ended on this connection: nothing more is read
    const s = sock.session;
    if (f.type === 'ping') { this.pings++; sock._toClient(f.id === undefined ? { type: 'pong' } : { type: 'pong', id: f.id }); return; }
    if (typeof f.ack === 'number') s.unacked = s.unacked.filter(m => m.seq > f.ack);
    if (f.type !== 'msg') return;
    if (this.blackhole) return;
    if (f.seq <= s.inSeq) { sock._toClient({ type: 'ack', ack: s.inSeq }); return; }
    if (f.seq !== s.inSeq + 1) { sock._toClient({ type: 'error', code: 'seq_gap', message: 'gap' }); sock._serverClose(1008, 'seq gap'); return; }
    if (f.room && this.allowRoom && !this.allowRoom(s.sub, f.room)) {
      // core-sim: the session ends for good (a resume gets 4004); the error names the refused message, then 1008.
      sock.ended = true;
      this.sessions.delete(s.id);
      sock._toClient({ type: 'error', code: 'room_forbidden', message: 'this token may not join that room', seq: f.seq });
      setImmediate(() => sock._serverClose(1008, 'room forbidden'));
      return;
    }
    s.inSeq = f.seq;
    this.received.push({ session: s.id, seq: f.seq, body: f.body });
    if (f.room) {
      s.rooms.add(f.room);
      for (const other of this.sessions.values()) {
        if (other !== s && other.rooms.has(f.room)) this._deliver(other, { body: f.body, room: f.room, from: s.sub });
      }
      sock._toClient({ type: 'ack', ack: s.inSeq });
    } else {
      this._deliver(s, { body: f.body });
    }
  }
}

/** A websocket with the browser API, connected to a FakeCore. Everything happens on later ticks, like a network. */
class FakeSocket {
  constructor(core, url) {
    this.core = core;
    this.url = url;
    this.readyState = 0;
    this.onopen = this.onmessage = this.onerror = this.onclose = null;
    const u = new URL(url);
    this.token = u.searchParams.get('access_token');
    core.opened.push({ url: url.split('?')[0], token: this.token });
    const base = url.split('?')[0];
    const delay = [...core.openDelayMs].find(([d]) => base.startsWith(d))?.[1] ?? 0;
    const start = () => {
      if (this.readyState !== 0) return;
      if ([...core.stall].some(d => base.startsWith(d))) return;
      const refused = [...core.down].some(d => base.startsWith(d)) || (core.validTokens && !core.validTokens.has(this.token));
      if (refused) { this._closed(1006, ''); return; }
      this.readyState = 1;
      core.sockets.add(this);
      this.onopen?.({});
    };
    if (delay) setTimeout(start, delay); else setImmediate(start);
  }

  send(data) {
    if (this.readyState !== 1) throw new Error('not open');
    // What the client had seen when it sent this frame: lets tests tell pipelined messages from waiting ones.
    const f = JSON.parse(data);
    this.core.sent.push({ type: f.type, welcomeSeen: !!this.welcomeSeen });
    this.core.frames.push({ type: f.type, welcomeSeen: !!this.welcomeSeen, url: this.url.split('?')[0], resume: !!f.resume, body: f.body });
    const base = this.url.split('?')[0];
    const delay = [...this.core.readDelayMs].find(([d]) => base.startsWith(d))?.[1] ?? 0;
    const deliver = () => { if (this.readyState === 1 && !this._silent()) this.core._onClientFrame(this, data); };
    if (delay) setTimeout(deliver, delay); else setImmediate(deliver);
  }

  close(code = 1000, reason = '') {
    if (this.readyState >= 2) return;
    this.core.clientClosed.push({ url: this.url.split('?')[0], code, reason, open: this.readyState === 1 });
    this.readyState = 2;
    setImmediate(() => this._closed(code, reason));
  }

  _silent() { return [...this.core.silent].some(d => this.url.split('?')[0].startsWith(d)); }

  _toClient(obj) {
    if (this.readyState !== 1) return;
    const text = JSON.stringify(obj);
    setImmediate(() => {
      // Frames the core wrote before it closed arrive before the close (as over TCP).
      if (!(this.readyState === 1 || (this.readyState === 2 && this._serverClosing)) || this._silent()) return;
      if (obj.type === 'welcome') this.welcomeSeen = true;
      this.onmessage?.({ data: text });
    });
  }

  _serverClose(code, reason) {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    this._serverClosing = true;
    setImmediate(() => this._closed(code, reason));
  }

  _closed(code, reason) {
    this.readyState = 3;
    this.core.sockets.delete(this);
    if (this.session && this.session.sock === this) this.session.sock = null;
    this.onclose?.({ code, reason, wasClean: code !== 1006 });
  }
}

/** Waits until predicate() is true (polling every 5 ms), at most timeoutMs. */
export async function until(predicate, timeoutMs = 3000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return;
    await new Promise(r => setTimeout(r, 5));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
