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

export interface RelayClientOptions {
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
  /** Consecutive failed attempts before the client gives up and closes (default Infinity). */
  maxReconnectAttempts?: number;
  /** Unacknowledged messages held at most; send() throws beyond it (default 1000). */
  outboxLimit?: number;
  /** Largest message, bytes of JSON; send() refuses bigger ones at once (default 65536, the gateway's cap). */
  maxMessageBytes?: number;
  /** Delay before a standalone ack is sent, ms (default 20). */
  ackDelayMs?: number;
  /** Refresh a JWT this long before its exp, ms (default 30000; needs token to be a function). */
  tokenRefreshSkewMs?: number;
  /** Random source for jitter (tests). */
  random?: () => number;
  /** fetch for the Under Attack challenge (GET /challenge after a failed connect); defaults to globalThis.fetch. */
  fetch?: (url: string, init?: object) => Promise<{ ok: boolean; json(): Promise<any> }>;
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
}

export interface RelayError {
  /** message_too_big, token_expired, session_unknown, session_taken_over, seq_gap, bad_frame, connect_failed, or a core error code. */
  code: string;
  message: string;
  /** message_too_big: which message was refused. */
  id?: number;
  seq?: number;
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
}

export interface SendResult {
  /** Stable local id of the message. */
  id: number;
  /** Its seq now (renumbered if the session has to start fresh). */
  seq: number;
  /** Resolves when the core acknowledges it; rejects if refused (1009) or the client closes first. */
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
  on<K extends keyof RelayClientEvents>(event: K, listener: (e: RelayClientEvents[K]) => void): () => void;
  once<K extends keyof RelayClientEvents>(event: K, listener: (e: RelayClientEvents[K]) => void): () => void;
  off<K extends keyof RelayClientEvents>(event: K, listener: (e: RelayClientEvents[K]) => void): void;
  /** Starts the session; resolves at the first welcome. */
  connect(): Promise<{ session: string; resumed: boolean }>;
  /** Queues a message (held in the outbox while offline, resent after a resume until acknowledged). */
  send(body: unknown, options?: { room?: string }): SendResult;
  /** Closes with 1000 and stops reconnecting. */
  close(reason?: string): void;
}

export declare function tokenExpiry(token: string): number | null;
export declare function backoffDelay(failures: number, backoff: Required<BackoffOptions>, random?: () => number): number;
export default RelayClient;
