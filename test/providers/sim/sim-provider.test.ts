import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../ipamd/util/clock.js';
import type { CloudProvider } from '../../../providers/types.js';
import { SimCloud } from '../../../providers/sim/cloud.js';
import { LEGACY_LATENCY, REALISTIC_LATENCY, ZERO_LATENCY } from '../../../providers/sim/latency.js';
import { SimProvider } from '../../../providers/sim/sim-provider.js';
import { AZURE_LIKE_TYPE, drive, failure, L, legacy, node } from './helpers.js';

const PROFILES = [
  ['legacy', LEGACY_LATENCY],
  ['realistic', REALISTIC_LATENCY],
] as const;

describe('SimProvider conformance', () => {
  it('is a CloudProvider', () => {
    const { provider } = node();
    const p: CloudProvider = provider satisfies CloudProvider;
    expect(p.name).toBe('sim');
  });
});

describe('createInterface', () => {
  it('takes exactly create + attach + metadata propagation of virtual time and makes three calls', async () => {
    const { provider, clock, podSubnetId, cloud, instanceId } = node(legacy);
    const t0 = clock.now();
    const nic = await drive(
      clock,
      provider.createInterface({ subnetId: podSubnetId, tags: { owner: 'ipamd' }, description: 'test' }),
    );
    const lag = LEGACY_LATENCY.metadataPropagationMs;
    expect(clock.now() - t0).toBe(L.CreateNetworkInterface + L.AttachNetworkInterface + lag);
    expect(clock.now() - t0).toBe(3400);
    expect(provider.callCounts()).toEqual({
      CreateNetworkInterface: 1,
      AttachNetworkInterface: 1,
      ModifyNetworkInterfaceAttribute: 1,
    });
    expect(provider.totalCalls()).toBe(3);
    const primary = cloud.getInterface(cloud.getInstance(instanceId).primaryInterfaceId);
    expect(nic).toMatchObject({
      deviceIndex: 1,
      subnetId: podSubnetId,
      subnetCidr: '10.0.2.0/24',
      securityGroups: primary.securityGroups,
      tags: { owner: 'ipamd' },
      blocks: [],
    });
    expect(cloud.getInterface(nic.id)).toMatchObject({
      description: 'test',
      status: 'in-use',
      attachment: { deleteOnTermination: true, instanceId },
    });
  });

  it('by default waits a 1-5 s metadata lag drawn per attach from its seed; NotFound after it is retried', async () => {
    const times = async (seed: number) => {
      const { provider, clock, podSubnetId } = node({ instanceType: 'm5.4xlarge', provider: { seed } });
      const out: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = clock.now();
        await drive(clock, provider.createInterface({ subnetId: podSubnetId }));
        out.push(clock.now() - t0);
      }
      return { out, calls: provider.callCounts() };
    };
    const a = await times(1);
    expect(a).toEqual(await times(1));
    expect(a.out).not.toEqual((await times(2)).out);
    const base = L.CreateNetworkInterface + L.AttachNetworkInterface;
    // The Modify (150 ms, retried 100 ms doubling while NotFound) overlaps the lag, and 1.5 s of retries end.
    for (const t of a.out) expect(t).toBeGreaterThanOrEqual(base + 1000);
    for (const t of a.out) expect(t).toBeLessThanOrEqual(base + 5000);
    expect(a.calls).toMatchObject({ CreateNetworkInterface: 3, AttachNetworkInterface: 3 });
    expect(a.calls.ModifyNetworkInterfaceAttribute).toBeGreaterThanOrEqual(3);
  });

  it('takes initial addresses in the create call', async () => {
    const { provider, clock, podSubnetId } = node();
    const ips = await drive(
      clock,
      provider.createInterface({ subnetId: podSubnetId, initial: { kind: 'ip', count: 9 } }),
    );
    expect(ips.blocks).toHaveLength(9);
    expect(ips.blocks.every((b) => b.kind === 'ip' && b.cidr.endsWith('/32'))).toBe(true);
    const pfx = await drive(
      clock,
      provider.createInterface({ subnetId: podSubnetId, initial: { kind: 'prefix', count: 2 } }),
    );
    expect(pfx.deviceIndex).toBe(2);
    expect(pfx.blocks.map((b) => b.kind)).toEqual(['prefix', 'prefix']);
    expect(pfx.blocks.every((b) => b.cidr.endsWith('/28'))).toBe(true);
  });

  it('throws NicLimitError without any call when every slot is taken', async () => {
    const { provider, clock, podSubnetId } = node({ instanceType: 't3.medium' });
    await drive(clock, provider.createInterface({ subnetId: podSubnetId }));
    await drive(clock, provider.createInterface({ subnetId: podSubnetId }));
    provider.resetCallCounts();
    expect(await failure(provider.createInterface({ subnetId: podSubnetId }))).toMatchObject({
      code: 'CLOUD_NIC_LIMIT',
      cloudCode: 'AttachmentLimitExceeded',
    });
    expect(provider.totalCalls()).toBe(0);
  });

  it('refuses to hot-attach on types that cannot (Azure-like), before any call', async () => {
    const clock = new VirtualClock();
    const cloud = new SimCloud();
    cloud.defineInstanceType(AZURE_LIKE_TYPE);
    const instanceId = cloud.seedNode({ instanceType: 'Standard_D4s_v5', subnetCidr: '10.0.1.0/24' });
    const provider = new SimProvider({ cloud, instanceId, clock });
    expect(await failure(provider.createInterface({ subnetId: cloud.getInstance(instanceId).subnetId }))).toMatchObject(
      {
        code: 'CLOUD_INVALID',
        cloudCode: 'OperationNotPermitted',
      },
    );
    expect(provider.totalCalls()).toBe(0);
  });

  it('rejects initial requests the instance cannot take, before any call', async () => {
    const { provider, clock, podSubnetId } = node({ instanceType: 't2.medium' });
    expect(
      await failure(
        drive(clock, provider.createInterface({ subnetId: podSubnetId, initial: { kind: 'prefix', count: 1 } })),
      ),
    ).toMatchObject({
      code: 'CLOUD_INVALID',
    });
    expect(
      await failure(
        drive(clock, provider.createInterface({ subnetId: podSubnetId, initial: { kind: 'ip', count: 6 } })),
      ),
    ).toMatchObject({
      code: 'CLOUD_IP_LIMIT',
    });
    expect(provider.totalCalls()).toBe(0);
  });

  it.each(PROFILES)('deletes the new interface when the attach fails, so nothing leaks (%s)', async (name, latency) => {
    const { provider, clock, podSubnetId, cloud, faults } = node({ provider: { latency } });
    faults.failNext('AttachNetworkInterface', 1);
    const before = cloud.getSubnet(podSubnetId).availableAddresses;
    expect(
      await failure(
        drive(clock, provider.createInterface({ subnetId: podSubnetId, initial: { kind: 'ip', count: 4 } })),
      ),
    ).toMatchObject({
      code: 'CLOUD_UNAVAILABLE',
      operation: 'AttachNetworkInterface',
    });
    expect(cloud.describeInterfaces({ subnetIds: [podSubnetId] })).toEqual([]);
    expect(cloud.getSubnet(podSubnetId).availableAddresses).toBe(before);
    const calls = provider.callCounts();
    expect(calls).toMatchObject({ CreateNetworkInterface: 1, AttachNetworkInterface: 1 });
    // Realistic: the Delete lands 0.7 s after the create, where it may meet NotFound and be sent again.
    if (name === 'legacy') expect(calls.DeleteNetworkInterface).toBe(1);
    else expect(calls.DeleteNetworkInterface).toBeGreaterThanOrEqual(1);
  });

  it.each(PROFILES)('detaches and deletes when the modify fails (%s)', async (name, latency) => {
    const { provider, clock, podSubnetId, cloud, faults } = node({ provider: { latency } });
    faults.failNext('ModifyNetworkInterfaceAttribute', 1);
    await failure(drive(clock, provider.createInterface({ subnetId: podSubnetId })));
    expect(cloud.describeInterfaces({ subnetIds: [podSubnetId] })).toEqual([]);
    const calls = provider.callCounts();
    expect(calls).toMatchObject({ DetachNetworkInterface: 1, DeleteNetworkInterface: 1 });
    // Realistic: the undo reads the interface until its detach (3 s) is done, then deletes it.
    if (name === 'legacy') expect(calls.DescribeNetworkInterfaces).toBeUndefined();
    else expect(calls.DescribeNetworkInterfaces).toBeGreaterThanOrEqual(3);
  });

  it('passes subnet-full through as SubnetFullError and leaks nothing', async () => {
    const { provider, clock, cloud, podSubnetId } = node({ podSubnetCidr: '10.0.2.0/28' });
    // 10 of 11.
    await drive(clock, provider.createInterface({ subnetId: podSubnetId, initial: { kind: 'ip', count: 9 } }));
    expect(
      await failure(
        drive(clock, provider.createInterface({ subnetId: podSubnetId, initial: { kind: 'ip', count: 1 } })),
      ),
    ).toMatchObject({
      code: 'CLOUD_SUBNET_FULL',
      cloudCode: 'InsufficientFreeAddressesInSubnet',
    });
    expect(cloud.describeInterfaces({ subnetIds: [podSubnetId] })).toHaveLength(1);
  });

  it('gives concurrent creates distinct device indexes', async () => {
    const { provider, clock, podSubnetId } = node({ instanceType: 'm5.xlarge' });
    const both = Promise.all([
      provider.createInterface({ subnetId: podSubnetId }),
      provider.createInterface({ subnetId: podSubnetId }),
    ]);
    const [a, b] = await drive(clock, both);
    expect([a.deviceIndex, b.deviceIndex].sort()).toEqual([1, 2]);
  });
});

