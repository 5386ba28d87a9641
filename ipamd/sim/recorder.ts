/**
 * @module sim recorder
 * Turns the sequence of pool states the replay observes into the figures an
 * operator compares: time-weighted idle addresses, peak held, and the ADD
 * wait distribution.
 *
 * The pool is a step function of virtual time: it only changes when a timer
 * fires (a cloud call completes) or a trace event runs, and the engine
 * samples after each. So integrating "value × time until the next sample"
 * is exact, not an approximation.
 */

export interface PoolSample {
  /** Virtual ms from the start of the trace. */
  t: number;
  /** Addresses the node holds (current mode, usable interfaces). */
  held: number;
  assigned: number;
  /**
   * Read at each sample. A cooldown ends by the clock alone, not by an event, so an expiry between samples shows at
   * the next one (at most one reconcile period later). Only the chart uses it; idle (held − assigned) is exact.
   */
  cooling: number;
}

export interface WaitStats {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export class PoolRecorder {
  private last: PoolSample | undefined;
  private idleMsSum = 0; // Σ idle × ms
  private peak = 0;
  private readonly changes: PoolSample[] = [];

  constructor(
    private readonly startMs: number,
    private readonly endMs: number,
  ) {}

  /** Records the state at `t` (virtual ms from the trace start). Samples must come in time order. */
  sample(s: PoolSample): void {
    const t = Math.min(Math.max(s.t, this.startMs), this.endMs);
    if (this.last) this.idleMsSum += (this.last.held - this.last.assigned) * (t - this.last.t);
    const cur = { ...s, t };
    if (
      !this.last ||
      cur.held !== this.last.held ||
      cur.assigned !== this.last.assigned ||
      cur.cooling !== this.last.cooling
    ) {
      this.changes.push(cur);
    }
    this.last = cur;
    if (s.t <= this.endMs) this.peak = Math.max(this.peak, s.held);
  }

  /** Closes the integral at the end of the trace. */
  finish(): void {
    if (this.last && this.last.t < this.endMs) this.sample({ ...this.last, t: this.endMs });
  }

  /** Time-weighted mean of held − assigned (cooling included) over the trace. */
  avgIdle(): number {
    const span = this.endMs - this.startMs;
    return span > 0 ? this.idleMsSum / span : this.last ? this.last.held - this.last.assigned : 0;
  }

  /** Idle address-seconds (the integral behind {@link avgIdle}). */
  idleIpSeconds(): number {
    return this.idleMsSum / 1000;
  }

  peakHeld(): number {
    return this.peak;
  }

  /** Every change of (held, assigned, cooling), in time order: the chart's data. */
  timeline(): PoolSample[] {
    return this.changes;
  }
}

/** Nearest-rank percentile (p in (0,100]) of `values`; 0 for none. The result is always an observed value. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function waitStats(waits: readonly number[]): WaitStats {
  const sorted = [...waits].sort((a, b) => a - b);
  return {
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length ? sorted[sorted.length - 1]! : 0,
  };
}
