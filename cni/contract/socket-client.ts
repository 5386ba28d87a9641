/**
 * @module ipamd socket client
 * The one client of ipamd's Unix socket: one request per connection, newline-delimited JSON (protocol.ts). The
 * CNI executable, vpc-ipamctl, the Kubernetes agent's conflist keeper, the dev demo and the tests all use it.
 * Failures are typed so a caller can tell "ipamd is not there" (try later / offline DEL) from "ipamd said no",
 * and their messages name the likely fix (no socket, socket root-only), because an operator reads them.
 * It imports only node builtins, so the bundled executable carries none of the daemon.
 */

import * as net from 'node:net';
import { setTimeout as wait } from 'node:timers/promises';
import { PROTOCOL_VERSION, type Request, type Response } from './protocol.js';

/**
 * What the client needs of time: a wait it can cancel, for the reply budget. Declared here, not imported, so
 * the executable carries none of the daemon; any of ipamd's clocks fits it (a test may pass a VirtualClock).
 */
export interface Sleeper {
  /** Resolves after `ms`; rejects once `signal` fires first (the client ignores that rejection). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Wall time. Node's timer coerces a delay below 1 ms to 1 ms, as `setTimeout` does. */
const REAL_TIME: Sleeper = { sleep: (ms, signal) => wait(ms, undefined, { signal }) };

/** Distributes `Request` over its union members so `v` can be left out per member. */
type WithoutV<T> = T extends unknown ? Omit<T, 'v'> : never;
/** A request as a caller writes it: the client adds the protocol version. */
export type RequestBody = WithoutV<Request>;

export type IpamdFailureKind = 'unreachable' | 'timeout' | 'protocol';

/**
 * The request did not get an answer. `kind`:
 * - `unreachable`: no socket, refused, not allowed, or the connection died before a reply
 *   (ipamd down or restarting, or the caller is not root);
 * - `timeout`: no reply within the budget (ipamd may still act on it);
 * - `protocol`: a reply came but was not a protocol response.
 */
export class IpamdUnavailableError extends Error {
  constructor(
    readonly kind: IpamdFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'IpamdUnavailableError';
  }
}

/** What the CNI verbs need from ipamd; tests substitute a fake. */
export interface IpamdClient {
  call(req: RequestBody, timeoutMs: number): Promise<Response>;
}

/** The default budget of {@link callIpamd}: a CLI or test call that waits longer than this is stuck. */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

/**
 * The reply budget of an ADD: ipamd may hold it up to `addWaitMs` while the pool grows, and then needs
 * `timeoutMs` to write the assignment and wire the Pod. A budget of `timeoutMs` alone would give up on an ADD
 * whose address is on its way.
 */
export function addReplyBudgetMs(addWaitMs: number, timeoutMs: number): number {
  return addWaitMs + timeoutMs;
}

const MAX_REPLY = 1 << 20;
const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTSOCK', 'EACCES', 'EPERM']);

/** What a connect error means to the person reading it. */
function connectFailureText(socketPath: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return `no ipamd socket at ${socketPath} (ENOENT): is ipamd running? is this its VPC_IPAM_SOCKET?`;
    case 'EACCES':
    case 'EPERM':
      return `not allowed to connect to ipamd at ${socketPath} (${err.code}): the socket is root-only; run as root`;
    case 'ECONNREFUSED':
      return `ipamd at ${socketPath} refused the connection (ECONNREFUSED): ipamd is down or restarting`;
    default:
      return `ipamd at ${socketPath}: ${err.code ?? err.message}`;
  }
}

export class SocketIpamdClient implements IpamdClient {
  constructor(
    private readonly socketPath: string,
    private readonly clock: Sleeper = REAL_TIME,
  ) {}

  /** Sends `body` with the protocol version (a `v` in `body` wins, for tests of a mismatch). */
  call(body: RequestBody | Request, timeoutMs: number): Promise<Response> {
    const line = `${JSON.stringify({ v: PROTOCOL_VERSION, ...body })}\n`;
    return new Promise<Response>((resolve, reject) => {
      let buf = '';
      let settled = false;
      const timer = new AbortController();
      const sock = net.createConnection(this.socketPath);
      const done = (err: Error | undefined, res?: Response) => {
        if (settled) return;
        settled = true;
        timer.abort();
        sock.destroy();
        if (err) reject(err);
        else resolve(res!);
      };
      this.clock.sleep(timeoutMs, timer.signal).then(
        () =>
          done(
            new IpamdUnavailableError('timeout', `no reply from ipamd at ${this.socketPath} within ${timeoutMs} ms`),
          ),
        () => undefined, // aborted: the call finished first
      );
      sock.setEncoding('utf8');
      sock.on('connect', () => sock.write(line));
      sock.on('data', (chunk: string) => {
        buf += chunk;
        const nl = buf.indexOf('\n');
        if (nl < 0) {
          if (buf.length > MAX_REPLY) done(new IpamdUnavailableError('protocol', 'ipamd reply longer than 1 MiB'));
          return;
        }
        const reply = parseReply(buf.slice(0, nl));
        if (reply instanceof Error) done(reply);
        else done(undefined, reply);
      });
      sock.on('error', (err: NodeJS.ErrnoException) => {
        const kind: IpamdFailureKind = UNREACHABLE.has(err.code ?? '') ? 'unreachable' : 'protocol';
        done(new IpamdUnavailableError(kind, connectFailureText(this.socketPath, err), { cause: err }));
      });
      sock.on('close', () =>
        done(
          new IpamdUnavailableError('unreachable', `ipamd at ${this.socketPath} closed the connection without a reply`),
        ),
      );
    });
  }
}

/**
 * One request to ipamd at `socketPath` on wall time, for vpc-ipamctl, the conflist keeper, the dev demo and
 * tests. Fails with {@link IpamdUnavailableError} as {@link SocketIpamdClient.call} does.
 */
export function callIpamd(
  socketPath: string,
  req: RequestBody | Request,
  timeoutMs = DEFAULT_CALL_TIMEOUT_MS,
): Promise<Response> {
  return new SocketIpamdClient(socketPath).call(req, timeoutMs);
}

/** The reply line as a response, or the protocol failure it is. */
function parseReply(line: string): Response | IpamdUnavailableError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    return new IpamdUnavailableError('protocol', `ipamd reply is not JSON: ${(err as Error).message}`);
  }
  if (!isResponse(parsed)) return new IpamdUnavailableError('protocol', 'ipamd reply has no boolean "ok"');
  return parsed;
}

function isResponse(v: unknown): v is Response {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as { ok?: unknown; error?: { code?: unknown; msg?: unknown } };
  if (r.ok === true) return true;
  return r.ok === false && typeof r.error?.code === 'string';
}
