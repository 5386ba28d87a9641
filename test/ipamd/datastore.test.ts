import { describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../../ipamd/datastore/checkpoint.js';
import { Datastore } from '../../ipamd/datastore/datastore.js';
import type { NetworkInterface } from '../../providers/types.js';

function nic(id: string, deviceIndex: number, blocks: string[]): NetworkInterface {
  return {
    id,
    deviceIndex,
    mac: `02:00:00:00:00:0${deviceIndex}`,
    subnetId: 'subnet-1',
    subnetCidr: '10.0.0.0/24',
    primaryIp: `10.0.0.${10 + deviceIndex}`,
    securityGroups: [],
    tags: {},
    blocks: blocks.map((cidr) => ({ cidr, kind: cidr.endsWith('/32') ? 'ip' : 'prefix' })),
  };
}
const key = (c: string) => ({ network: 'vpc-ipam', containerId: c, ifName: 'eth0' });

describe('Datastore', () => {
  it('an excluded interface (no_manage, trunk, EFA) is not pool capacity and never gives an address', () => {
    const ds = new Datastore('ip', 0);
    ds.upsertInterface({ ...nic('eni-1', 1, ['10.0.0.40/32']), excluded: 'interface type trunk' }, 0);
    expect(ds.snapshot(0)).toMatchObject({ total: 0, available: 0 });
    expect(ds.snapshot(0).interfaces[0]).toMatchObject({ id: 'eni-1', usable: false });
    expect(ds.assign(key('c1'), {}, 0)).toBeUndefined();
  });

  it('holds back the addresses of an interface whose host link is not ready, counting them as capacity', () => {
    const ds = new Datastore('ip', 0);
    ds.upsertInterface(nic('eni-0', 0, ['10.0.0.20/32']), 0);
    ds.upsertInterface(nic('eni-1', 1, ['10.0.0.40/32', '10.0.0.41/32']), 0);
    const ready = new Set<string>();
    ds.handOutFrom = (n) => n.deviceIndex === 0 || ready.has(n.id);
    expect(ds.snapshot(0).available).toBe(3);
    expect(ds.assign(key('c1'), {}, 0)!.assignment.interfaceId).toBe('eni-0');
    expect(ds.assign(key('c2'), {}, 0)).toBeUndefined();
    ready.add('eni-1');
    expect(ds.assign(key('c2'), {}, 0)!.assignment.interfaceId).toBe('eni-1');
  });

  it('repeating an ADD with the same key returns the same IP', () => {
    const ds = new Datastore('ip', 30_000);
    ds.upsertInterface(nic('eni-0', 0, ['10.0.0.20/32', '10.0.0.21/32']), 0);
    const a = ds.assign(key('c1'), {}, 0)!;
    const b = ds.assign(key('c1'), {}, 1)!;
    expect(b.existing).toBe(true);
    expect(b.assignment.ip).toBe(a.assignment.ip);
    expect(ds.snapshot(1).assigned).toBe(1);
  });

  it('bin-packs onto the fullest interface and the fullest prefix', () => {
    const ds = new Datastore('prefix', 0);
    ds.upsertInterface(nic('eni-0', 0, ['10.0.0.16/28', '10.0.0.32/28']), 0);
    ds.upsertInterface(nic('eni-1', 1, ['10.0.1.16/28']), 0);
    const ips = Array.from({ length: 20 }, (_, i) => ds.assign(key(`c${i}`), {}, 0)!.assignment);
    // Everything lands on eni-0 (fullest after the first), filling one /28 before the next.
    expect(new Set(ips.map((a) => a.interfaceId))).toEqual(new Set(['eni-0']));
    expect(ips.slice(0, 16).every((a) => a.blockCidr === ips[0]!.blockCidr)).toBe(true);
    // After churn the emptier prefix drains and becomes releasable.
    for (let i = 16; i < 20; i++) ds.release(key(`c${i}`), 1);
    const s = ds.snapshot(2);
    expect(s.interfaces.find((i) => i.id === 'eni-0')!.freeBlocks).toHaveLength(1);
    expect(s.interfaces.find((i) => i.id === 'eni-1')!.freeBlocks).toEqual(['10.0.1.16/28']);
  });

  it('cooling addresses are neither available nor handed out until the cooldown ends', () => {
    const ds = new Datastore('ip', 30_000);
    ds.upsertInterface(nic('eni-0', 0, ['10.0.0.20/32']), 0);
    ds.assign(key('c1'), {}, 0);
    ds.release(key('c1'), 1_000);
    let s = ds.snapshot(1_000);
    expect([s.available, s.cooling, s.nextCoolingExpiry]).toEqual([0, 1, 31_000]);
    expect(ds.assign(key('c2'), {}, 30_999)).toBeUndefined();
    expect(ds.assign(key('c2'), {}, 31_000)!.assignment.ip).toBe('10.0.0.20');
    s = ds.snapshot(31_000);
    expect([s.available, s.cooling, s.assigned]).toEqual([0, 0, 1]);
  });

  it('refuses to remove blocks with assigned or cooling addresses', () => {
    const ds = new Datastore('ip', 30_000);
    ds.upsertInterface(nic('eni-0', 0, ['10.0.0.20/32', '10.0.0.21/32', '10.0.0.22/32']), 0);
    ds.assign(key('a'), {}, 0);
    ds.assign(key('b'), {}, 0);
    ds.release(key('b'), 0);
    expect(ds.removeBlocks('eni-0', ['10.0.0.20/32', '10.0.0.21/32', '10.0.0.22/32'], 10)).toEqual([
      '10.0.0.20/32',
      '10.0.0.21/32',
    ]);
    expect(ds.removeInterface('eni-0', 10)).toBe(false);
  });

  it('sync never force-removes an address a Pod uses, and ignores recently released blocks', () => {
    const ds = new Datastore('ip', 0);
    ds.upsertInterface(nic('eni-0', 0, ['10.0.0.20/32', '10.0.0.21/32']), 0);
    ds.upsertInterface(nic('eni-1', 1, ['10.0.1.20/32']), 0);
    ds.assign(key('a'), {}, 0); // 10.0.0.20 on eni-0 (lowest device index first)
    const r = ds.syncFromCloud([nic('eni-0', 0, ['10.0.0.22/32', '10.0.0.23/32'])], 5, new Set(['10.0.0.23/32']));
    expect(r.keptInUse).toEqual(['10.0.0.20/32']);
    expect(r.removedBlocks).toEqual(['10.0.0.21/32']);
    expect(r.addedBlocks).toEqual(['10.0.0.22/32']);
    expect(r.removedInterfaces).toEqual(['eni-1']);
    expect(ds.find(key('a'))!.ip).toBe('10.0.0.20');
  });

  it('restores assignments; unknown addresses become orphans that are kept and re-adopted', () => {
    const ds = new Datastore('ip', 0);
    ds.upsertInterface(nic('eni-0', 0, ['10.0.0.20/32']), 0);
    const a = { ...key('a'), ip: '10.0.0.20', interfaceId: 'eni-0', blockCidr: '10.0.0.20/32', pod: {}, assignedAt: 0 };
    const b = { ...key('b'), ip: '10.0.9.9', interfaceId: 'eni-9', blockCidr: '10.0.9.9/32', pod: {}, assignedAt: 0 };
    expect(ds.restore([a, b], [], 1)).toEqual({ restored: 1, orphaned: 1 });
    expect(ds.list()).toHaveLength(2);
    ds.upsertInterface(nic('eni-9', 1, ['10.0.9.9/32']), 2);
    expect(ds.orphaned()).toHaveLength(0);
    expect(ds.snapshot(3).assigned).toBe(2);
  });

  it('a rolled-back release is not put back over an address another attachment took meanwhile', () => {
    const ds = new Datastore('ip', 0); // no cooldown: a released address is free at once
    ds.upsertInterface(nic('eni-0', 0, ['10.0.0.20/32']), 0);
    const a = ds.assign(key('a'), {}, 0)!.assignment;
    ds.release(key('a'), 1);
    const b = ds.assign(key('b'), {}, 2)!.assignment;
    expect(b.ip).toBe(a.ip);
    expect(ds.restoreAssignment(a)).toBe(b); // refused, names the holder
    expect(ds.list()).toEqual([b]);
    expect(ds.snapshot(3).assigned).toBe(1);
    // Without a collision the rollback puts it back.
    ds.release(key('b'), 4);
    expect(ds.restoreAssignment(b)).toBeUndefined();
    expect(ds.find(key('b'))).toBe(b);
  });

  it('an ADD rollback undoes only the assignment that ADD made', () => {
    const ds = new Datastore('ip', 0);
    ds.upsertInterface(nic('eni-0', 0, ['10.0.0.20/32', '10.0.0.21/32']), 0);
    const first = ds.assign(key('a'), {}, 0)!.assignment;
    ds.release(key('a'), 1);
    const again = ds.assign(key('a'), {}, 2)!.assignment;
    expect(ds.unassign(key('a'), first)).toBeUndefined();
    expect(ds.find(key('a'))).toBe(again);
    expect(ds.unassign(key('a'), again)).toBe(again);
    expect(ds.list()).toEqual([]);
  });
});

const PREFIX_80 = '2001:db8:0:1:2::/80';

describe('Datastore blocks are ranges', () => {
  it('assigns from and releases into an IPv6 /80 without listing its 2^48 addresses', () => {
    const ds = new Datastore('prefix', 30_000);
    ds.upsertInterface(nic('eni-0', 0, [PREFIX_80]), 0);
    const ips = ['a', 'b', 'c'].map((c) => ds.assign(key(c), {}, 0)!.assignment);
    expect(ips.map((a) => a.ip)).toEqual(['2001:db8:0:1:2::', '2001:db8:0:1:2::1', '2001:db8:0:1:2::2']);
    expect(ips[0]).toMatchObject({ interfaceId: 'eni-0', blockCidr: PREFIX_80 });

    ds.release(key('b'), 1_000);
    let s = ds.snapshot(1_000);
    expect(s).toMatchObject({ total: 2 ** 48, assigned: 2, cooling: 1, nextCoolingExpiry: 31_000 });
    expect(s.available).toBe(2 ** 48 - 3);
    expect(s.blockSize).toBe(2 ** 48);
    expect(ds.coolingEntries(1_000)).toEqual([{ ip: '2001:db8:0:1:2::1', until: 31_000 }]);
    // The cooling address is skipped, then handed out again once its cooldown ends.
    expect(ds.assign(key('d'), {}, 2_000)!.assignment.ip).toBe('2001:db8:0:1:2::3');
    expect(ds.assign(key('e'), {}, 31_000)!.assignment.ip).toBe('2001:db8:0:1:2::1');

    expect(ds.removeBlocks('eni-0', [PREFIX_80], 40_000)).toEqual([PREFIX_80]);
    for (const c of ['a', 'c', 'd', 'e']) ds.release(key(c), 40_000);
    s = ds.snapshot(40_000);
    expect([s.assigned, s.cooling]).toEqual([0, 4]);
    expect(ds.removeBlocks('eni-0', [PREFIX_80], 70_000)).toEqual([]);
    expect(ds.snapshot(70_000)).toMatchObject({ total: 0, interfaces: [{ blocks: 0, freeBlocks: [] }] });
  });

  it('restores IPv6 assignments and cooldowns by address, whatever their spelling', () => {
    const ds = new Datastore('prefix', 30_000);
    ds.upsertInterface(nic('eni-0', 0, [PREFIX_80]), 0);
    const held = { ...key('a'), ip: '2001:db8:0:1:2::7', interfaceId: '?', blockCidr: '?', pod: {}, assignedAt: 0 };
    const cooling = [{ ip: '2001:0db8:0:1:2:0:0:8', until: 50 }];
    expect(ds.restore([held], cooling, 10)).toEqual({ restored: 1, orphaned: 0 });
    expect(ds.find(key('a'))).toMatchObject({ interfaceId: 'eni-0', blockCidr: PREFIX_80 });
    expect(ds.coolingEntries(10)).toEqual([{ ip: '2001:db8:0:1:2::8', until: 50 }]);
    expect(ds.snapshot(10)).toMatchObject({ assigned: 1, cooling: 1 });
  });

  it('loads a checkpoint as the list-based datastore wrote it and hands out the same addresses', () => {
    // Written by the version that kept every address of a block: cooldowns in block order, lowest first.
    const text = JSON.stringify({
      version: 'vpc-ipam/1',
      assignments: [
        { ...key('a'), ip: '10.0.1.17', interfaceId: 'eni-0', blockCidr: '10.0.1.16/28', pod: {}, assignedAt: 5 },
        { ...key('b'), ip: '10.0.0.40', interfaceId: 'eni-1', blockCidr: '10.0.0.40/32', pod: {}, assignedAt: 6 },
      ],
      cooling: [
        { ip: '10.0.1.16', until: 100 },
        { ip: '10.0.1.20', until: 90 },
        { ip: '10.0.0.41', until: 80 },
      ],
    });
    const data = parseCheckpoint(text, 'fixture');
    const ds = new Datastore('prefix', 30_000);
    ds.fallbackIps = true;
    ds.upsertInterface(nic('eni-0', 0, ['10.0.1.16/28']), 0);
    ds.upsertInterface(nic('eni-1', 1, ['10.0.0.40/32', '10.0.0.41/32']), 0);
    expect(ds.restore(data.assignments, data.cooling, 10)).toEqual({ restored: 2, orphaned: 0 });
    expect(ds.coolingEntries(10)).toEqual(data.cooling);
    const s = ds.snapshot(10);
    expect(s).toMatchObject({ total: 18, assigned: 2, cooling: 3, available: 13, nextCoolingExpiry: 80 });
    // Bin-packing: the fullest interface first, lowest free address of its fullest block.
    expect(ds.assign(key('c'), {}, 10)!.assignment.ip).toBe('10.0.1.18');
  });
});
