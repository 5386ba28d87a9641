/**
 * @module sim faults
 * Fault injection and throttling for the simulated cloud, shared by the
 * SimProvider and the HTTP emulators: call {@link FaultInjector.check} at the
 * start of each API call with its action name, and it throws the error the
 * cloud would return, or returns when the call may proceed.
 *
 * Two mechanisms, checked in this order:
 * 1. `failNext(action, count, factory)`: the next `count` calls of an action
 *    (or of any action, with `*`) fail with the factory's error. This is the
 *    "fail the next N calls of Action X" knob of cloud-apis.md §1.6.
 * 2. Token buckets (`setRateLimit`): EC2 throttles per account, region and
 *    action with a token bucket (cloud-apis.md §1.6, AWS "Request throttling
 *    for the Amazon EC2 API"). A bucket holds at most `burst` tokens and
 *    refills at `rate` tokens per second of the injected clock; a call takes
 *    one token or fails with ThrottledError (`RequestLimitExceeded`).
 *
 * Rejected calls take no token: EC2's throttling counts admitted requests.
 */
import { CloudUnavailableError, ConfigError, ThrottledError, type CloudError } from '../errors.js';
import type { TimeSource } from './time.js';

export interface RateLimit {
  /** Tokens added per second. */
  rate: number;
  /** Bucket size, and its content at the start. */
  burst: number;
}

/** Builds the error for an injected failure of `action`. */
export type ErrorFactory = (action: string) => Error;

/** A token bucket driven by an injected clock (no timers: refill is computed on use). */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly clock: TimeSource,
    readonly limit: RateLimit,
  ) {
    if (!(limit.rate >= 0) || !(limit.burst >= 1))
      throw new ConfigError('rateLimit', `need rate >= 0 and burst >= 1, got ${JSON.stringify(limit)}`);
    this.tokens = limit.burst;
    this.last = clock.now();
  }

  /** Tokens available now (fractional while refilling). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Takes one token if there is one. */
  tryTake(): boolean {
    this.refill();
    // The epsilon absorbs float error from fractional rates (0.1 * 10 !== 1).
    if (this.tokens < 1 - 1e-9) return false;
    this.tokens = Math.max(0, this.tokens - 1);
    return true;
  }

  /** Milliseconds until one token is available (0 if one is). */
  msUntilToken(): number {
    this.refill();
    if (this.tokens >= 1 - 1e-9) return 0;
    if (this.limit.rate === 0) return Infinity;
    return Math.ceil(((1 - this.tokens) * 1000) / this.limit.rate);
  }

  private refill(): void {
    const now = this.clock.now();
    if (now > this.last) {
      this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.last) * this.limit.rate) / 1000);
      this.last = now;
    }
  }
}

interface RateRule {
  limit: RateLimit;
  /** Undefined: every action. */
  actions: ReadonlySet<string> | undefined;
  /** One bucket per action (EC2's model) or one shared by all matching actions. */
  perAction: boolean;
  buckets: Map<string, TokenBucket>;
}

export interface FaultInjectorOptions {
  clock: TimeSource;
  /** `provider` of the errors thrown (default `sim`). */
  provider?: string;
  /** cloudCode of throttling errors (default EC2 `RequestLimitExceeded`). */
  throttleCode?: string;
  /** Error used by `failNext` without a factory (default: CloudUnavailableError `InternalError`). */
  defaultError?: ErrorFactory;
}

const ANY = '*';

export class FaultInjector {
  private readonly clock: TimeSource;
  private readonly provider: string;
  private readonly throttleCode: string;
  private readonly defaultError: ErrorFactory;
  private readonly queued = new Map<string, Array<{ remaining: number; factory: ErrorFactory }>>();
  private rules: RateRule[] = [];
  private readonly throttledCounts = new Map<string, number>();
  private readonly injectedCounts = new Map<string, number>();

