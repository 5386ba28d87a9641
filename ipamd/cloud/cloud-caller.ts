/**
 * @module cloud caller
 * Every provider call from ipamd goes through here: a p-queue bounds
 * concurrency (a node never storms the cloud API), retryable errors
 * (throttling, conflicts, 5xx) are retried with exponential backoff and full
 * jitter on the injected clock, honouring a server's Retry-After, and each
 * attempt is reported to the metrics hook. Non-retryable errors surface at once.
 */
import PQueue from 'p-queue';
import { CloudError, IpamError } from '../../providers/errors.js';
import type { Clock } from '../util/clock.js';

export interface CallObserver {
  /** One per attempt, before it is sent (what is in flight). */
  onStart?(operation: string): void;
  /** One per attempt: the operation, `ok` or the error code, its duration, and the error when it failed. */
  onAttempt(operation: string, result: string, seconds: number, err?: unknown): void;
}

export interface CloudCallerOptions {
  clock: Clock;
  concurrency: number;
  maxAttempts: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Uniform [0,1); injected so the simulator is deterministic. */
  random?: () => number;
  observer?: CallObserver;
}

export class CloudCaller {
  private readonly queue: PQueue;
  private readonly o: Required<Omit<CloudCallerOptions, 'observer'>> & { observer?: CallObserver };
  private throttledUntil = 0;

  constructor(opts: CloudCallerOptions) {
    // `random: undefined` (the daemon passes its optional dep through) must not override the default.
    this.o = { baseDelayMs: 250, maxDelayMs: 20_000, ...opts, random: opts.random ?? Math.random };
    this.queue = new PQueue({ concurrency: opts.concurrency });
  }

  /** Calls in flight or queued. */
  get depth(): number {
    return this.queue.size + this.queue.pending;
  }

  call<T>(operation: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.queue.add(() => this.attempt(operation, fn, signal)) as Promise<T>;
  }

  private async attempt<T>(operation: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      // After a throttle, every queued call waits: retrying in parallel only deepens the storm.
      const wait = this.throttledUntil - this.o.clock.now();
      if (wait > 0) await this.o.clock.sleep(wait, signal);
      this.o.observer?.onStart?.(operation);
      const started = this.o.clock.now();
      try {
        const out = await fn();
        this.o.observer?.onAttempt(operation, 'ok', (this.o.clock.now() - started) / 1000);
        return out;
      } catch (err) {
        const code = IpamError.is(err) ? err.code : 'INTERNAL';
        this.o.observer?.onAttempt(
          operation,
          CloudError.isCloud(err) ? err.cloudCode : code,
          (this.o.clock.now() - started) / 1000,
          err,
        );
        if (!CloudError.isCloud(err) || !err.retryable || attempt >= this.o.maxAttempts) throw err;
        const backoff = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempt - 1));
        const delay = Math.max(err.retryAfterMs ?? 0, Math.floor(this.o.random() * backoff));
        if (err.code === 'CLOUD_THROTTLED')
          this.throttledUntil = Math.max(this.throttledUntil, this.o.clock.now() + delay);
        await this.o.clock.sleep(delay, signal);
      }
    }
  }
}
