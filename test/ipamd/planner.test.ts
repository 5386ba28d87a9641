import { describe, expect, it } from 'vitest';
import { planPool } from '../../ipamd/pool/planner.js';
import type { InterfaceView, PoolSnapshot } from '../../ipamd/datastore/types.js';
import { iface, M5_LARGE, PLAN_CTX, snap } from '../helpers/pool-snapshots.js';
import type { WarmTargets } from '../../ipamd/config.js';

const AWS_DEFAULT: WarmTargets = { warmInterfaces: 1, warmIps: 0, minimumIps: 0, warmPrefixes: 1 };
const ctx = PLAN_CTX;

const free = (n: number, prefix = '10.0.0.') => Array.from({ length: n }, (_, i) => `${prefix}${100 + i}/32`);

describe('planPool: WARM_ENI_TARGET (AWS default)', () => {
  it('fills the primary interface on an empty node', () => {
    const p = planPool(snap([iface({ id: 'eni-0', deviceIndex: 0 })]), AWS_DEFAULT, M5_LARGE, ctx);
    expect(p.targetMode).toBe('warm-interface');
    expect(p.actions).toEqual([{ kind: 'assign', interfaceId: 'eni-0', blockKind: 'ip', count: 9 }]);
  });

  it('keeps a whole interface of free IPs: one Pod on a full primary creates a second interface (the AWS trap)', () => {
    const p = planPool(
      snap([iface({ id: 'eni-0', deviceIndex: 0, blocks: 9, assigned: 1, freeBlocks: free(8) })]),
      AWS_DEFAULT,
      M5_LARGE,
      ctx,
    );
    expect(p.actions).toEqual([{ kind: 'createInterface', blockKind: 'ip', count: 9 }]);
  });

  it('counts cooling IPs as unavailable (AWS #2896): 9 free of which 3 cooling grows', () => {
    const s = snap([
      iface({ id: 'eni-0', deviceIndex: 0, blocks: 9, cooling: 3, freeBlocks: free(6) }),
      iface({ id: 'eni-1', deviceIndex: 1, blocks: 9, assigned: 9 }),
    ]);
    expect(s.available).toBe(6);
    const p = planPool(s, AWS_DEFAULT, M5_LARGE, ctx);
    expect(p.actions).toEqual([{ kind: 'createInterface', blockKind: 'ip', count: 9 }]);
  });

  it('never releases single IPs, but deletes an empty secondary interface when the rest covers the target', () => {
    const s = snap([
      iface({ id: 'eni-0', deviceIndex: 0, blocks: 9, freeBlocks: free(9) }),
      iface({ id: 'eni-1', deviceIndex: 1, blocks: 9, freeBlocks: free(9, '10.0.1.') }),
    ]);
    const p = planPool(s, AWS_DEFAULT, M5_LARGE, ctx);
    expect(p.actions).toEqual([{ kind: 'deleteInterface', interfaceId: 'eni-1' }]);
    // Where interfaces come with the VM (Azure's Pod NIC, GCP), an empty one is never deleted: it cannot come back.
    const vmNics = { ...M5_LARGE, canCreateInterfaces: false };
    expect(planPool(s, AWS_DEFAULT, vmNics, ctx).actions).toEqual([]);
    expect(planPool(s, { ...AWS_DEFAULT, warmInterfaces: 0, warmIps: 1 }, vmNics, ctx).actions).not.toContainEqual(
      expect.objectContaining({ kind: 'deleteInterface' }),
    );
  });

  it('does not delete an interface younger than the minimum lifetime', () => {
    const s = snap([
      iface({ id: 'eni-0', deviceIndex: 0, blocks: 9, freeBlocks: free(9) }),
      iface({ id: 'eni-1', deviceIndex: 1, blocks: 9, freeBlocks: free(9, '10.0.1.'), createdAt: 1_000_000 - 10_000 }),
    ]);
    expect(planPool(s, AWS_DEFAULT, M5_LARGE, ctx).actions).toEqual([]);
  });

  it('stops at the instance limit and says so', () => {
    const full = [0, 1, 2].map((d) => iface({ id: `eni-${d}`, deviceIndex: d, blocks: 9, assigned: 9 }));
    const p = planPool(snap(full), AWS_DEFAULT, M5_LARGE, ctx);
    expect(p.actions).toEqual([]);
    expect(p.reason).toMatch(/at capacity/);
  });

  it('honours MAX_ENI through maxInterfaces', () => {
    const s = snap([iface({ id: 'eni-0', deviceIndex: 0, blocks: 9, assigned: 9 })]);
    expect(planPool(s, AWS_DEFAULT, { ...M5_LARGE, maxInterfaces: 1 }, ctx).actions).toEqual([]);
  });

  it('WARM_ENI_TARGET=0 grows only when nothing is free', () => {
    const t = { ...AWS_DEFAULT, warmInterfaces: 0 };
    expect(
      planPool(
        snap([iface({ id: 'eni-0', deviceIndex: 0, blocks: 2, assigned: 1, freeBlocks: free(1) })]),
        t,
        M5_LARGE,
        ctx,
      ).actions,
    ).toEqual([]);
    expect(
      planPool(snap([iface({ id: 'eni-0', deviceIndex: 0, blocks: 2, assigned: 2 })]), t, M5_LARGE, ctx).actions,
    ).toEqual([{ kind: 'assign', interfaceId: 'eni-0', blockKind: 'ip', count: 7 }]);
  });
});

