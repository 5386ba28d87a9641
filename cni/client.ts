/**
 * @module ipamd client
 * One request per connection over ipamd's Unix socket, newline-delimited
 * JSON (cni/contract/protocol.ts). Failures are typed so the verbs can tell
 * "ipamd is not there" (try later / offline DEL) from "ipamd said no".
 */

import * as net from 'node:net';
import { setTimeout as wait } from 'node:timers/promises';
import { PROTOCOL_VERSION, type Request, type Response } from './contract/protocol.js';

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
export type RequestBody = WithoutV<Request>;

export type IpamdFailureKind = 'unreachable' | 'timeout' | 'protocol';

/**
 * The request did not get an answer. `kind`:
 * - `unreachable`: no socket, refused, or the connection died before a reply
 *   (ipamd down or restarting);
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

/** What the verbs need from ipamd; tests substitute a fake. */
export interface IpamdClient {
  call(req: RequestBody, timeoutMs: number): Promise<Response>;
}

const MAX_REPLY = 1 << 20;
const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTSOCK', 'EACCES']);

export class SocketIpamdClient implements IpamdClient {
  constructor(
    private readonly socketPath: string,
    private readonly clock: Sleeper = REAL_TIME,
  ) {}

  call(body: RequestBody, timeoutMs: number): Promise<Response> {
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
        let parsed: unknown;
        try {
          parsed = JSON.parse(buf.slice(0, nl));
        } catch (err) {
          return done(new IpamdUnavailableError('protocol', `ipamd reply is not JSON: ${(err as Error).message}`));
        }
        if (!isResponse(parsed)) return done(new IpamdUnavailableError('protocol', 'ipamd reply has no boolean "ok"'));
        done(undefined, parsed);
      });
      sock.on('error', (err: NodeJS.ErrnoException) => {
        const kind: IpamdFailureKind = UNREACHABLE.has(err.code ?? '') ? 'unreachable' : 'protocol';
        done(
          new IpamdUnavailableError(kind, `ipamd at ${this.socketPath}: ${err.code ?? err.message}`, { cause: err }),
        );
      });
      sock.on('close', () =>
        done(
          new IpamdUnavailableError('unreachable', `ipamd at ${this.socketPath} closed the connection without a reply`),
        ),
      );
    });
  }
}

function isResponse(v: unknown): v is Response {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as { ok?: unknown; error?: { code?: unknown; msg?: unknown } };
  if (r.ok === true) return true;
  return r.ok === false && typeof r.error?.code === 'string';
}
