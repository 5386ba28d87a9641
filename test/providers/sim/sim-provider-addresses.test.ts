import { describe, expect, it } from 'vitest';
import { LEGACY_LATENCY } from '../../../providers/sim/latency.js';
import { SimProvider } from '../../../providers/sim/sim-provider.js';
import { AZURE_LIKE_TYPE, drive, failure, L, legacy, node, POD_TAG } from './helpers.js';

describe('assignAddresses / unassignAddresses', () => {
  it('returns exactly the blocks added, after the assign latency', async () => {
    const { provider, clock, podSubnetId, cloud } = node();
    const nic = await drive(
      clock,
      provider.createInterface({ subnetId: podSubnetId, initial: { kind: 'ip', count: 2 } }),
    );
    const t0 = clock.now();
    const added = await drive(clock, provider.assignAddresses(nic.id, { kind: 'ip', count: 3 }));
    expect(clock.now() - t0).toBe(L.AssignPrivateIpAddresses);
    expect(added).toHaveLength(3);
    expect(added.every((b) => b.kind === 'ip')).toBe(true);
    expect(added.some((b) => nic.blocks.some((o) => o.cidr === b.cidr))).toBe(false);
    expect(cloud.getInterface(nic.id).privateIps).toHaveLength(5);
    // Exact addresses: one already held (skipped) and one free one (added).
    const used = new Set(cloud.subnetAllocations(podSubnetId).used);
    const free = Array.from({ length: 200 }, (_, i) => `10.0.2.${i + 10}/32`).find((c) => !used.has(c))!;
    const exact = await drive(clock, provider.assignAddresses(nic.id, { kind: 'ip', cidrs: [free, added[0]!.cidr] }));
    expect(exact).toEqual([{ cidr: free, kind: 'ip' }]);
  });

  it('assigns prefixes on the primary interface and unassigns both kinds in one call', async () => {
    const { provider, clock, cloud, instanceId } = node(legacy);
    const primary = cloud.getInstance(instanceId).primaryInterfaceId;
    const pfx = await drive(clock, provider.assignAddresses(primary, { kind: 'prefix', count: 2 }));
    const ips = await drive(clock, provider.assignAddresses(primary, { kind: 'ip', count: 2 }));
    expect(pfx.every((b) => b.kind === 'prefix' && b.cidr.endsWith('/28'))).toBe(true);
    provider.resetCallCounts();
    const t0 = clock.now();
    await drive(clock, provider.unassignAddresses(primary, [pfx[0]!, ips[1]!, { cidr: '10.0.1.250/32', kind: 'ip' }]));
    expect(clock.now() - t0).toBe(L.UnassignPrivateIpAddresses);
    expect(provider.callCounts()).toEqual({ UnassignPrivateIpAddresses: 1 });
    const after = cloud.getInterface(primary);
    expect(after.prefixes).toEqual([pfx[1]!.cidr]);
    expect(after.privateIps.map((ip) => `${ip}/32`)).toEqual([ips[0]!.cidr]);
  });

  it('by default retries a call that meets NotFound right after a change, as the AWS provider does', async () => {
    const latency = { ...LEGACY_LATENCY, consistencyWindowMs: 1500, notFoundRatio: 1 };
    const { provider, clock, cloud, instanceId } = node({ provider: { latency } });
    const primary = cloud.getInstance(instanceId).primaryInterfaceId;
    await drive(clock, provider.assignAddresses(primary, { kind: 'ip', count: 1 }));
    provider.resetCallCounts();
    const t0 = clock.now();
    const ips = await drive(clock, provider.assignAddresses(primary, { kind: 'ip', count: 1 }));
    // Every try inside the 1.5 s window is NotFound (100, 200, 400 ms... apart); the first after it lands.
    expect(ips).toHaveLength(1);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(1500);
    expect(provider.callCounts().AssignPrivateIpAddresses).toBeGreaterThan(2);
    expect(cloud.getInterface(primary).privateIps).toHaveLength(2);
  });

  it('does nothing, without calls, for empty requests and blocks already gone', async () => {
    const { provider, clock, cloud, instanceId } = node();
    const primary = cloud.getInstance(instanceId).primaryInterfaceId;
    expect(await drive(clock, provider.assignAddresses(primary, { kind: 'ip', count: 0 }))).toEqual([]);
    await drive(clock, provider.unassignAddresses(primary, [{ cidr: '10.0.1.99/32', kind: 'ip' }]));
    await drive(clock, provider.unassignAddresses('eni-gone', [{ cidr: '10.0.1.99/32', kind: 'ip' }]));
    expect(provider.totalCalls()).toBe(0);
  });

  it('reports fragmentation as NoPrefixBlockError', async () => {
    const { provider, clock, cloud, instanceId, podSubnetId } = node({ instanceType: 'm5.24xlarge' });
    for (let k = 1; k <= 14; k++) cloud.reserveCidr(podSubnetId, `10.0.2.${16 * k + 1}/32`);
    const nic = await drive(clock, provider.createInterface({ subnetId: podSubnetId }));
    expect(await failure(drive(clock, provider.assignAddresses(nic.id, { kind: 'prefix', count: 1 })))).toMatchObject({
      code: 'CLOUD_NO_PREFIX_BLOCK',
      cloudCode: 'InsufficientCidrBlocks',
    });
    expect(cloud.getInstance(instanceId).interfaces).toHaveLength(2);
  });
});