describe('planPool: WARM_IP_TARGET / MINIMUM_IP_TARGET', () => {
  const t = (warmIps: number, minimumIps: number): WarmTargets => ({ ...AWS_DEFAULT, warmIps, minimumIps });

  it.each([
    // [warm, min, total, assigned, cooling, expected assign count]
    [5, 0, 0, 0, 0, 5],
    [5, 0, 5, 2, 0, 2],
    [5, 0, 5, 0, 2, 2], // cooling is not free
    [2, 10, 0, 0, 0, 10], // floor wins
    [5, 10, 10, 8, 0, 3],
    [0, 10, 4, 0, 0, 6], // MINIMUM alone fills to the floor
  ])('warm=%i min=%i total=%i assigned=%i cooling=%i → assign %i', (warm, min, total, assigned, cooling, want) => {
    const s = snap([
      iface({
        id: 'eni-0',
        deviceIndex: 0,
        blocks: total,
        assigned,
        cooling,
        freeBlocks: free(total - assigned - cooling),
      }),
    ]);
    const p = planPool(s, t(warm, min), { ...M5_LARGE, slotsPerInterface: 49 }, ctx);
    expect(p.targetMode).toBe('warm-ip');
    expect(p.actions).toEqual([{ kind: 'assign', interfaceId: 'eni-0', blockKind: 'ip', count: want }]);
  });

  it('MINIMUM_IP_TARGET without WARM_IP_TARGET still grows for a waiting ADD (AWS strands Pods here)', () => {
    const s = snap([iface({ id: 'eni-0', deviceIndex: 0, blocks: 10, assigned: 10 })], { waiting: 2 });
    const p = planPool(s, t(0, 10), { ...M5_LARGE, slotsPerInterface: 49 }, ctx);
    expect(p.shortAddresses).toBe(2);
    expect(p.actions).toEqual([{ kind: 'assign', interfaceId: 'eni-0', blockKind: 'ip', count: 2 }]);
  });

  it('releases IPs over target from the emptiest interface, never below the floor', () => {
    const s = snap([
      iface({ id: 'eni-0', deviceIndex: 0, blocks: 9, assigned: 6, freeBlocks: free(3) }),
      iface({ id: 'eni-1', deviceIndex: 1, blocks: 5, assigned: 1, freeBlocks: free(4, '10.0.1.') }),
    ]);
    const p = planPool(s, t(2, 0), M5_LARGE, ctx);
    expect(p.excessAddresses).toBe(5);
    expect(p.actions).toEqual([
      { kind: 'release', interfaceId: 'eni-1', cidrs: free(4, '10.0.1.') },
      { kind: 'release', interfaceId: 'eni-0', cidrs: free(1) },
    ]);
    const floor = planPool(s, t(2, 12), M5_LARGE, ctx);
    expect(floor.excessAddresses).toBe(2);
  });

  it('deletes a whole empty interface instead of unassigning its IPs one by one', () => {
    const s = snap([
      iface({ id: 'eni-0', deviceIndex: 0, blocks: 9, assigned: 3, freeBlocks: free(6) }),
      iface({ id: 'eni-1', deviceIndex: 1, blocks: 4, freeBlocks: free(4, '10.0.1.') }),
    ]);
    expect(planPool(s, t(5, 0), M5_LARGE, ctx).actions).toEqual([
      { kind: 'deleteInterface', interfaceId: 'eni-1' },
      { kind: 'release', interfaceId: 'eni-0', cidrs: free(1) },
    ]);
  });

  it('holds excess during the shrink interval after a grow', () => {
    const s = snap([iface({ id: 'eni-0', deviceIndex: 0, blocks: 9, freeBlocks: free(9) })]);
    const p = planPool(s, t(2, 0), M5_LARGE, { ...ctx, lastGrowAt: s.now - 5_000 });
    expect(p.actions).toEqual([]);
    expect(p.reason).toMatch(/holding/);
  });

  it('does not grow while growth is blocked, and says why', () => {
    const s = snap([iface({ id: 'eni-0', deviceIndex: 0 })]);
    const p = planPool(s, t(5, 0), M5_LARGE, {
      ...ctx,
      growthBlockedUntil: s.now + 60_000,
      growthBlockedReason: 'InsufficientFreeAddressesInSubnet',
    });
    expect(p.actions).toEqual([]);
    expect(p.reason).toMatch(/paused .*InsufficientFreeAddressesInSubnet/);
  });
});

