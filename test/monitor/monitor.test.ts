/**
 * The sampling loop on the sim cloud and a virtual clock: synthetic
 * consumption through the cloud gives exact rates, ETAs and headroom; a
 * failing read keeps the previous numbers; gauges carry the right labels.
 */
import * as client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerSubnetMetrics, SUBNET_GAUGES } from '../../ipamd/monitor/metrics.js';
import { SubnetMonitor } from '../../ipamd/monitor/monitor.js';
import { ListUsageSource, type NodePoolUsage } from '../../ipamd/monitor/pool-usage.js';
import type { MonitorSettings } from '../../ipamd/config/monitor.js';
import { RESERVED_RULES } from '../../ipamd/monitor/subnet-space.js';
import { VirtualClock } from '../../ipamd/util/clock.js';
import { SimCloud } from '../../providers/sim/cloud.js';
import { FaultInjector } from '../../providers/sim/faults.js';
import { ZERO_LATENCY } from '../../providers/sim/latency.js';
import { SimProvider } from '../../providers/sim/sim-provider.js';
import { ThrottledError } from '../../providers/errors.js';

const MIN = 60_000;
const SETTINGS: MonitorSettings = {
  intervalMs: MIN,
  windowMs: 10 * MIN,
  paceMs: 0,
  reserved: RESERVED_RULES.aws,
  prefixLength: 28,
};

function world(opts: { faults?: (clock: VirtualClock) => FaultInjector } = {}) {
  const clock = new VirtualClock(1_700_000_000_000);
  const cloud = new SimCloud({ seed: 3, clock });
  const instanceId = cloud.seedNode({ instanceType: 'm5.large', subnetCidr: '10.0.1.0/24' });
  const inst = cloud.getInstance(instanceId);
  const subnetId = inst.interfaces[0]!.subnetId;
  const eni = inst.interfaces[0]!.id;
  const provider = new SimProvider({
    cloud,
    instanceId,
    clock,
    latency: ZERO_LATENCY,
    ...(opts.faults ? { faults: opts.faults(clock) } : {}),
  });
  return { clock, cloud, subnetId, eni, provider };
}

