// Third-party client interop: the npm `ws` package speaks the Relay session protocol
// (PROTOCOL.md: hello/welcome, msg with seq/ack, ack, resume) through a gateway.
//
//   RELAY_TOKEN_A=... RELAY_TOKEN_B=... node ws-session.mjs --url ws://127.0.0.1:8080/ws [--resume-url ws://127.0.0.1:8090/ws]
//   node ws-session.mjs --url ws://127.0.0.1:8080/ws --token-url http://127.0.0.1:7080/v1/tokens --admin-key CORE_ADMIN_KEY
//
// A (visitor) and B (operator) chat in a room; A asks for echoes; A's connection is cut
// (TCP abort, no close handshake) with messages unacknowledged both ways while B keeps
// writing; A resumes through --resume-url; then A is cut again between hello and welcome
// and resumes through --url. Every message must reach the application exactly once, in order.
// Prints progress lines, then one line `RESULT {json}`; exit code 0 only if nothing was lost,
// duplicated or reordered. Bounded: every wait has a deadline; the whole run at most --timeout s.
import { createRequire } from 'node:module';
import WebSocket from 'ws';

const wsPackage = createRequire(import.meta.url)('ws/package.json');

const args = parseArgs(process.argv.slice(2));
const url = args.url ?? 'ws://127.0.0.1:8080/ws';
const resumeUrl = args['resume-url'] ?? url;
const timeoutSeconds = Number(args.timeout ?? 45);
const visitor = 'interop-visitor';
const room = visitor; // a visitor may join only its own support room, named by its sub

const deadline = setTimeout(() => finish(false, `timed out after ${timeoutSeconds} s`), timeoutSeconds * 1000);
deadline.unref();

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
    out[argv[i].slice(2)] = argv[++i];
  }
  return out;
}

function log(...parts) {
  console.log(`[interop] ${parts.join(' ')}`);
}

let finished = false;
const sessions = [];

function finish(ok, reason, extra = {}) {
  if (finished) return;
  finished = true;
  for (const s of sessions) s.abort();
  const result = { ok, reason, ...extra, client: `ws@${wsPackage.version}`, node: process.version };
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exitCode = ok ? 0 : 1;
  setTimeout(() => process.exit(process.exitCode), 50).unref();
}

async function token(sub, role, envName) {
  if (process.env[envName]) return process.env[envName];
  if (!args['token-url']) throw new Error(`set ${envName} or pass --token-url`);
  const r = await fetch(args['token-url'], {
    method: 'POST',
    // core-sim mints operator tokens (and, outside Development, any token) only with its admin key.
    headers: { 'content-type': 'application/json', ...(args['admin-key'] ? { authorization: `Bearer ${args['admin-key']}` } : {}) },
    body: JSON.stringify({ sub, site: 'interop', role }),
  });
  if (!r.ok) throw new Error(`token: HTTP ${r.status}`);
  return (await r.json()).token;
}

/** One session of the protocol, over any number of websocket connections. */
class Session {
  constructor(name, tokenValue, rooms) {
    this.name = name;
    this.token = tokenValue;
    this.rooms = rooms;
    this.ws = null;
    this.id = null;
    this.resumeToken = null;
    this.outSeq = 0; // last seq this side assigned
    this.pending = []; // {seq, room, body} not yet acknowledged by the core
    this.inSeq = 0; // highest core seq delivered to the application
    this.delivered = []; // what the application saw, in order
    this.replaysDropped = 0; // seq <= inSeq seen again on the wire (dropped, per the protocol)
    this.gaps = 0; // seq > inSeq + 1: a protocol violation
    this.welcomes = [];
    this.closes = [];
    this.errors = [];
    this.waiters = new Set();
    sessions.push(this);
  }

