// TypeScript declarations for relay-client.js (the Relay session protocol client).

export type RelayState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export declare const States: Readonly<Record<RelayState, RelayState>>;

export declare const CloseCodes: Readonly<{
  normal: 1000; goingAway: 1001; abnormal: 1006; policy: 1008; tooBig: 1009;
  internalError: 1011; tryAgainLater: 1013; draining: 4001; tokenExpired: 4003; sessionUnknown: 4004;
}>;

/** Why the token provider is asked: first connect, a reconnect, the token expires soon, or the gateway closed with 4003. */
export type TokenReason = 'initial' | 'reconnect' | 'expiring' | 'expired';

/** A websocket constructor with the browser API (the global WebSocket, or `ws` in Node). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface BackoffOptions {
  /** First delay, ms (default 250). */
  initialMs?: number;
  /** Largest delay, ms (default 15000). */
  maxMs?: number;
  /** Growth per failure (default 2). Equal jitter: half the delay is random. */
  factor?: number;
}

/** Storage for remembered handshake times (localStorage's shape). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export interface RelayClientOptions {
  /**
   * Negotiate mode (instead of fixed urls): GET this URL (core-sim's or a gateway's /v1/negotiate) for an ordered list
   * of relays; connect to relays[0], race relays[1] when no welcome within raceAfterMs; on failure the next candidate
   * after the backoff (at once only after a 4001 or 1001 of a session that lived 5 s); re-fetched when every relay
   * listed has been tried or the answer is older than negotiateMaxAgeMs. With `urls` too, those are the fallback while
   * negotiate cannot be fetched.
   */
  negotiateUrl?: string;
  /** Negotiate mode: with no welcome (a resume: no open websocket) this long, also open the next candidate; the first welcome wins (default 250; Infinity: no race). */
  raceAfterMs?: number;
  /** Negotiate mode: re-fetch the list when it is older than this before a connect, ms (default 60000). */
  negotiateMaxAgeMs?: number;
  /** Negotiate mode: when the token expires (4003, or a JWT near its exp) POST negotiate with it as bearer for a fresh one first (default true). */
  tokenFromNegotiate?: boolean;
  /** Negotiate mode: measured handshake times by URL (default: one Map shared by the page's clients). */
  rttMemory?: Map<string, { ms: number; at: number }>;
  /** Negotiate mode: where handshake times persist (default localStorage when there is one; null: memory only). */
  rttStorage?: StorageLike | null;
  /** Websocket URLs (ws[s]://host/ws) tried in turn, or a function returning the URL(s) to use for an attempt (a steering layer). */
  urls?: string | string[] | ((ctx: { attempt: number; previous: string | null }) => string | string[] | Promise<string | string[]>);
  /** A single URL (same as urls: [url]). */
  url?: string;
  /** The access token, or a function that returns one (called at start, when a JWT is about to expire, and after close 4003). */
  token: string | ((ctx: { reason: TokenReason }) => string | Promise<string>);
  /** Websocket implementation; defaults to globalThis.WebSocket. In Node: `import WebSocket from 'ws'`. */
  WebSocket?: WebSocketConstructor;
  /** Rooms to join in every hello (receive room messages before sending to the room). */
  rooms?: string[];
  /** Time from opening a websocket to the welcome, ms (default 10000). */
  connectTimeoutMs?: number;
  backoff?: BackoffOptions;
  /**
   * Consecutive failures before the client gives up and closes (default Infinity). A failure: a connect that fails
   * before its welcome, or any close but a 4001/1001 of a session that lived 5 s (which also resets the count).
   */
  maxReconnectAttempts?: number;
  /** Unacknowledged messages held at most; send() throws beyond it (default 1000). */
  outboxLimit?: number;
  /** Largest message, bytes of JSON; send() refuses bigger ones at once (default 65536, the gateway's cap). */
  maxMessageBytes?: number;
  /** Delay before a standalone ack is sent, ms (default 20). */
  ackDelayMs?: number;
  /**
   * Liveness (PROTOCOL.md): when nothing has arrived for this long, send a session `ping` (the core answers `pong`), ms
   * (default 5000; 0 turns the heartbeat off). A silent path (packets dropped, no reset) is otherwise never noticed.
   */
  heartbeatMs?: number;
  /**
   * When nothing at all has arrived this long after a heartbeat ping, the connection is dead: dropped without waiting
   * for a close handshake and handled as a lost connection (code 1006; an 'error' event with code 'heartbeat_timeout'):
   * resume after the backoff, in negotiate mode on the next candidate. ms (default 4000).
   */
  heartbeatTimeoutMs?: number;
  /** Refresh a JWT this long before its exp, ms (default 30000; needs token to be a function). */
  tokenRefreshSkewMs?: number;
  /** Random source for jitter (tests). */
  random?: () => number;
  /** Clock, ms (monotonic), for session ages, handshake times and the heartbeat; defaults to performance.now (tests). */
  now?: () => number;
  /** fetch for negotiate and the Under Attack challenge (GET /challenge after a failed connect); defaults to globalThis.fetch. */
  fetch?: (url: string, init?: object) => Promise<{ ok: boolean; status?: number; json(): Promise<any>; text?(): Promise<string>; headers?: { get(name: string): string | null } }>;
  /** The challenge URL for a websocket URL; defaults to ws[s]://host/… → http[s]://host/challenge. */
  challengeUrl?: (wsUrl: string) => string;
  /** WebCrypto used to solve a challenge; defaults to globalThis.crypto (Node 18: require('node:crypto').webcrypto). */
  crypto?: { subtle: { digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer> } };
}

