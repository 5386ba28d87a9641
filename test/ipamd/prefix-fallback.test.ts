/**
 * PREFIX_FALLBACK_TO_IPS: when no /28 can be had, prefix mode grows with
 * secondary /32s that count as usable (Datastore.fallbackIps, planner
 * growKind), and drains them once prefixes work again. Without the flag,
 * growth pauses as before.
 */
import { describe, expect, it } from 'vitest';
import { Datastore } from '../../ipamd/datastore/datastore.js';
import { planPool } from '../../ipamd/pool/planner.js';
import { PrefixFallback } from '../../ipamd/pool/prefix-fallback.js';
import type { NetworkInterface } from '../../providers/types.js';
import { SimCloud } from '../../providers/sim/index.js';
import { drive, virtualNode } from '../helpers/virtual-daemon.js';

const nic = (id: string, deviceIndex: number, blocks: NetworkInterface['blocks']): NetworkInterface => ({
  id,
  deviceIndex,
  mac: `02:00:00:00:00:0${deviceIndex}`,
  subnetId: 'subnet-a',
  subnetCidr: '10.0.0.0/24',
  primaryIp: `10.0.0.${10 + deviceIndex}`,
  securityGroups: [],
  blocks,
  tags: {},
});
const key = (id: string) => ({ network: 'n', containerId: id, ifName: 'eth0' });
const targets = { warmInterfaces: 1, warmIps: 0, minimumIps: 0, warmPrefixes: 1 };
const limits = { maxInterfaces: 3, slotsPerInterface: 9, canCreateInterfaces: true };

/** A subnet where every aligned /28 holds one taken address: addresses left, no prefix block. */
function fragmentedCloud(errorCodes?: { noPrefixBlock: string }): SimCloud {
  const cloud = new SimCloud({ seed: 3, ...(errorCodes ? { errorCodes } : {}) });
  cloud.seedNode({ instanceType: 'm5.large', subnetCidr: '10.0.0.0/24' });
  const subnet = cloud.describeSubnets()[0]!;
  const used = new Set(cloud.subnetAllocations(subnet.id).used);
  for (let b = 16; b < 240; b += 16) {
    const ip = [5, 6, 7].map((o) => `10.0.0.${b + o}/32`).find((c) => !used.has(c))!;
    cloud.reserveCidr(subnet.id, ip, { description: 'another tenant' });
  }
  return cloud;
}

describe('datastore and planner with fallback IPs', () => {
  it('counts /32s in prefix mode as usable only with fallbackIps, hands them out after prefix addresses', () => {
    const ds = new Datastore('prefix', 0);
    ds.upsertInterface(
      nic('eni-1', 0, [
        { cidr: '10.0.0.32/28', kind: 'prefix' },
        { cidr: '10.0.0.7/32', kind: 'ip' },
        { cidr: '10.0.0.8/32', kind: 'ip' },
      ]),
      0,
    );
    let s = ds.snapshot(0);
    expect([s.total, s.interfaces[0]!.staleBlocks]).toEqual([16, ['10.0.0.7/32', '10.0.0.8/32']]);
    ds.fallbackIps = true;
    s = ds.snapshot(0);
    expect([
      s.total,
      s.available,
      s.interfaces[0]!.staleBlocks,
      s.interfaces[0]!.freeBlocks,
      s.interfaces[0]!.fallbackIps,
    ]).toEqual([18, 18, [], ['10.0.0.32/28'], 2]);
    const ips = Array.from({ length: 18 }, (_, i) => ds.assign(key(`p${i}`), {}, 0)!.assignment.ip);
    expect(
      ips
        .slice(0, 16)
        .every((ip) => ip.startsWith('10.0.0.') && Number(ip.split('.')[3]) >= 32 && Number(ip.split('.')[3]) < 48),
    ).toBe(true);
    expect(ips.slice(16)).toEqual(['10.0.0.7', '10.0.0.8']);
    ds.release(key('p17'), 0);
    ds.fallbackIps = false; // prefixes work again: the free /32 is stale, the used one drains
    s = ds.snapshot(0);
    expect([s.interfaces[0]!.staleBlocks, s.interfaces[0]!.staleAssigned]).toEqual([['10.0.0.8/32'], 1]);
  });

  it('plans /32s for a prefix shortfall when growKind is ip, and skips interfaces in exhausted subnets', () => {
    const ds = new Datastore('prefix', 0);
    ds.upsertInterface(nic('eni-1', 0, []), 0);
    ds.upsertInterface(nic('eni-2', 1, []), 0);
    const s = ds.snapshot(0);
    const base = { shrinkIntervalMs: 0, minInterfaceLifetimeMs: 0 };
    expect(planPool(s, targets, limits, base).actions).toEqual([
      { kind: 'assign', interfaceId: 'eni-1', blockKind: 'prefix', count: 1 },
    ]);
    expect(planPool(s, targets, limits, { ...base, noGrowthOn: new Set(['eni-1']) }).actions).toEqual([
      { kind: 'assign', interfaceId: 'eni-2', blockKind: 'prefix', count: 1 },
    ]);
    expect(planPool(s, targets, limits, { ...base, growKind: 'ip' }).actions).toEqual([
      { kind: 'assign', interfaceId: 'eni-1', blockKind: 'ip', count: 9 },
      { kind: 'assign', interfaceId: 'eni-2', blockKind: 'ip', count: 7 },
    ]);
  });

  it('keeps exhausted subnets and the IP window for the backoff only, and only when enabled', () => {
    const off = new PrefixFallback(false, 1000);
    expect(off.enterIpMode(0)).toBe(false);
    const fb = new PrefixFallback(true, 1000);
    fb.recordShortage(['subnet-a'], 0);
    expect([...fb.exhaustedSubnets(999)]).toEqual(['subnet-a']);
    expect([...fb.exhaustedSubnets(1000)]).toEqual([]);
    expect(fb.enterIpMode(0)).toBe(true);
    expect([fb.growKind(500), fb.growKind(1000)]).toEqual(['ip', undefined]);
    fb.enterIpMode(0);
    fb.prefixGrew();
    expect(fb.ipMode(1)).toBe(false);
  });
});

