/**
 * Test helper: hand-built pool snapshots for the pure planner, so each test
 * states only the numbers it is about.
 */
import type { PoolLimits } from '../../ipamd/pool/planner.js';
import type { InterfaceView, PoolSnapshot } from '../../ipamd/datastore/types.js';

export const M5_LARGE: PoolLimits = { maxInterfaces: 3, slotsPerInterface: 9, canCreateInterfaces: true };
export const PLAN_CTX = { shrinkIntervalMs: 30_000, minInterfaceLifetimeMs: 60_000 };
export const SNAPSHOT_NOW = 1_000_000;

export function iface(p: Partial<InterfaceView> & { id: string; deviceIndex: number }): InterfaceView {
  return {
    subnetId: 'subnet-1',
    primary: p.deviceIndex === 0,
    usable: true,
    createdAt: 0,
    slotsUsed: p.blocks ?? 0,
    blocks: 0,
    addresses: p.blocks ?? 0,
    assigned: 0,
    cooling: 0,
    freeBlocks: [],
    staleBlocks: [],
    staleAssigned: 0,
    ...p,
  };
}

/** A snapshot whose totals are the sums of its interfaces. */
export function snap(ifaces: InterfaceView[], extra: Partial<PoolSnapshot> = {}): PoolSnapshot {
  const total = ifaces.reduce((n, i) => n + i.addresses, 0);
  const assigned = ifaces.reduce((n, i) => n + i.assigned, 0);
  const cooling = ifaces.reduce((n, i) => n + i.cooling, 0);
  return {
    now: SNAPSHOT_NOW,
    mode: 'ip',
    blockSize: 1,
    total,
    assigned,
    cooling,
    available: total - assigned - cooling,
    nextCoolingExpiry: undefined,
    interfaces: ifaces,
    waiting: 0,
    ...extra,
  };
}
