/**
 * @module adaptive signals
 * What the adaptive pool policy observes, reduced to a few numbers it can
 * explain: Pod arrival and departure rates (exponentially weighted), the
 * largest burst of ADDs inside a refill horizon, recurring (CronJob-like)
 * bursts and when the next one is due, and how long growing the pool takes.
 *
 * Everything is a pure data structure fed with timestamps: no clock, no I/O,
 * so the policy is unit-testable table by table and replays identically.
 */

/** An event rate with exponential decay: `value(now)` is events per ms, weighted towards the last `tauMs`. */
export class DecayingRate {
  private v = 0;
  private at = -Infinity;

  constructor(readonly tauMs: number) {}

  record(now: number): void {
    this.v = this.value(now) + 1 / this.tauMs;
    this.at = now;
  }

  value(now: number): number {
    if (this.at === -Infinity) return 0;
    return this.v * Math.exp(-Math.max(0, now - this.at) / this.tauMs);
  }
}

/** A latency estimate: exponentially weighted mean of observations, starting from a prior. */
export class LatencyEstimate {
  private n = 0;

  constructor(
    private ms: number,
    private readonly alpha = 0.3,
  ) {}

  observe(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.ms = this.n === 0 ? ms : this.alpha * ms + (1 - this.alpha) * this.ms;
    this.n++;
  }

  get value(): number {
    return this.ms;
  }

  get observed(): number {
    return this.n;
  }
}

/** Timestamps of recent ADDs, kept for `memoryMs`. */
export class ArrivalLog {
  private t: number[] = [];

  constructor(readonly memoryMs: number) {}

  record(now: number): void {
    this.t.push(now);
    this.prune(now);
  }

  prune(now: number): void {
    const cut = now - this.memoryMs;
    let i = 0;
    while (i < this.t.length && this.t[i]! < cut) i++;
    if (i > 0) this.t.splice(0, i);
  }

  /**
   * How many free addresses would have served all but a `share` of the remembered ADDs at once: for each ADD,
   * k = the ADDs in the `windowMs` before it, itself included (with fewer than k free addresses it would have
   * waited for a refill); the answer is the smallest w with at most ⌊share · n⌋ of the k above w.
   * With share 0 this is the largest burst. Two pointers and a counting pass: O(n).
   */
  burstQuantile(windowMs: number, now: number, share: number): number {
    this.prune(now);
    const n = this.t.length;
    if (n === 0) return 0;
    const hist: number[] = [];
    let lo = 0;
    for (let hi = 0; hi < n; hi++) {
      while (this.t[hi]! - this.t[lo]! > windowMs) lo++;
      const k = hi - lo + 1;
      hist[k] = (hist[k] ?? 0) + 1;
    }
    let allowed = Math.floor(share * n);
    for (let w = hist.length - 1; w >= 1; w--) {
      const above = hist[w] ?? 0; // ADDs whose k is exactly w would wait with w − 1 free
      if (above > allowed) return w;
      allowed -= above;
    }
    return 0;
  }

  get size(): number {
    return this.t.length;
  }
}

/**
 * The (1 − eps) quantile of a Poisson(mu) count: the smallest n with P(X > n) ≤ eps. "How many arrivals to be
 * ready for in a window where mu are expected on average."
 */
export function poissonQuantile(mu: number, eps: number): number {
  if (!(mu > 0)) return 0;
  let p = Math.exp(-mu); // P(X = 0)
  let cdf = p;
  let n = 0;
  while (1 - cdf > eps && n < 100_000) {
    n++;
    p *= mu / n;
    cdf += p;
  }
  return n;
}

/** A predicted burst: `size` ADDs around `at`, because bursts came every `periodMs` before. */
export interface PredictedBurst {
  at: number;
  periodMs: number;
  size: number;
}

export interface RecurringBurstOptions {
  /** ADDs closer than this to the previous one belong to the same burst. */
  gapMs: number;
  /** Bursts smaller than this are not tracked (single arrivals are what the rate covers). */
  minSize: number;
  /** How far apart in time two onsets of one schedule may drift (controller and scheduler jitter). */
  toleranceMs: number;
  /** Earlier bursts, one period apart each, that must be seen before a period is believed. */
  confirmations: number;
  /** Periods to look for. CronJob schedules are whole minutes; the common ones are few. */
  periodsMs: readonly number[];
}

