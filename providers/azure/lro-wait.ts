/**
 * @module azure long-running operation wait
 * Drives an `@azure/core-lro` poller to its end on the daemon's clock
 * instead of core-lro's own timer. The SDK's `begin…` has already sent the
 * write and polled once; core-lro's `pollUntilDone` would poll again at
 * once, this waits first. Between polls it waits what the last response's
 * `Retry-After` asks (ARM sends 10 s, and
 * polling faster only spends the subscription's read quota), else the
 * configured interval. On the injected clock the wait is real in the daemon
 * and instant in a test on a virtual clock, with the same code path.
 */
import { retryAfterMs } from './errors.js';

/** What this needs of a core-lro `SimplePollerLike`. */
export interface PollerLike<T> {
  isDone(): boolean;
  poll(): Promise<void>;
  pollUntilDone(): Promise<T>;
}

/** Headers of the latest response, captured through the SDK's `onResponse`. */
export interface LatestHeaders {
  get(name: string): string | undefined;
}

/** A server asking more than this is waited for this long only: a stuck Retry-After must not stall a NIC for good. */
export const MAX_POLL_WAIT_MS = 60_000;

export interface WaitOptions {
  /** Headers of the most recent response (initial or poll). */
  latest: () => LatestHeaders | undefined;
  /** Wait when the server sends no Retry-After, or 0 (core-lro also treats 0 as absent). */
  defaultMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** The next wait: the server's Retry-After (bounded), else `defaultMs`. */
export function nextPollWaitMs(o: Pick<WaitOptions, 'latest' | 'defaultMs' | 'now'>): number {
  const h = o.latest();
  const asked = h ? retryAfterMs((n) => h.get(n), o.now()) : undefined;
  return asked ? Math.min(asked, MAX_POLL_WAIT_MS) : o.defaultMs;
}

/**
 * Polls a poller that `begin…` returned (one poll done) until the operation
 * ends; returns the result, or throws what core-lro throws for a failed one.
 */
export async function waitForOperation<T>(poller: PollerLike<T>, o: WaitOptions): Promise<T> {
  while (!poller.isDone()) {
    await o.sleep(nextPollWaitMs(o));
    await poller.poll();
  }
  return poller.pollUntilDone();
}