  /** Opens a connection, sends the hello (a resume when we hold a session) and waits for the welcome. */
  async connect(target, { cutAfterHello = false } = {}) {
    const ws = new WebSocket(`${target}?access_token=${encodeURIComponent(this.token)}`, { handshakeTimeout: 10_000 });
    this.ws = ws;
    let welcomed = false;
    ws.on('message', (data, isBinary) => {
      if (ws !== this.ws || isBinary) return;
      let frame;
      try {
        frame = JSON.parse(data.toString('utf8'));
      } catch {
        this.errors.push('unparseable frame');
        return;
      }
      if (frame.type === 'welcome') welcomed = true;
      this.onFrame(frame);
    });
    ws.on('close', (code) => {
      this.closes.push(code);
      this.notify();
    });
    ws.on('error', (e) => this.errors.push(String(e.message ?? e)));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode} before the upgrade`)));
    });
    const hello = { type: 'hello' };
    if (this.id) hello.resume = { session: this.id, resumeToken: this.resumeToken, lastSeq: this.inSeq };
    if (this.rooms.length) hello.rooms = this.rooms;
    ws.send(JSON.stringify(hello));
    if (cutAfterHello) {
      this.cut();
      return;
    }
    await this.until(() => welcomed, `${this.name}: welcome`);
  }

  onFrame(frame) {
    if (typeof frame.ack === 'number') this.pending = this.pending.filter((p) => p.seq > frame.ack);
    switch (frame.type) {
      case 'welcome': {
        this.id = frame.session;
        this.resumeToken = frame.resumeToken;
        // The core holds everything up to lastSeq: forget it, resend the rest in order.
        this.pending = this.pending.filter((p) => p.seq > frame.lastSeq);
        this.welcomes.push({ resumed: frame.resumed, lastSeq: frame.lastSeq, resent: this.pending.length });
        for (const p of this.pending) this.write(p);
        break;
      }
      case 'msg':
        if (frame.seq <= this.inSeq) {
          this.replaysDropped++;
        } else {
          if (frame.seq !== this.inSeq + 1) this.gaps++;
          this.inSeq = frame.seq;
          this.delivered.push({ seq: frame.seq, room: frame.room ?? null, from: frame.from ?? null, body: frame.body });
        }
        this.ws.send(JSON.stringify({ type: 'ack', ack: this.inSeq }));
        break;
      case 'error':
        this.errors.push(`${frame.code}: ${frame.message}`);
        break;
      default:
        break; // ack (handled above) and unknown types
    }
    this.notify();
  }

  send(body, room) {
    const p = { seq: ++this.outSeq, room, body };
    this.pending.push(p);
    if (this.ws?.readyState === WebSocket.OPEN) this.write(p);
  }

  write(p) {
    const frame = { type: 'msg', seq: p.seq, ack: this.inSeq, body: p.body };
    if (p.room) frame.room = p.room;
    this.ws.send(JSON.stringify(frame));
  }

  /** A network failure: no close handshake. */
  cut() {
    this.ws?.terminate();
  }

  abort() {
    this.ws?.terminate();
  }

  async close() {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close(1000, 'bye');
    await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
  }

  notify() {
    for (const w of this.waiters) w();
  }

  until(predicate, what, ms = 15_000) {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate()) {
          this.waiters.delete(check);
          clearTimeout(timer);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${what}: not within ${ms} ms (closes ${JSON.stringify(this.closes)}, errors ${JSON.stringify(this.errors)})`));
      }, ms);
      this.waiters.add(check);
    });
  }

  bodies(filter) {
    return this.delivered.filter(filter).map((m) => m.body);
  }
}

const range = (from, to, f) => Array.from({ length: to - from + 1 }, (_, i) => f(from + i));
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

