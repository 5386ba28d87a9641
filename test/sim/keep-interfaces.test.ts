/**
 * The planner's `keepInterfaces` target (set by the adaptive policy): an
 * interface the policy wants kept is never deleted, though its addresses
 * are still released.
 */
import { describe, expect, it } from 'vitest';
import type { WarmTargets } from '../../ipamd/config.js';
import { planPool } from '../../ipamd/pool/planner.js';
import { iface, M5_LARGE, PLAN_CTX, snap } from '../helpers/pool-snapshots.js';

const ctx = PLAN_CTX;

const free = (n: number, base: number) => Array.from({ length: n }, (_, i) => `10.0.0.${base + i}/32`);
const targets = (keepInterfaces?: number): WarmTargets => ({
  warmInterfaces: 0,
  warmIps: 1,
  minimumIps: 0,
  warmPrefixes: 0,
  keepInterfaces,
});

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
    const empty = snap([
      iface({ id: 'eni-0', deviceIndex: 0, blocks: 9, assigned: 8, freeBlocks: free(1, 10) }),
      iface({ id: 'eni-1', deviceIndex: 1 }),
    ]);
    expect(planPool(empty, targets(2), M5_LARGE, ctx).actions).toEqual([]);
    expect(planPool(empty, targets(1), M5_LARGE, ctx).actions).toEqual([
      { kind: 'deleteInterface', interfaceId: 'eni-1' },
    ]);
  });

  it('does not change growth: an empty kept interface is room for an assign, not a reason to create one', () => {
    const needy = snap([
      iface({ id: 'eni-0', deviceIndex: 0, blocks: 9, assigned: 9 }),
      iface({ id: 'eni-1', deviceIndex: 1 }),
    ]);
    expect(planPool(needy, targets(2), M5_LARGE, ctx).actions).toEqual([
      { kind: 'assign', interfaceId: 'eni-1', blockKind: 'ip', count: 1 },
    ]);
  });
});
