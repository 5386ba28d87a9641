/**
 * The planner's `keepInterfaces` target (set by the adaptive policy): an
 * interface the policy wants kept is never deleted, though its addresses
 * are still released.
 */
import { describe, expect, it } from 'vitest';
import type { WarmTargets } from '../../ipamd/config.js';
import type { InterfaceView, PoolSnapshot } from '../../ipamd/datastore/types.js';
import { planPool, type PoolLimits } from '../../ipamd/pool/planner.js';

const M5_LARGE: PoolLimits = { maxInterfaces: 3, slotsPerInterface: 9, canCreateInterfaces: true };
const ctx = { shrinkIntervalMs: 30_000, minInterfaceLifetimeMs: 60_000 };
const NOW = 10_000_000;

function iface(p: Partial<InterfaceView> & { id: string; deviceIndex: number }): InterfaceView {
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

function snap(ifaces: InterfaceView[]): PoolSnapshot {
  const total = ifaces.reduce((n, i) => n + i.addresses, 0);
  const assigned = ifaces.reduce((n, i) => n + i.assigned, 0);
  return { now: NOW, mode: 'ip', blockSize: 1, total, assigned, cooling: 0, available: total - assigned, nextCoolingExpiry: undefined, interfaces: ifaces, waiting: 0 };
}

const free = (n: number, base: number) => Array.from({ length: n }, (_, i) => `10.0.0.${base + i}/32`);
const targets = (keepInterfaces?: number): WarmTargets => ({ warmInterfaces: 0, warmIps: 1, minimumIps: 0, warmPrefixes: 0, keepInterfaces });

describe('planPool with keepInterfaces', () => {
  // Primary: 9 IPs, 8 assigned, 1 free (the warm one). eni-1: 3 free IPs, nothing assigned: 3 over target.
  const s = snap([
    iface({ id: 'eni-0', deviceIndex: 0, blocks: 9, assigned: 8, freeBlocks: free(1, 10) }),
    iface({ id: 'eni-1', deviceIndex: 1, blocks: 3, freeBlocks: free(3, 20) }),
  ]);

  it.each([
    [undefined, [{ kind: 'deleteInterface', interfaceId: 'eni-1' }]],
    [1, [{ kind: 'deleteInterface', interfaceId: 'eni-1' }]],
    [2, [{ kind: 'release', interfaceId: 'eni-1', cidrs: free(3, 20) }]],
  ])('keepInterfaces %s → %j', (keep, actions) => {
    expect(planPool(s, targets(keep), M5_LARGE, ctx).actions).toEqual(actions);
  });

  it('does not delete an interface left with no addresses while it is wanted', () => {
    const empty = snap([iface({ id: 'eni-0', deviceIndex: 0, blocks: 9, assigned: 8, freeBlocks: free(1, 10) }), iface({ id: 'eni-1', deviceIndex: 1 })]);
    expect(planPool(empty, targets(2), M5_LARGE, ctx).actions).toEqual([]);
    expect(planPool(empty, targets(1), M5_LARGE, ctx).actions).toEqual([{ kind: 'deleteInterface', interfaceId: 'eni-1' }]);
  });

  it('does not change growth: an empty kept interface is room for an assign, not a reason to create one', () => {
    const needy = snap([iface({ id: 'eni-0', deviceIndex: 0, blocks: 9, assigned: 9 }), iface({ id: 'eni-1', deviceIndex: 1 })]);
    expect(planPool(needy, targets(2), M5_LARGE, ctx).actions).toEqual([{ kind: 'assign', interfaceId: 'eni-1', blockKind: 'ip', count: 1 }]);
  });
});