/** Under Attack mode: the gateway asked for proof of work; the client is solving it, or has. */
export interface ChallengeEvent {
  state: 'solving' | 'solved';
  /** Leading zero bits the solution needs (about 2^difficulty SHA-256). */
  difficulty: number;
  url: string;
  /** solved: how long it took, ms. */
  ms?: number;
}

/** Leading zero bits of a hash. */
export declare function leadingZeroBits(bytes: Uint8Array): number;

/** The smallest decimal nonce with SHA-256(challenge + nonce) starting with `difficulty` zero bits (WebCrypto). */
export declare function solveChallenge(challenge: string, difficulty: number, options?: { crypto?: RelayClientOptions['crypto']; signal?: AbortSignal; batch?: number }): Promise<string>;

/** A relay of a negotiate answer (GET /v1/negotiate). */
export interface NegotiateRelay {
  id: string;
  region: string | null;
  /** ws:// or wss:// */
  url: string;
  weight: number | null;
  /** healthy or degraded; sick only when no relay anywhere is healthy or degraded */
  state: string | null;
  sessions: number | null;
}

/** A parsed negotiate answer. */
export interface NegotiateAnswer {
  /** The caller's region. */
  region: string | null;
  /** Why this region (human-readable, e.g. "address 10.71.1.5 is in sg (10.71.1.0/24)"). */
  reason: string;
  /** Best first: own region, then the fallback regions; by weight within a region. At most 32. */
  relays: NegotiateRelay[];
  /** A fresh token (POST with a bearer token), else null. */
  token: string | null;
  /** A relay's answer: the core's negotiate URL that mints tokens, else null. */
  tokenUrl: string | null;
}

/** Where a relay is: what events say about a candidate. */
export interface RelayPlace {
  url: string;
  relayId: string;
  region: string | null;
}

/** The relay a negotiated session is on, and why. */
export interface RelayInfo extends RelayPlace {
  /** The negotiate answer's reason (or why the fixed urls are used). */
  reason: string;
  /** When a second socket was raced on this connect: who won, who was closed (1000). */
  race: { winner: RelayPlace; losers: RelayPlace[] } | null;
  /** Candidates that failed on this connect before this one. */
  failed: (RelayPlace & { reason: string })[];
  /** new WebSocket → welcome, ms. */
  handshakeMs: number;
}

export interface NegotiateEvent {
  /** The negotiate URL. */
  url: string;
  region: string | null;
  reason: string;
  relays: NegotiateRelay[];
  /** The fixed urls stand in: negotiate could not be fetched. */
  fallback: boolean;
  /** Why the last fetch failed (the previous answer or the fallback is used), else null. */
  error: string | null;
  /** Why it was fetched: initial, stale, exhausted (every relay failed), token (a fresh token). */
  why: 'initial' | 'stale' | 'exhausted' | 'token';
}

export interface DialEvent extends RelayPlace {
  /** start: a websocket opened to it (racing: a second one); failed; lost: closed as a race loser; won: its welcome came first. */
  phase: 'start' | 'failed' | 'lost' | 'won';
  racing?: boolean;
  reason?: string;
  code?: number;
  ms?: number;
}

/** Validates a negotiate answer (throws when it is not one). */
export declare function parseNegotiate(doc: unknown): NegotiateAnswer;
/** The order candidates are tried in (see README: regions in the server's order, remembered handshake times within a region). */
export declare function orderCandidates(relays: NegotiateRelay[], options?: { rttMs?: (url: string) => number | undefined; failedRecently?: (url: string) => boolean; prefer?: string | null }): NegotiateRelay[];