  constructor(opts: FaultInjectorOptions) {
    this.clock = opts.clock;
    this.provider = opts.provider ?? 'sim';
    this.throttleCode = opts.throttleCode ?? 'RequestLimitExceeded';
    this.defaultError =
      opts.defaultError ??
      ((action) =>
        new CloudUnavailableError({
          provider: this.provider,
          operation: action,
          cloudCode: 'InternalError',
          message: 'An internal error has occurred (injected)',
        }));
  }

  /**
   * Makes the next `count` calls of `action` (`*`: of any action) throw
   * `factory(action)`. Calls queue up: a second failNext on the same action
   * starts after the first is used up. Action-specific faults go first.
   */
  failNext(action: string, count = 1, factory?: ErrorFactory): this {
    if (!Number.isInteger(count) || count < 1)
      throw new ConfigError('failNext.count', `must be a positive integer, got ${count}`);
    const q = this.queued.get(action) ?? [];
    q.push({ remaining: count, factory: factory ?? this.defaultError });
    this.queued.set(action, q);
    return this;
  }

  /** Injected failures still queued for `action` (not counting `*`). */
  pending(action: string): number {
    return (this.queued.get(action) ?? []).reduce((n, f) => n + f.remaining, 0);
  }

  /**
   * Adds a token-bucket limit. Without `actions` it covers every action.
   * `perAction: true` gives each action its own bucket, as EC2 does; the
   * default is one bucket shared by the covered actions. Rules stack: a call
   * needs a token from every rule that covers it.
   */
  setRateLimit(limit: RateLimit, opts: { actions?: readonly string[]; perAction?: boolean } = {}): this {
    new TokenBucket(this.clock, limit); // validates
    this.rules.push({
      limit,
      actions: opts.actions ? new Set(opts.actions) : undefined,
      perAction: opts.perAction ?? false,
      buckets: new Map(),
    });
    return this;
  }

  /** Drops every rate limit and queued failure (counters are kept). */
  clear(): void {
    this.rules = [];
    this.queued.clear();
  }

  /** Calls rejected by throttling, per action. */
  throttled(): Record<string, number> {
    return Object.fromEntries(this.throttledCounts);
  }

  /** Calls failed by `failNext`, per action. */
  injected(): Record<string, number> {
    return Object.fromEntries(this.injectedCounts);
  }

  /** Throws the error the cloud would return for this call now, or returns if it may proceed. */
  check(action: string): void {
    const fault = this.takeFault(action) ?? this.takeFault(ANY);
    if (fault) {
      this.injectedCounts.set(action, (this.injectedCounts.get(action) ?? 0) + 1);
      throw fault(action);
    }
    const buckets = this.rules.filter((r) => !r.actions || r.actions.has(action)).map((r) => this.bucketFor(r, action));
    // Check every bucket before taking from any, so a rejected call costs nothing.
    const empty = buckets.filter((b) => b.available() < 1 - 1e-9);
    if (empty.length > 0) {
      this.throttledCounts.set(action, (this.throttledCounts.get(action) ?? 0) + 1);
      throw this.throttleError(action);
    }
    for (const b of buckets) b.tryTake();
  }

  private throttleError(action: string): CloudError {
    return new ThrottledError({
      provider: this.provider,
      operation: action,
      cloudCode: this.throttleCode,
      message: 'Request limit exceeded.',
    });
  }

  private takeFault(key: string): ErrorFactory | undefined {
    const q = this.queued.get(key);
    const head = q?.[0];
    if (!q || !head) return undefined;
    head.remaining -= 1;
    if (head.remaining === 0) q.shift();
    if (q.length === 0) this.queued.delete(key);
    return head.factory;
  }

  private bucketFor(rule: RateRule, action: string): TokenBucket {
    const key = rule.perAction ? action : ANY;
    let b = rule.buckets.get(key);
    if (!b) {
      b = new TokenBucket(this.clock, rule.limit);
      rule.buckets.set(key, b);
    }
    return b;
  }
}
