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

  /** The most ADDs that fell inside any window of `windowMs` within the memory (two pointers, O(n)). */
  maxInWindow(windowMs: number, now: number): number {
    const cut = now - this.memoryMs;
    let best = 0;
    let lo = 0;
    for (let hi = 0; hi < this.t.length; hi++) {
      if (this.t[hi]! < cut) {
        lo = hi + 1;
        continue;
      }
      while (this.t[hi]! - this.t[lo]! > windowMs) lo++;
      best = Math.max(best, hi - lo + 1);
    }
    return best;
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

/** A recurring burst: CronJob-like, `size` ADDs every `periodMs`, the next one expected at `nextAt`. */
export interface Recurrence {
  periodMs: number;
  nextAt: number;
  /** ADDs in the burst one period before `nextAt`: what to have ready. */
  size: number;
  /** Predicted bursts that did not come; the recurrence is forgotten after two. */
  misses: number;
}

export interface RecurringBurstOptions {
  /** ADDs closer than this to the previous one belong to the same burst. */
  gapMs: number;
  /** Bursts smaller than this are not tracked (single arrivals are what the rate covers). */
  minSize: number;
  /** How far apart in time two onsets of one schedule may drift (controller and scheduler jitter). */
  toleranceMs: number;
  /** Earlier onsets that must line up before a period is believed (false positives grow fast below 3). */
  confirmations: number;
  /** Periods to look for. CronJob schedules are whole minutes; the common ones are few. */
  periodsMs: readonly number[];
}

const MINUTE = 60_000;
/** `*\/N` minutes and hours that CronJob schedules commonly use, and daily. */
export const CRON_PERIODS_MS: readonly number[] = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440].map((m) => m * MINUTE);

export const DEFAULT_RECURRING: RecurringBurstOptions = {
  gapMs: 10_000,
  minSize: 2,
  toleranceMs: 5_000,
  confirmations: 3,
  periodsMs: CRON_PERIODS_MS,
};

/**
 * Finds bursts of ADDs that recur with a fixed period (CronJobs fire on the
 * minute, so their Pods arrive in a burst at the same phase every period) and
 * predicts the next one, so the pool can be warmed just before it instead of
 * holding a burst's worth of addresses all day.
 */
export class RecurringBursts {
  /** Burst onsets (time of the first ADD) and their sizes, oldest first. */
  private onsets: Array<{ at: number; size: number }> = [];
  private lastAdd = -Infinity;
  private readonly rec = new Map<number, Recurrence>();

  constructor(private readonly o: RecurringBurstOptions = DEFAULT_RECURRING) {}

  record(now: number): void {
    const continues = now - this.lastAdd <= this.o.gapMs;
    this.lastAdd = now;
    if (continues) {
      this.onsets[this.onsets.length - 1]!.size++;
      return;
    }
    this.onsets.push({ at: now, size: 1 });
    const keep = now - (this.o.confirmations + 1) * Math.max(...this.o.periodsMs) - this.o.toleranceMs;
    while (this.onsets.length && this.onsets[0]!.at < keep) this.onsets.shift();
    this.detect(now);
  }

  /** Recurrences whose next burst is due within `leadMs` (or overdue by less than the tolerance) at `now`. */
  due(now: number, leadMs: number): Recurrence[] {
    this.expire(now);
    return [...this.rec.values()].filter((r) => now >= r.nextAt - leadMs && now <= r.nextAt + this.o.toleranceMs);
  }

  /** All recurrences currently believed, shortest period first. */
  list(now: number): Recurrence[] {
    this.expire(now);
    return [...this.rec.values()].sort((a, b) => a.periodMs - b.periodMs);
  }

  /**
   * True when an ADD at `now` is one a predicted burst accounts for: a burst is due and the burst in progress
   * has not yet exceeded the predicted size. Call before {@link record}.
   */
  expectedAdd(now: number, leadMs: number): boolean {
    const size = this.due(now, leadMs).reduce((m, r) => Math.max(m, r.size), 0);
    if (size === 0) return false;
    const current = now - this.lastAdd <= this.o.gapMs ? this.onsets[this.onsets.length - 1]!.size : 0;
    return current < size;
  }

  private detect(at: number): void {
    this.expire(at);
    // A new onset confirms period P if earlier onsets of size ≥ minSize sit at at−P, at−2P, … (within tolerance).
    for (const p of this.o.periodsMs) {
      let ok = true;
      let size = 0;
      for (let k = 1; k <= this.o.confirmations && ok; k++) {
        const hit = this.find(at - k * p);
        if (!hit || hit.size < this.o.minSize) ok = false;
        else if (k === 1) size = hit.size;
      }
      const r = this.rec.get(p);
      if (ok) this.rec.set(p, { periodMs: p, nextAt: at + p, size, misses: 0 });
      else if (r && Math.abs(r.nextAt - at) <= this.o.toleranceMs) r.nextAt = at + p; // came, but the history is thin
    }
  }

  private expire(now: number): void {
    for (const [p, r] of this.rec) {
      while (now > r.nextAt + this.o.toleranceMs) {
        // The burst was due and its window is over: if it came, an onset near nextAt re-armed it in detect().
        r.misses++;
        r.nextAt += p;
        if (r.misses >= 2) {
          this.rec.delete(p);
          break;
        }
      }
    }
    // Keep the size current: the burst one period before the next one is what the next one will look like.
    for (const r of this.rec.values()) {
      const prev = this.find(r.nextAt - r.periodMs);
      if (prev) r.size = Math.max(prev.size, this.o.minSize);
    }
  }

  private find(t: number): { at: number; size: number } | undefined {
    // Binary search for the onset closest to t.
    let lo = 0;
    let hi = this.onsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.onsets[mid]!.at < t) lo = mid + 1;
      else hi = mid;
    }
    const cands = [this.onsets[lo - 1], this.onsets[lo]].filter((x): x is { at: number; size: number } => x !== undefined);
    const best = cands.sort((a, b) => Math.abs(a.at - t) - Math.abs(b.at - t))[0];
    return best && Math.abs(best.at - t) <= this.o.toleranceMs ? best : undefined;
  }
}