describe('daemon in prefix mode on a fragmented subnet (sim cloud, virtual clock)', () => {
  it('without PREFIX_FALLBACK_TO_IPS: growth pauses and an ADD fails naming InsufficientCidrBlocks', async () => {
    const n = await virtualNode({ ENABLE_PREFIX_DELEGATION: 'true' }, { cloud: fragmentedCloud() });
    expect(n.daemon.snapshot().total).toBe(0);
    expect(n.daemon.reconciler.growthBlocked?.reason).toMatch(/InsufficientCidrBlocks/);
    await expect(drive(n.clock, n.add('a'))).rejects.toMatchObject({
      code: 'POOL_EXHAUSTED',
      message: expect.stringMatching(/InsufficientCidrBlocks/),
    });
    expect(n.provider.callCounts().AssignPrivateIpAddresses).toBe(1);
  });

  it('names the code the cloud gave, not the EC2 one: a cloud saying IP_SPACE_EXHAUSTED is reported so', async () => {
    const cloud = fragmentedCloud({ noPrefixBlock: 'IP_SPACE_EXHAUSTED' });
    const n = await virtualNode({ ENABLE_PREFIX_DELEGATION: 'true' }, { cloud });
    const reason = n.daemon.reconciler.growthBlocked?.reason;
    expect(reason).toMatch(/^IP_SPACE_EXHAUSTED: no free prefix block in any candidate subnet/);
    expect(reason).not.toMatch(/InsufficientCidrBlocks/);
    const { body } = await n.daemon.metrics.render();
    expect(body).toMatch(/vpc_ipam_growth_blocked_total\{cloud_code="IP_SPACE_EXHAUSTED"\} 1/);
    expect(body).not.toMatch(/InsufficientCidrBlocks/);
  });

  it(
    'with PREFIX_FALLBACK_TO_IPS=true: Pods get /32s; once /28s are free again a prefix comes and the /32s ' + 'drain',
    async () => {
      const cloud = fragmentedCloud();
      const n = await virtualNode(
        {
          ENABLE_PREFIX_DELEGATION: 'true',
          PREFIX_FALLBACK_TO_IPS: 'true',
          IP_COOLDOWN_PERIOD: '0',
          VPC_IPAM_SHRINK_INTERVAL_SECONDS: '0',
        },
        { cloud },
      );
      const pods = [];
      for (let i = 0; i < 6; i++) pods.push(await drive(n.clock, n.add(`p${i}`)));
      const s = n.daemon.snapshot();
      expect(s.mode).toBe('prefix');
      expect(s.assigned).toBe(6);
      expect(s.interfaces[0]!.fallbackIps).toBeGreaterThanOrEqual(9);
      expect(n.daemon.datastore.fallbackIps).toBe(true);
      const fallbackIps = new Set(cloud.getInterface(s.interfaces[0]!.id).privateIps);
      for (const p of pods) expect(fallbackIps.has(p.ip)).toBe(true);
      // The other tenant leaves; after the backoff the pool asks for a /28 again and gets it.
      for (const r of cloud.describeReservations()) cloud.releaseReservation(r.id);
      await n.clock.advance(125_000);
      for (let i = 6; i < 12; i++) pods.push(await drive(n.clock, n.add(`p${i}`)));
      await n.clock.advance(10_000);
      expect(n.daemon.datastore.fallbackIps).toBe(false);
      const onNode = () => cloud.getInstance(cloud.describeInstances()[0]!.id).interfaces;
      expect(onNode().flatMap((i) => i.prefixes).length).toBeGreaterThanOrEqual(1);
      // Nobody lost an address: all twelve Pods still hold theirs, on the node.
      const held = new Set(onNode().flatMap((i) => i.privateIps));
      for (const p of pods) expect(held.has(p.ip)).toBe(true);
      // The fallback /32s go back as their Pods leave; prefixes serve from now on.
      for (let i = 0; i < 12; i++) await n.del(`p${i}`);
      await n.clock.advance(60_000);
      expect(onNode().flatMap((i) => i.privateIps)).toEqual([]);
      expect(n.daemon.snapshot().available).toBeGreaterThanOrEqual(16);
    },
  );
});