async function main() {
  const a = new Session('A', await token(visitor, 'visitor', 'RELAY_TOKEN_A'), [room]);
  const b = new Session('B', await token('interop-operator', 'operator', 'RELAY_TOKEN_B'), [room]);

  await a.connect(url);
  await b.connect(url);
  log(`connected A session=${a.id} and B session=${b.id} through ${url}; room ${room}`);

  // Chat both ways.
  for (let i = 1; i <= 5; i++) a.send(`A says ${i}`, room);
  for (let i = 1; i <= 5; i++) b.send(`B says ${i}`, room);
  await b.until(() => b.delivered.length >= 5, 'B: five room messages from A');
  await a.until(() => a.delivered.length >= 5, 'A: five room messages from B');
  log(`chat: A got ${a.delivered.length}, B got ${b.delivered.length} room messages`);

  // Echo (no room).
  for (let i = 1; i <= 10; i++) a.send(`echo ${i}`);
  await a.until(() => a.bodies((m) => m.room === null).length >= 10, 'A: ten echoes');
  await a.until(() => a.pending.length === 0, 'A: everything acknowledged');

  // Unacknowledged both ways, then the network drops: three sends go out with the cut right behind them,
  // two more are written while A is offline (they must go after the resume); B writes five to A meanwhile.
  for (let i = 11; i <= 13; i++) a.send(`echo ${i}`);
  a.cut();
  for (let i = 14; i <= 15; i++) a.send(`echo ${i}`);
  const unackedAtCut = a.pending.length;
  await a.until(() => a.closes.length >= 1, 'A: connection gone');
  for (let i = 6; i <= 10; i++) b.send(`B says ${i} while A is away`, room);
  await b.until(() => b.pending.length === 0, 'B: core holds the away messages');
  log(`cut A with ${unackedAtCut} messages unacknowledged; B wrote 5 while A was away`);

  // Resume, through the other gateway when given.
  await a.connect(resumeUrl);
  const firstResume = a.welcomes.at(-1);
  log(`A resumed through ${resumeUrl}: resumed=${firstResume.resumed} core lastSeq=${firstResume.lastSeq}, resent ${firstResume.resent}`);
  await a.until(() => a.bodies((m) => m.room === null).length >= 15 && a.delivered.length >= 25, 'A: the echoes and the away messages');

  // Cut again between hello and welcome; resume through the first URL.
  a.send('echo 16');
  a.cut();
  await a.until(() => a.closes.length >= 2, 'A: connection gone again');
  await a.connect(resumeUrl, { cutAfterHello: true });
  await a.until(() => a.closes.length >= 3, 'A: second connection gone');
  await a.connect(url);
  for (let i = 17; i <= 20; i++) a.send(`echo ${i}`);
  await a.until(() => a.bodies((m) => m.room === null).length >= 20, 'A: all twenty echoes');
  await a.until(() => a.pending.length === 0, 'A: everything acknowledged at the end');
  log(`A resumed again through ${url} after a cut before the welcome`);

  await a.close();
  await b.close();

  const echoes = a.bodies((m) => m.room === null);
  const fromB = a.bodies((m) => m.room === room);
  const fromA = b.bodies((m) => m.room === room);
  const expectEchoes = range(1, 20, (i) => `echo ${i}`);
  const expectFromB = [...range(1, 5, (i) => `B says ${i}`), ...range(6, 10, (i) => `B says ${i} while A is away`)];
  const expectFromA = range(1, 5, (i) => `A says ${i}`);
  const lost = countMissing(echoes, expectEchoes) + countMissing(fromB, expectFromB) + countMissing(fromA, expectFromA);
  const duplicated = countDuplicates(echoes) + countDuplicates(fromB) + countDuplicates(fromA);
  const inOrder = same(echoes, expectEchoes) && same(fromB, expectFromB) && same(fromA, expectFromA);
  const resumedAll = a.welcomes.slice(1).every((w) => w.resumed === true);
  const senderOk = a.delivered.filter((m) => m.room === room).every((m) => m.from === 'interop-operator');
  const ok = a.welcomes[1].resent >= 2 && lost === 0 && duplicated === 0 && inOrder && resumedAll && senderOk && a.gaps === 0 && b.gaps === 0;
  finish(ok, ok ? 'every message exactly once, in order, across two cuts' : 'mismatch', {
    echoes: echoes.length,
    roomToA: fromB.length,
    roomToB: fromA.length,
    lost,
    duplicated,
    inOrder,
    resumes: a.welcomes.length - 1,
    resumedAll,
    fromField: senderOk,
    replaysDropped: a.replaysDropped,
    gaps: a.gaps + b.gaps,
    unackedAtCut,
    resentAfterResume: a.welcomes.slice(1).reduce((n, w) => n + w.resent, 0),
    closesA: a.closes,
    errors: [...a.errors, ...b.errors].filter((e) => !e.includes('closed before the connection')),
  });
}

function countMissing(got, expected) {
  const have = new Set(got);
  return expected.filter((x) => !have.has(x)).length;
}

function countDuplicates(got) {
  return got.length - new Set(got).size;
}

main().catch((e) => finish(false, String(e?.message ?? e)));