describe('reads', () => {
  it('describeNode returns the inventory in one DescribeInstances', async () => {
    const { provider, clock, podSubnetId, instanceId } = node();
    const nic = await drive(
      clock,
      provider.createInterface({ subnetId: podSubnetId, initial: { kind: 'prefix', count: 1 } }),
    );
    provider.resetCallCounts();
    const t0 = clock.now();
    const inv = await drive(clock, provider.describeNode());
    expect(clock.now() - t0).toBe(L.DescribeInstances);
    expect(provider.callCounts()).toEqual({ DescribeInstances: 1 });
    expect(inv).toMatchObject({ instanceId, instanceType: 'm5.large', zone: 'us-east-1a', vpcCidrs: ['10.0.0.0/16'] });
    expect(inv.interfaces.map((n) => [n.deviceIndex, n.subnetCidr])).toEqual([
      [0, '10.0.1.0/24'],
      [1, '10.0.2.0/24'],
    ]);
    expect(inv.interfaces[1]).toEqual(nic);
  });

  it('getLimits: table types cost no call; run-time types cost one; unknown types fail clearly', async () => {
    const { provider, clock, cloud } = node();
    expect(await provider.getLimits('c5.4xlarge')).toEqual({
      instanceType: 'c5.4xlarge',
      maxInterfaces: 8,
      ipv4PerInterface: 30,
      supportsIps: true,
      supportsPrefixes: true,
      prefixLength: 28,
      canCreateInterfaces: true,
    });
    expect(provider.totalCalls()).toBe(0);
    cloud.defineInstanceType(AZURE_LIKE_TYPE);
    expect((await drive(clock, provider.getLimits('Standard_D4s_v5'))).canCreateInterfaces).toBe(false);
    expect(await failure(drive(clock, provider.getLimits('m99.mega')))).toMatchObject({
      code: 'CLOUD_INVALID',
      cloudCode: 'InvalidInstanceType',
    });
    expect(provider.callCounts()).toEqual({ DescribeInstanceTypes: 2 });
  });

  it('listSubnets filters by id, VPC, zone and tags with *', async () => {
    const { provider, clock, podSubnetId, nodeSubnetId, cloud } = node();
    const vpcId = cloud.getSubnet(podSubnetId).vpcId;
    const ids = async (f: Parameters<SimProvider['listSubnets']>[0]) =>
      (await drive(clock, provider.listSubnets(f))).map((s) => s.id);
    expect(await ids({ tags: { 'kubernetes.io/role/cni': '*' } })).toEqual([podSubnetId]);
    expect(await ids({ tags: POD_TAG, zone: 'us-east-1b' })).toEqual([]);
    expect(await ids({ vpcId })).toEqual([nodeSubnetId, podSubnetId]);
    expect(await ids({ ids: [nodeSubnetId] })).toEqual([nodeSubnetId]);
    expect(await failure(drive(clock, provider.listSubnets({ ids: ['subnet-nope'] })))).toMatchObject({
      cloudCode: 'InvalidSubnetID.NotFound',
    });
  });

  it('describeSubnetAllocations lists used space', async () => {
    const { provider, clock, podSubnetId } = node();
    const nic = await drive(
      clock,
      provider.createInterface({ subnetId: podSubnetId, initial: { kind: 'prefix', count: 1 } }),
    );
    const alloc = await drive(clock, provider.describeSubnetAllocations(podSubnetId));
    expect(alloc.used).toContain(`${nic.primaryIp}/32`);
    expect(alloc.used).toContain(nic.blocks[0]!.cidr);
    expect(alloc.used).toHaveLength(5 + 2);
    expect(alloc.subnet.availableAddresses).toBe(251 - 17);
  });
});