describe('SubnetMonitor', () => {
  it('measures a steady consumer exactly: 6 IPs a minute → 0.1/s, ETA = free × 10 s', async () => {
    const { clock, cloud, subnetId, provider } = world();
    const m = new SubnetMonitor({
      provider,
      clock,
      settings: SETTINGS,
      subnets: async () => [subnetId],
      mode: () => 'ip',
    });
    for (let k = 0; k <= 8; k++) {
      // A detached interface with 5 secondaries: 6 addresses a minute.
      if (k > 0) cloud.createInterface({ subnetId, secondaryIps: { count: 5 } });
      await m.sample();
      if (k === 1) expect(m.reports()[0]!.etaSeconds).toBeUndefined(); // two samples: no trend yet
      await clock.advance(MIN);
    }
    const r = m.reports()[0]!;
    // 251 usable − the node's primary − 8 interfaces × 6.
    expect(r).toMatchObject({
      subnetId,
      cidr: '10.0.1.0/24',
      zone: 'us-east-1a',
      total: 251,
      used: 49,
      free: 202,
      mode: 'ip',
    });
    expect(r.consumptionPerSecond).toBe(0.1);
    expect(r.etaSeconds).toBe(2020);
    expect(r.addressEtaSeconds).toBe(2020);
    expect(r.freePrefixBlocks).toBe(cloud.freePrefixBlocks(subnetId));
    expect(provider.callCounts()).toEqual({ DescribeNetworkInterfaces: 9 });
  });

  it('in prefix mode forecasts /28 blocks too, and the ETA is the earlier of the two', async () => {
    const { clock, cloud, subnetId, eni, provider } = world();
    const m = new SubnetMonitor({
      provider,
      clock,
      settings: SETTINGS,
      subnets: async () => [subnetId],
      mode: () => 'prefix',
    });
    const blocksAt: number[] = [];
    for (let k = 0; k <= 4; k++) {
      if (k > 0) cloud.assignPrefixes(eni, { count: 1 });
      await m.sample();
      blocksAt.push(m.reports()[0]!.freePrefixBlocks!);
      await clock.advance(MIN);
    }
    // One prefix a minute: each takes exactly one free /28 (the primary's /28 is already broken).
    expect(blocksAt.map((b) => blocksAt[0]! - b)).toEqual([0, 1, 2, 3, 4]);
    const r = m.reports()[0]!;
    expect(r.prefixBlockConsumptionPerSecond).toBe(1 / 60);
    expect(r.prefixBlockEtaSeconds).toBe(blocksAt[4]! * 60);
    expect(r.consumptionPerSecond).toBe(16 / 60);
    expect(r.addressEtaSeconds).toBe((r.free * 60) / 16);
    expect(r.etaSeconds).toBe(Math.min(r.addressEtaSeconds!, r.prefixBlockEtaSeconds!));
  });

  it('computes held, assigned and headroom from node pools (formula of report.ts)', async () => {
    const { clock, subnetId, provider } = world();
    const usage: NodePoolUsage[] = [
      { node: 'a', subnetId, total: 18, assigned: 11, warmTarget: 9 },
      { node: 'b', subnetId, total: 9, assigned: 0, warmTarget: 9 },
      { node: 'c', subnetId: 'subnet-elsewhere', total: 9, assigned: 9 },
    ];
    const m = new SubnetMonitor({
      provider,
      clock,
      settings: SETTINGS,
      usage: new ListUsageSource(usage),
      subnets: async () => [subnetId],
      mode: () => 'ip',
      newNode: () => ({ addresses: 10, blocks: 2 }),
    });
    const r = (await m.sample())[0]!;
    expect(r).toMatchObject({ free: 250, held: 16, assigned: 11, nodes: 2, warmReserve: 18 });
    expect(r.headroomPods).toBe(250 + 16 - 18);
    expect(r.headroomNodes).toBe(25);
  });

  it('keeps the previous numbers with the error when a read fails, and recovers', async () => {
    let faults!: FaultInjector;
    const { clock, subnetId, provider } = world({ faults: (c) => (faults = new FaultInjector({ clock: c })) });
    const m = new SubnetMonitor({
      provider,
      clock,
      settings: SETTINGS,
      subnets: async () => [subnetId],
      mode: () => 'ip',
    });
    await m.sample();
    await clock.advance(MIN);
    faults.failNext(
      'DescribeNetworkInterfaces',
      1,
      (op) =>
        new ThrottledError({
          provider: 'sim',
          operation: op,
          cloudCode: 'RequestLimitExceeded',
          message: 'Request limit exceeded.',
        }),
    );
    await m.sample();
    const r = m.reports()[0]!;
    expect(r.error).toMatch(/CLOUD_THROTTLED/);
    expect(r.free).toBe(250);
    expect(m.stats.readErrors).toBe(1);
    expect(m.errorsByCode.get('CLOUD_THROTTLED')).toBe(1);
    await m.sample();
    expect(m.reports()[0]!.error).toBeUndefined();
  });

  it('paces the reads of one pass and samples once per interval when running', async () => {
    const { clock, cloud, subnetId, provider } = world();
    const vpcId = cloud.getSubnet(subnetId).vpcId;
    const other = cloud.createSubnet({ vpcId, cidr: '10.0.2.0/24', zone: 'us-east-1b' }).id;
    const m = new SubnetMonitor({
      provider,
      clock,
      settings: { ...SETTINGS, paceMs: 500 },
      subnets: async () => [subnetId, other],
      mode: () => 'ip',
      random: () => 0,
    });
    const ac = new AbortController();
    const done = m.run(ac.signal);
    await clock.advance(400);
    expect(provider.callCounts()).toEqual({ DescribeNetworkInterfaces: 1 }); // the second waits for its pace
    await clock.advance(100);
    expect(provider.callCounts()).toEqual({ DescribeNetworkInterfaces: 2 });
    await clock.advance(10 * MIN);
    expect(m.stats.passes).toBe(11);
    expect(provider.callCounts()).toEqual({ DescribeNetworkInterfaces: 22 });
    ac.abort();
    await done;
  });

  it('serves every gauge with subnet_id, zone and cidr labels', async () => {
    const { clock, cloud, subnetId, eni, provider } = world();
    const m = new SubnetMonitor({
      provider,
      clock,
      settings: SETTINGS,
      subnets: async () => [subnetId],
      mode: () => 'ip',
      newNode: () => ({ addresses: 10, blocks: 2 }),
    });
    for (let k = 0; k < 3; k++) {
      cloud.assignPrivateIps(eni, { count: 2 });
      await m.sample();
      await clock.advance(MIN);
    }
    const registry = new client.Registry();
    registerSubnetMetrics(registry, m);
    const text = await registry.metrics();
    const labels = `{subnet_id="${subnetId}",zone="us-east-1a",cidr="10.0.1.0/24"}`;
    for (const g of SUBNET_GAUGES) expect(text).toContain(`${g.name}${labels}`);
    expect(text).toContain(`vpc_ipam_subnet_free_addresses${labels} 244`);
    expect(text).toContain(`vpc_ipam_subnet_consumption_rate${labels} ${2 / 60}`);
    expect(text).toContain(`vpc_ipam_subnet_exhaustion_eta_seconds${labels} ${244 * 30}`);
    expect(text).toContain('vpc_ipam_monitor_passes_total 3');
  });
});