describe('deleteInterface', () => {
  it('detaches then deletes, in detach + delete time; not-found is success without a call', async () => {
    const { provider, clock, podSubnetId, cloud } = node(legacy);
    const nic = await drive(clock, provider.createInterface({ subnetId: podSubnetId }));
    provider.resetCallCounts();
    const t0 = clock.now();
    await drive(clock, provider.deleteInterface(nic.id));
    expect(clock.now() - t0).toBe(L.DetachNetworkInterface + L.DeleteNetworkInterface);
    expect(provider.callCounts()).toEqual({ DetachNetworkInterface: 1, DeleteNetworkInterface: 1 });
    expect(cloud.describeInterfaces()).toHaveLength(1); // only the primary
    await drive(clock, provider.deleteInterface(nic.id));
    await drive(clock, provider.deleteInterface('eni-never-existed'));
    expect(provider.totalCalls()).toBe(2);
  });

  it('by default pays the detach: it reads the interface each second until the 3 s detach is done', async () => {
    const { provider, clock, podSubnetId, cloud, instanceId } = node();
    const nic = await drive(clock, provider.createInterface({ subnetId: podSubnetId }));
    await clock.advance(60_000); // past the consistency window: only the detach is measured
    provider.resetCallCounts();
    const t0 = clock.now();
    const deleting = provider.deleteInterface(nic.id);
    await clock.advance(L.DetachNetworkInterface);
    // Answered, but still attached: device index and slot taken, as EC2 shows a detaching ENI.
    expect(cloud.getInterface(nic.id)).toMatchObject({ status: 'in-use', attachment: { state: 'detaching' } });
    expect(cloud.getInstance(instanceId).interfaces).toHaveLength(2);
    await drive(clock, deleting);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(L.DetachNetworkInterface + REALISTIC_LATENCY.detachSettleMs);
    // Reads 0.15, 1.3, 2.45 s (detaching) and 3.6 s (detached) after the detach answered; then one Delete.
    const calls = { DetachNetworkInterface: 1, DescribeNetworkInterfaces: 4, DeleteNetworkInterface: 1 };
    expect(provider.callCounts()).toEqual(calls);
    expect(cloud.describeInterfaces()).toHaveLength(1);
  });

  it('reads for about 15 s, then gives up after 10 Deletes refused "in use"; a later delete finishes it', async () => {
    const latency = { ...ZERO_LATENCY, detachSettleMs: 600_000 };
    const { provider, clock, podSubnetId, cloud } = node({ provider: { latency } });
    const nic = await drive(clock, provider.createInterface({ subnetId: podSubnetId }));
    provider.resetCallCounts();
    expect(await failure(drive(clock, provider.deleteInterface(nic.id)))).toMatchObject({
      code: 'CLOUD_INVALID',
      operation: 'DeleteNetworkInterface',
    });
    // Reads at 0, 1, 2, 3, 4, 5, 10 and 15 s; 10 Deletes 250-500 ms doubling to 5 s apart.
    const calls = { DetachNetworkInterface: 1, DescribeNetworkInterfaces: 8, DeleteNetworkInterface: 10 };
    expect(provider.callCounts()).toEqual(calls);
    expect(cloud.getInterface(nic.id).attachment?.state).toBe('detaching');
    await clock.advance(600_000);
    await drive(clock, provider.deleteInterface(nic.id));
    expect(cloud.describeInterfaces({ subnetIds: [podSubnetId] })).toEqual([]);
  });

  it('deletes a detached (leaked) interface with a single call', async () => {
    const { provider, clock, podSubnetId, cloud } = node();
    const leaked = cloud.createInterface({ subnetId: podSubnetId });
    await drive(clock, provider.deleteInterface(leaked.id));
    expect(provider.callCounts()).toEqual({ DeleteNetworkInterface: 1 });
  });

  it('refuses the primary interface and interfaces of other instances', async () => {
    const { provider, clock, cloud, instanceId, podSubnetId } = node();
    const primary = cloud.getInstance(instanceId).primaryInterfaceId;
    expect(await failure(drive(clock, provider.deleteInterface(primary)))).toMatchObject({
      cloudCode: 'OperationNotPermitted',
    });
    const other = cloud.seedNode({ instanceType: 'm5.large', subnetCidr: '10.0.1.0/24' });
    const theirs = cloud.createInterface({ subnetId: podSubnetId });
    cloud.attachInterface(theirs.id, other);
    expect(await failure(drive(clock, provider.deleteInterface(theirs.id)))).toMatchObject({
      cloudCode: 'InvalidNetworkInterface.InUse',
    });
    expect(cloud.getInterface(theirs.id).status).toBe('in-use');
  });
});
