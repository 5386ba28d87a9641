/**
 * @module pool status
 * The daemon's reporting as pure functions: the readiness it answers STATUS, /v1/pool and the node condition
 * with, and the cloud call counts by operation the status line sums.
 */
import type * as client from 'prom-client';
import type { PoolStatus } from '../../cni/contract/protocol.js';
import type { GrowthState } from '../allocator.js';
import type { PoolSnapshot } from '../datastore/types.js';

export interface PoolStatusInputs {
  initialised: boolean;
  /** Why the checkpoint cannot be written, if it cannot: an ADD is answered only after its write. */
  persistProblem: string | undefined;
  snapshot: PoolSnapshot;
  growth: GrowthState;
}

/** Ready when an ADD can be served now, soon (growth, a cooldown ending), and its write can be made. */
export function poolStatus(x: PoolStatusInputs): PoolStatus {
  const { snapshot: s, growth: g, persistProblem: persist } = x;
  const ready = x.initialised && !persist && (s.available > 0 || g.canGrow || s.cooling > 0);
  const reason = !x.initialised ? 'ipamd is initialising' : (persist ?? `pool empty and cannot grow: ${g.reason}`);
  return {
    ready,
    ...(ready ? {} : { reason }),
    total: s.total,
    assigned: s.assigned,
    available: s.available,
    cooling: s.cooling,
  };
}

/** Cloud call attempts by operation, from a daemon's metrics registry. */
export function cloudCallCounts(registry: client.Registry): Record<string, number> {
  const out: Record<string, number> = {};
  const m = registry.getSingleMetric('vpc_ipam_cloud_calls_total') as unknown as {
    hashMap?: Record<string, { value: number; labels: { operation: string } }>;
  };
  for (const v of Object.values(m?.hashMap ?? {})) out[v.labels.operation] = (out[v.labels.operation] ?? 0) + v.value;
  return out;
}