export interface RelayMessage {
  /** The core's seq for this session (1, 2, 3, … without gaps or repeats). */
  seq: number;
  /** Any JSON value. */
  body: unknown;
  room?: string;
  /** The sender's `sub` for room messages. */
  from?: string;
}

export interface StateChange {
  state: RelayState;
  previous: RelayState;
  /** The websocket URL (without token). */
  url: string | null;
  /** Close code that caused the change, when there was one. */
  code?: number;
  reason?: string;
  /** Delay before the next attempt, ms (reconnecting). */
  delayMs?: number;
  /** open: the session id, and whether it was resumed. */
  session?: string;
  resumed?: boolean;
  /** open, negotiate mode: the relay's region and id; `reason` is then the negotiate answer's reason; race as in RelayInfo. */
  region?: string | null;
  relayId?: string;
  race?: RelayInfo['race'];
}

export interface RelayError {
  /** message_too_big, token_expired, token_unavailable, session_unknown, session_taken_over, seq_gap, bad_frame, heartbeat_timeout, connect_failed, negotiate_failed, negotiate_token_failed, no_relay, challenge_failed, no_webcrypto, or a core error code (room_forbidden, too_many_rooms, …). */
  code: string;
  message: string;
  /** A refused message (message_too_big, or a core error that names its seq): which one; it is not sent again. */
  id?: number;
  seq?: number;
  room?: string | null;
  body?: unknown;
}

export interface RelayClientEvents {
  state: StateChange;
  connecting: StateChange;
  open: StateChange;
  reconnecting: StateChange;
  closed: StateChange;
  message: RelayMessage;
  ack: { ack: number; pending: number };
  rtt: { ms: number };
  error: RelayError;
  /** Under Attack mode: solving the relay's proof-of-work challenge before connecting. */
  challenge: ChallengeEvent;
  /** The core started a fresh session (4004 or a refused resume): messages from the core may have been lost. */
  reset: { reason: string; previousSession: string | null };
  /** Negotiate mode: a negotiate answer was fetched (or the fallback used). */
  negotiate: NegotiateEvent;
  /** Negotiate mode: a candidate's websocket started, failed, lost or won. */
  dial: DialEvent;
  /** Negotiate mode: a second socket was raced; the first welcome won, the others were closed with 1000. */
  race: { winner: RelayPlace; losers: RelayPlace[]; ms: number };
  /** Negotiate mode: the session is on this relay (each welcome): {region, relayId, reason, url, …}. */
  relay: RelayInfo;
}

export interface SendResult {
  /** Stable local id of the message. */
  id: number;
  /** Its seq now (renumbered if the session has to start fresh). */
  seq: number;
  /**
   * Resolves when the core acknowledges it. Rejects (the error's `code`) when it is refused: `message_too_big` (1009),
   * or the code of a core error naming its seq (`room_forbidden`, `too_many_rooms`); or `closed` when close() (or
   * giving up) comes first. A rejected message is never sent again.
   */
  delivered: Promise<void>;
}

export declare class RelayClient {
  constructor(options: RelayClientOptions);
  readonly state: RelayState;
  readonly session: string | null;
  readonly url: string | null;
  readonly rttMs: number | null;
  readonly pendingCount: number;
  readonly lastReceivedSeq: number;
  /** Negotiate mode: the relay of the current or last session, and why; null before the first welcome. */
  readonly relay: RelayInfo | null;
  /** Negotiate mode: the last negotiate answer (or fallback), null before the first. */
  readonly negotiated: Omit<NegotiateEvent, 'why'> | null;
  /** Negotiate mode: the remembered handshake time to a websocket URL, ms. */
  handshakeMs(url: string): number | undefined;
  on<K extends keyof RelayClientEvents>(event: K, listener: (e: RelayClientEvents[K]) => void): () => void;
  once<K extends keyof RelayClientEvents>(event: K, listener: (e: RelayClientEvents[K]) => void): () => void;
  off<K extends keyof RelayClientEvents>(event: K, listener: (e: RelayClientEvents[K]) => void): void;
  /** Starts the session; resolves at the first welcome. */
  connect(): Promise<{ session: string; resumed: boolean }>;
  /** Queues a message (held in the outbox while offline, resent after a resume until acknowledged). */
  send(body: unknown, options?: { room?: string }): SendResult;
  /**
   * Closes with 1000 and stops reconnecting (and a proof-of-work solve in progress). Rejects every message not yet
   * acknowledged (code `closed`; one already written may have reached the core); a later connect() does not resend them.
   */
  close(reason?: string): void;
}

export declare function tokenExpiry(token: string): number | null;
export declare function backoffDelay(failures: number, backoff: Required<BackoffOptions>, random?: () => number): number;
export default RelayClient;
