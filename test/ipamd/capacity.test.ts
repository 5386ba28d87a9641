/**
 * The pool's capacity as pure functions (pool/capacity.ts): its limits on an instance type, and whether it can
 * grow now, which decides whether a waiting ADD keeps waiting and whether an empty pool reports not-ready.
 */
import { describe, expect, it } from 'vitest';
import type { InstanceLimits } from '../../providers/types.js';
import { growthState, poolLimitsFor, type GrowthInputs } from '../../ipamd/pool/capacity.js';
import { iface, M5_LARGE, snap } from '../helpers/pool-snapshots.js';

const full = (id: string, deviceIndex: number) => iface({ id, deviceIndex, blocks: 9, assigned: 9 });
const threeFull = snap([full('eni-0', 0), full('eni-1', 1), full('eni-2', 2)]);

function inputs(p: Partial<GrowthInputs>): GrowthInputs {
  const none = { growthBlocked: undefined, stopping: false, linkPending: () => false };
  return { snapshot: threeFull, limits: M5_LARGE, ...none, ...p };
}

describe('poolLimitsFor', () => {
  const m5: InstanceLimits = {
    instanceType: 'm5.large',
    maxInterfaces: 3,
    ipv4PerInterface: 10,
    prefixLength: 28,
    supportsPrefixes: true,
    supportsIps: true,
    canCreateInterfaces: true,
  };

  it("keeps one slot per interface for its own address, and MAX_ENI only lowers the type's interface count", () => {
    expect(poolLimitsFor({ maxInterfaces: undefined }, m5)).toEqual(M5_LARGE);
    expect(poolLimitsFor({ maxInterfaces: 2 }, m5).maxInterfaces).toBe(2);
    expect(poolLimitsFor({ maxInterfaces: 8 }, m5).maxInterfaces).toBe(3);
  });
});

describe('growthState', () => {
  it('grows with a free slot on a usable interface, or room for a new interface', () => {
    expect(growthState(inputs({ snapshot: snap([iface({ id: 'eni-0', deviceIndex: 0, blocks: 8 })]) }))).toEqual({
      canGrow: true,
    });
    expect(growthState(inputs({ snapshot: snap([full('eni-0', 0)]) }))).toEqual({ canGrow: true });
  });

  it('says why a node at capacity cannot grow, in the mode it runs in', () => {
    expect(growthState(inputs({}))).toEqual({
      canGrow: false,
      reason: 'node at capacity: 3 interfaces × 9 IPs all in use',
    });
    const prefixes = growthState(inputs({ snapshot: { ...threeFull, mode: 'prefix' } }));
    expect(prefixes.reason).toBe('node at capacity: 3 interfaces × 9 prefixes all in use');
  });

  it('does not count room on an interface that must not host Pods, nor a new one where the cloud adds none', () => {
    const primaryRoom = snap([iface({ id: 'eni-0', deviceIndex: 0, usable: false }), full('eni-1', 1)]);
    const twoInterfaces = { ...M5_LARGE, maxInterfaces: 2 };
    expect(growthState(inputs({ snapshot: primaryRoom, limits: twoInterfaces })).canGrow).toBe(false);
    const vmNics = { ...M5_LARGE, canCreateInterfaces: false };
    expect(growthState(inputs({ snapshot: snap([full('eni-0', 0)]), limits: vmNics })).canGrow).toBe(false);
  });

  it('keeps a full node growing while free addresses wait for their host link', () => {
    const waiting = snap([full('eni-0', 0), full('eni-1', 1), iface({ id: 'eni-2', deviceIndex: 2, blocks: 9 })]);
    const linkPending = (i: { id: string }) => i.id === 'eni-2';
    expect(growthState(inputs({ snapshot: waiting, linkPending }))).toEqual({ canGrow: true });
    // The link is up: those addresses are simply free, and the node has no room left.
    expect(growthState(inputs({ snapshot: waiting })).canGrow).toBe(false);
    // A pending link with nothing free on it gives nothing to wait for.
    expect(growthState(inputs({ linkPending: () => true })).canGrow).toBe(false);
  });

  it('stopping comes before a growth pause, and both before any room', () => {
    const room = snap([iface({ id: 'eni-0', deviceIndex: 0 })]);
    const growthBlocked = { reason: 'subnet full' };
    expect(growthState(inputs({ snapshot: room, stopping: true, growthBlocked }))).toEqual({
      canGrow: false,
      reason: 'ipamd is stopping',
    });
    expect(growthState(inputs({ snapshot: room, growthBlocked }))).toEqual({
      canGrow: false,
      reason: 'growth paused: subnet full',
    });
  });
});
