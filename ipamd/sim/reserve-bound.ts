/**
 * @module sim reserve bound
 * What a pool WITHOUT timing prediction can at best achieve on a trace (issue 17's "online bound"): a pool that
 * keeps a constant reserve of R free addresses and refills each one the instant it is taken, the refill landing
 * one assign latency later. An ADD then finds nothing ready exactly when more than R ADDs arrived within one
 * assign latency up to it (itself included). R is chosen in hindsight: the smallest reserve with no more waits
 * after the node's start than a given count (the AWS default's on the same trace), so the figure is a lower bound
 * for every policy that holds one reserve sized from history, however well: a real refill also meets NotFound
 * retries and the reconcile tick. It is a reference, not a proof: a reserve that varies with the ADD rate can hold
 * less in quiet hours (diurnal), and addresses back from their cooldown can serve a burst beside the reserve.
 *
 * Its idle is R held all the time plus the cooldown after each DEL (as in the clairvoyant bound); the assign
 * latency before each Pod is inside R. Only a policy that knows WHEN bursts come (a schedule, a trend) can hold
 * less, by holding R only around them. Pure; times in ms.
 */
import type { TraceEvent } from './trace.js';

export interface ReserveCurve {
  /**
   * Waits of a perfect learner: its reserve is always the largest k seen so far (k = ADDs within one assign
   * latency, refills instant), or `prior` (default: unlimited) before `learnAfterMs`, the node's start. So only a
   * burst larger than every earlier one waits: what no policy that sizes its reserve from history avoids (a node's
   * first burst of a new size).
   */
  learnerWaits: number;
  /** waits[R] = ADDs after learnAfterMs that would find nothing ready with a constant reserve R; the last is 0. */
  waits: number[];
  /** Average addresses idle in cooldown (each DEL's cooldown, clipped to the trace), the part no pool avoids. */
  coolingIdle: number;
}

/** The waits-versus-reserve curve of `events` for a refill of `assignMs`. O(n) plus the curve's length. */
export function reserveCurve(
  events: readonly Pick<TraceEvent, 'tMs' | 'op'>[],
  o: { assignMs: number; cooldownMs: number; durationMs: number; prior?: number; learnAfterMs?: number },
): ReserveCurve {
  const adds = events.filter((e) => e.op === 'add').map((e) => e.tMs);
  // k[i] = ADDs in (t_i − assign, t_i]: with fewer than k free, the i-th finds the reserve spent.
  const hist: number[] = [0];
  let lo = 0;
  let seen = 0;
  let learnerWaits = 0;
  for (let hi = 0; hi < adds.length; hi++) {
    while (adds[hi]! - adds[lo]! >= o.assignMs) lo++;
    const k = hi - lo + 1;
    // The node's start (before learnAfterMs) is the warm-up's: every policy holds the default's reserve there.
    if (adds[hi]! >= (o.learnAfterMs ?? 0)) hist[k] = (hist[k] ?? 0) + 1;
    const reserve = adds[hi]! < (o.learnAfterMs ?? 0) ? Math.max(seen, o.prior ?? Infinity) : seen;
    if (k > reserve) learnerWaits++;
    seen = Math.max(seen, k);
  }
  // waits[R] = #{i : k_i > R}
  const waits: number[] = new Array<number>(hist.length).fill(0);
  for (let r = hist.length - 2; r >= 0; r--) waits[r] = waits[r + 1]! + (hist[r + 1] ?? 0);
  let cool = 0;
  for (const e of events) if (e.op === 'del') cool += Math.max(0, Math.min(o.cooldownMs, o.durationMs - e.tMs));
  return { waits, learnerWaits, coolingIdle: o.durationMs > 0 ? cool / o.durationMs : 0 };
}

/** The smallest constant reserve with at most `maxWaits` waits, and the idle it holds. */
export function reserveBound(c: ReserveCurve, maxWaits: number): { reserve: number; avgIdle: number } {
  const reserve = Math.max(
    0,
    c.waits.findIndex((w) => w <= maxWaits),
  );
  return { reserve, avgIdle: c.coolingIdle + reserve };
}
