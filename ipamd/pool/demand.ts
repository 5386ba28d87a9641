/**
 * @module expected demand
 * Pods the daemon knows are coming (bound to this node, not yet given an
 * address: the Kubernetes Pod watch counts them) are demand before their ADD
 * arrives. The planner sees them as already taking free addresses, and the
 * part free addresses cannot cover as ADDs waiting, so every target mode
 * grows for them: warm-IP needs `WARM_IP_TARGET + expected − free`, the
 * interface and prefix modes go "low" exactly when the expected Pods would
 * leave them low. Pure; used by the reconciler on the snapshot it plans from
 * (status and metrics keep the real numbers).
 */
import type { PoolSnapshot } from '../datastore/types.js';

export function withExpectedDemand(s: PoolSnapshot, expected: number): PoolSnapshot {
  if (!(expected > 0)) return s;
  const covered = Math.min(expected, s.available);
  return {
    ...s,
    available: s.available - covered,
    assigned: s.assigned + covered,
    waiting: Math.max(s.waiting, expected - s.available),
  };
}
