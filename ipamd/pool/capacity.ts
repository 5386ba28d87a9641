/**
 * @module pool capacity
 * The node's pool limits, and "can this node's pool get more addresses now?", as pure functions over what the
 * daemon knows: a waiting ADD keeps waiting while the answer is yes, and `status()` reports not-ready when it is
 * no and nothing is free. The room checks are shared with the adaptive policy and the plan preparation, so they all
 * mean the same by "room".
 */
import type { InstanceLimits } from '../../providers/types.js';
import type { GrowthState } from '../allocator.js';
import type { InterfaceView, PoolSnapshot } from '../datastore/types.js';
import type { PoolLimits } from './planner.js';

export interface GrowthInputs {
  snapshot: PoolSnapshot;
  limits: PoolLimits;
  /** The reconciler's pause after a failed growth (subnet full, …); undefined while growth may go on. */
  growthBlocked: { reason: string } | undefined;
  /** A graceful stop began: this process grows nothing again. */
  stopping: boolean;
  /** The interface's addresses may not be handed out yet (its host link is still being set up). */
  linkPending: (i: InterfaceView) => boolean;
}

/** MAX_ENI caps the instance type's interfaces; each interface keeps one IPv4 slot for its own address. */
export function poolLimitsFor(config: { maxInterfaces?: number }, L: InstanceLimits): PoolLimits {
  return {
    maxInterfaces: Math.min(config.maxInterfaces ?? Infinity, L.maxInterfaces),
    slotsPerInterface: L.ipv4PerInterface - 1,
    canCreateInterfaces: L.canCreateInterfaces,
  };
}

/** The interface has a free slot for one more secondary IP or prefix. */
export function hasFreeSlot(i: InterfaceView, limits: PoolLimits): boolean {
  return i.slotsUsed < limits.slotsPerInterface;
}

/** The node may attach one more interface. */
export function canAddInterface(s: PoolSnapshot, limits: PoolLimits): boolean {
  return limits.canCreateInterfaces && s.interfaces.length < limits.maxInterfaces;
}

export function growthState(x: GrowthInputs): GrowthState {
  // A stopping ipamd grows nothing: a waiting ADD answers "try again later" now, and the next ipamd serves it.
  if (x.stopping) return { canGrow: false, reason: 'ipamd is stopping' };
  if (x.growthBlocked) return { canGrow: false, reason: `growth paused: ${x.growthBlocked.reason}` };
  const { snapshot: s, limits: L } = x;
  const usable = s.interfaces.filter((i) => i.usable);
  const roomOnExisting = usable.some((i) => hasFreeSlot(i, L));
  const roomForNew = canAddInterface(s, L);
  // Free addresses on an interface whose host link is still being set up: an ADD waits for them.
  const linkPending = usable.some((i) => i.addresses > i.assigned && x.linkPending(i));
  if (roomOnExisting || roomForNew || linkPending) return { canGrow: true };
  const blocks = s.mode === 'prefix' ? 'prefixes' : 'IPs';
  return {
    canGrow: false,
    reason: `node at capacity: ${s.interfaces.length} interfaces × ${L.slotsPerInterface} ${blocks} all in use`,
  };
}