describe('planPool: prefix delegation', () => {
  const pd = (warmPrefixes: number, warmIps = 0, minimumIps = 0): WarmTargets => ({
    ...AWS_DEFAULT,
    warmPrefixes,
    warmIps,
    minimumIps,
  });
  const pfx = (n: number, base = 0) => Array.from({ length: n }, (_, i) => `10.0.${base}.${i * 16}/28`);
  const ps = (ifaces: InterfaceView[], extra: Partial<PoolSnapshot> = {}) =>
    snap(ifaces, { mode: 'prefix', blockSize: 16, ...extra });

  it('WARM_PREFIX_TARGET=1 adds a prefix as soon as the last free one gets its first Pod', () => {
    const s = ps([iface({ id: 'eni-0', deviceIndex: 0, blocks: 1, slotsUsed: 1, addresses: 16, assigned: 1 })]);
    expect(planPool(s, pd(1), M5_LARGE, ctx).actions).toEqual([
      { kind: 'assign', interfaceId: 'eni-0', blockKind: 'prefix', count: 1 },
    ]);
  });

  it('releases unused prefixes above WARM_PREFIX_TARGET', () => {
    const s = ps([
      iface({ id: 'eni-0', deviceIndex: 0, blocks: 3, slotsUsed: 3, addresses: 48, assigned: 2, freeBlocks: pfx(2) }),
    ]);
    expect(planPool(s, pd(1), M5_LARGE, ctx).actions).toEqual([
      { kind: 'release', interfaceId: 'eni-0', cidrs: [pfx(2)[0]] },
    ]);
  });

  it('WARM_IP_TARGET in prefix mode rounds up to whole prefixes (MINIMUM 20 == 32)', () => {
    const s = ps([iface({ id: 'eni-0', deviceIndex: 0 })]);
    const p = planPool(s, pd(0, 0, 20), M5_LARGE, ctx);
    expect(p.actions).toEqual([{ kind: 'assign', interfaceId: 'eni-0', blockKind: 'prefix', count: 2 }]);
    expect(p.shortAddresses).toBe(32);
  });

  it('releases empty blocks of the other mode after ENABLE_PREFIX_DELEGATION changed', () => {
    const s = ps([
      iface({
        id: 'eni-0',
        deviceIndex: 0,
        slotsUsed: 3,
        staleBlocks: ['10.0.0.5/32', '10.0.0.6/32'],
        staleAssigned: 1,
      }),
    ]);
    const p = planPool(s, pd(1), M5_LARGE, ctx);
    expect(p.actions[0]).toEqual({ kind: 'release', interfaceId: 'eni-0', cidrs: ['10.0.0.5/32', '10.0.0.6/32'] });
    expect(p.actions[1]).toEqual({ kind: 'assign', interfaceId: 'eni-0', blockKind: 'prefix', count: 1 });
  });
});

describe('planPool: WARM_PREFIX_TARGET=0 (GCP runs in prefix mode without the PD variable)', () => {
  const t: WarmTargets = { ...AWS_DEFAULT, warmPrefixes: 0 };
  const pfxSnap = (i: InterfaceView) => snap([i], { mode: 'prefix', blockSize: 16 });
  it('grows one block when nothing is free, then keeps it instead of oscillating', () => {
    const empty = pfxSnap(iface({ id: 'nic0', deviceIndex: 0 }));
    expect(planPool(empty, t, M5_LARGE, ctx).actions).toEqual([
      { kind: 'assign', interfaceId: 'nic0', blockKind: 'prefix', count: 1 },
    ]);
    const grown = pfxSnap(
      iface({ id: 'nic0', deviceIndex: 0, blocks: 1, slotsUsed: 1, addresses: 16, freeBlocks: ['10.4.0.0/28'] }),
    );
    expect(planPool(grown, t, M5_LARGE, ctx).actions).toEqual([]);
  });
  it('still releases a second free block', () => {
    const two = pfxSnap(
      iface({
        id: 'nic0',
        deviceIndex: 0,
        blocks: 2,
        slotsUsed: 2,
        addresses: 32,
        freeBlocks: ['10.4.0.0/28', '10.4.0.16/28'],
      }),
    );
    expect(planPool(two, t, M5_LARGE, ctx).actions).toEqual([
      { kind: 'release', interfaceId: 'nic0', cidrs: ['10.4.0.0/28'] },
    ]);
  });
});