const MINUTE = 60_000;
/** `*\/N` minutes and hours that CronJob schedules commonly use, and daily. */
export const CRON_PERIODS_MS: readonly number[] = [
  1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440,
].map((m) => m * MINUTE);

export const DEFAULT_RECURRING: RecurringBurstOptions = {
  gapMs: 10_000,
  minSize: 2,
  toleranceMs: 5_000,
  confirmations: 3,
  periodsMs: CRON_PERIODS_MS,
};

/**
 * Predicts CronJob-like bursts. CronJobs fire on the minute, so their Pods
 * arrive in a burst at the same phase every period. A burst is expected at T
 * with period P when bursts started at T − P, T − 2P, … T − cP (c =
 * confirmations, each within the tolerance); its size is the median of those
 * c bursts, so one big burst in a series (the hourly job at :00 joining the
 * 5-minute one) does not inflate the next 5-minute prediction. The expected
 * size at T is the largest over all periods. No schedule is stored: the
 * prediction is a pure function of the onset history.
 */
export class RecurringBursts {
  /** Burst onsets (time of the first ADD) and their sizes, oldest first. */
  private onsets: Array<{ at: number; size: number }> = [];
  private lastAdd = -Infinity;

  constructor(private readonly o: RecurringBurstOptions = DEFAULT_RECURRING) {}

  record(now: number): void {
    const continues = now - this.lastAdd <= this.o.gapMs;
    this.lastAdd = now;
    if (continues && this.onsets.length) {
      this.onsets[this.onsets.length - 1]!.size++;
      return;
    }
    this.onsets.push({ at: now, size: 1 });
    const keep = now - (this.o.confirmations + 1) * Math.max(...this.o.periodsMs) - this.o.toleranceMs;
    while (this.onsets.length && this.onsets[0]!.at < keep) this.onsets.shift();
  }

  /** The bursts predicted to start in [now − tolerance, now + leadMs], largest first. */
  due(now: number, leadMs: number): PredictedBurst[] {
    const out: PredictedBurst[] = [];
    const tol = this.o.toleranceMs;
    for (const p of this.o.periodsMs) {
      // Onsets one period before the window; each is a candidate series end.
      for (const base of this.between(now - tol - p, now + leadMs - p)) {
        const sizes = [base.size];
        for (let k = 1; k < this.o.confirmations && sizes.length === k; k++) {
          const hit = this.near(base.at - k * p);
          if (hit) sizes.push(hit.size);
        }
        if (sizes.length < this.o.confirmations || sizes.some((x) => x < this.o.minSize)) continue;
        out.push({ at: base.at + p, periodMs: p, size: median(sizes) });
      }
    }
    return out.sort((a, b) => b.size - a.size || a.periodMs - b.periodMs);
  }

  /**
   * True when an ADD at `now` is one a predicted burst accounts for: a burst is due and the burst in progress
   * has not yet exceeded the predicted size. Call before {@link record}.
   */
  expectedAdd(now: number, leadMs: number): boolean {
    const size = this.due(now, leadMs)[0]?.size ?? 0;
    if (size === 0) return false;
    const current = now - this.lastAdd <= this.o.gapMs ? this.onsets[this.onsets.length - 1]!.size : 0;
    return current < size;
  }

  /** Periods with a confirmed series ending at the latest burst that fits one: for the explanation. */
  periods(now: number): number[] {
    const found = new Set<number>();
    for (const p of this.o.periodsMs) {
      for (const base of this.between(now - p - this.o.toleranceMs, now)) {
        let ok = base.size >= this.o.minSize;
        for (let k = 1; k < this.o.confirmations && ok; k++)
          ok = (this.near(base.at - k * p)?.size ?? 0) >= this.o.minSize;
        if (ok) found.add(p);
      }
    }
    return [...found].sort((a, b) => a - b);
  }

  private between(from: number, to: number): Array<{ at: number; size: number }> {
    const out: Array<{ at: number; size: number }> = [];
    for (let i = this.lowerBound(from); i < this.onsets.length && this.onsets[i]!.at <= to; i++)
      out.push(this.onsets[i]!);
    return out;
  }

  private near(t: number): { at: number; size: number } | undefined {
    let best: { at: number; size: number } | undefined;
    for (const x of this.between(t - this.o.toleranceMs, t + this.o.toleranceMs))
      if (!best || x.size > best.size) best = x;
    return best;
  }

  private lowerBound(t: number): number {
    let lo = 0;
    let hi = this.onsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.onsets[mid]!.at < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[(s.length - 1) >> 1]!;
}
