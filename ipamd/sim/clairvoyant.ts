/**
 * @module sim clairvoyant bound
 * The least idle a pool could hold on a trace if it knew the future (issue
 * 17): each Pod's address is assigned exactly one assign latency before the
 * Pod arrives (so no ADD waits), and after the Pod's DEL the address sits out
 * the configured cooldown before it can go back to the cloud, both counted as
 * idle. Nothing else is ever held free. It is the yardstick the benchmark
 * divides every policy's average idle by.
 *
 * Exactly as the issue defines it: no credit is given for handing an address
 * whose cooldown ends just as a Pod arrives to that Pod (that would save at
 * most one assign latency per Pod). Pure; times in ms.
 */
import type { TraceEvent } from './trace.js';

export interface ClairvoyantOptions {
  /** How long one assign takes (the profile's AssignPrivateIpAddresses), ms. */
  assignMs: number;
  /** IP_COOLDOWN_PERIOD, ms. */
  cooldownMs: number;
  /** End of the measured span, ms (the trace's duration); idle after it is not counted. */
  durationMs: number;
}

export interface ClairvoyantBound {
  /** Idle address-ms over [0, durationMs]. */
  idleMs: number;
  /** Time-weighted average idle addresses (idleMs ÷ durationMs). */
  avgIdle: number;
}

/** The bound for `events` (ADDs and DELs in time order, as parseTrace returns them). */
export function clairvoyantBound(
  events: readonly Pick<TraceEvent, 'tMs' | 'op'>[],
  o: ClairvoyantOptions,
): ClairvoyantBound {
  const T = o.durationMs;
  let idle = 0;
  for (const e of events) {
    if (e.op === 'add') {
      // Held from max(0, t − assign) to t: before the trace starts nothing is measured.
      idle += Math.min(o.assignMs, Math.max(0, Math.min(e.tMs, T)));
    } else {
      // Held from the DEL until its cooldown ends, or until the end of the measured span.
      idle += Math.max(0, Math.min(o.cooldownMs, T - e.tMs));
    }
  }
  return { idleMs: idle, avgIdle: T > 0 ? idle / T : 0 };
}
