/**
 * @module adaptive burst reserve
 * What the adaptive policy keeps free so that a burst of ADDs never waits
 * where WARM_ENI_TARGET=1 (a whole free interface) would not have (issue 17):
 *
 * - {@link BurstMax}: the most ADDs ever seen inside one refill window (an
 *   assign in flight and the next queued), remembered for a day as a sliding
 *   maximum, never a quantile: one Pod in a hundred waiting is already a
 *   worse p99 than the default's. O(1) amortised per ADD, O(1) per read.
 * - {@link startupPrior}: before there is a day of history, a reserve that
 *   starts at the default's (one interface of addresses) and decays linearly:
 *   the first big burst of a node is the one nothing has been learnt from.
 *
 * Pure data structures over timestamps, like adaptive-signals.ts.
 */

/** A sliding maximum over `memoryMs` of values pushed in time order. */
class SlidingMax {
  /** (time, value) pairs with strictly decreasing values: the front is the maximum. */
  private q: Array<{ t: number; k: number }> = [];
  constructor(readonly memoryMs: number) {}
  push(t: number, k: number): void {
    while (this.q.length && this.q[this.q.length - 1]!.k <= k) this.q.pop();
    this.q.push({ t, k });
  }
  value(now: number): number {
    while (this.q.length && this.q[0]!.t < now - this.memoryMs) this.q.shift();
    return this.q[0]?.k ?? 0;
  }
}

/**
 * Bursts of ADDs: ADDs less than `gapMs` apart are one burst. Two sliding maxima over `memoryMs`:
 * - `short`: the most ADDs inside one refill window (the ADDs a pool must have ready when a burst starts: the
 *   refill asked for at its first ADD lands one assign later);
 * - `total`: the largest whole burst (what that first refill should ask for).
 * And the burst in progress, if any, so the policy can ask for the rest of it at once.
 */
export class BurstTracker {
  private readonly shortMax: SlidingMax;
  private readonly totalMax: SlidingMax;
  private recent: number[] = [];
  private head = 0;
  private last = -Infinity;
  private size = 0;

  constructor(
    readonly memoryMs: number,
    readonly gapMs: number,
  ) {
    this.shortMax = new SlidingMax(memoryMs);
    this.totalMax = new SlidingMax(memoryMs);
  }

  record(now: number, windowMs: number): void {
    if (now - this.last > this.gapMs) {
      if (this.size > 0) this.totalMax.push(this.last, this.size);
      this.size = 0;
    }
    this.size++;
    this.last = now;
    this.recent.push(now);
    while (this.recent[this.head]! < now - windowMs) this.head++;
    if (this.head > 1024) {
      this.recent = this.recent.slice(this.head);
      this.head = 0;
    }
    this.shortMax.push(now, this.recent.length - this.head);
  }

  /** The most ADDs seen inside one refill window. */
  short(now: number): number {
    return this.shortMax.value(now);
  }

  /** The largest burst seen, the one in progress included. */
  total(now: number): number {
    return Math.max(this.totalMax.value(now), this.inProgress(now));
  }

  /** ADDs so far of the burst in progress (0 when the last ADD is more than gapMs ago). */
  inProgress(now: number): number {
    return now - this.last <= this.gapMs ? this.size : 0;
  }
}

/** Sliding maximum over `memoryMs` of "ADDs within `windowMs` up to and including this one". */
export class BurstMax {
  /** ADD times within the current window (for the count). */
  private recent: number[] = [];
  private head = 0;
  /** (time, count) pairs with strictly decreasing counts: the front is the maximum. */
  private maxes: Array<{ t: number; k: number }> = [];

  constructor(readonly memoryMs: number) {}

  /** Records an ADD at `now`, counting those within `windowMs` before it (itself included). */
  record(now: number, windowMs: number): void {
    this.recent.push(now);
    while (this.recent[this.head]! < now - windowMs) this.head++;
    if (this.head > 1024) {
      this.recent = this.recent.slice(this.head);
      this.head = 0;
    }
    const k = this.recent.length - this.head;
    while (this.maxes.length && this.maxes[this.maxes.length - 1]!.k <= k) this.maxes.pop();
    this.maxes.push({ t: now, k });
  }

  /** The largest count recorded within the memory before `now` (0 if none). */
  value(now: number): number {
    while (this.maxes.length && this.maxes[0]!.t < now - this.memoryMs) this.maxes.shift();
    return this.maxes[0]?.k ?? 0;
  }
}

/**
 * The reserve kept while history is short: `full` (what the AWS default keeps free) for `holdMs` after start,
 * then falling linearly to 0 over `decayMs`. Rounded up: a half address is a whole one.
 */
export function startupPrior(ageMs: number, full: number, holdMs: number, decayMs: number): number {
  if (ageMs < holdMs) return full;
  if (decayMs <= 0 || ageMs >= holdMs + decayMs) return 0;
  return Math.ceil(full * (1 - (ageMs - holdMs) / decayMs));
}
