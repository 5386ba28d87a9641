import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../ipamd/util/clock.js';
import { ThrottledError } from '../../../providers/errors.js';
import { SimCloud } from '../../../providers/sim/cloud.js';
import { FaultInjector } from '../../../providers/sim/faults.js';
import { ZERO_LATENCY } from '../../../providers/sim/latency.js';
import { SimProvider } from '../../../providers/sim/sim-provider.js';
import { drive, failure, node } from './helpers.js';

describe('throttling and faults through the provider', () => {
  it('30 concurrent calls against burst 10 / 2 per s: 20 throttled; after 5 s, 10 more pass', async () => {
    const clock = new VirtualClock();
    const cloud = new SimCloud();
    const instanceId = cloud.seedNode({ instanceType: 'm5.large', subnetCidr: '10.0.1.0/24' });
    const faults = new FaultInjector({ clock }).setRateLimit({ rate: 2, burst: 10 }, { perAction: true });
    const provider = new SimProvider({ cloud, instanceId, clock, faults, latency: ZERO_LATENCY });
    const settle = async (n: number) => {
      const results = await Promise.allSettled(Array.from({ length: n }, () => provider.listSubnets()));
      return results.filter((r) => r.status === 'rejected' && r.reason instanceof ThrottledError).length;
    };
    expect(await settle(30)).toBe(20);
    await clock.advance(5000);
    expect(await settle(10)).toBe(0);
    expect(await settle(1)).toBe(1);
    expect(provider.callCounts()).toEqual({ DescribeSubnets: 41 });
    expect(faults.throttled()).toEqual({ DescribeSubnets: 21 });
  });

  it('a throttled call fails at once, without latency or effect', async () => {
    const { provider, clock, faults, cloud, instanceId } = node();
    faults.failNext(
      'AssignPrivateIpAddresses',
      1,
      (op) => new ThrottledError({ provider: 'sim', operation: op, cloudCode: 'RequestLimitExceeded', message: 'x' }),
    );
    const primary = cloud.getInstance(instanceId).primaryInterfaceId;
    const t0 = clock.now();
    expect(await failure(provider.assignAddresses(primary, { kind: 'ip', count: 1 }))).toMatchObject({
      code: 'CLOUD_THROTTLED',
    });
    expect(clock.now()).toBe(t0);
    expect(cloud.getInterface(primary).privateIps).toEqual([]);
    expect(await drive(clock, provider.assignAddresses(primary, { kind: 'ip', count: 1 }))).toHaveLength(1);
  });
});

describe('onMutate', () => {
  it('fires after each successful mutation, in order, and not for reads or failures', async () => {
    const seen: string[] = [];
    const { provider, clock, podSubnetId, faults } = node({ provider: { onMutate: (a) => seen.push(a) } });
    const nic = await drive(clock, provider.createInterface({ subnetId: podSubnetId }));
    await drive(clock, provider.describeNode());
    faults.failNext('AssignPrivateIpAddresses', 1);
    await failure(drive(clock, provider.assignAddresses(nic.id, { kind: 'ip', count: 1 })));
    await drive(clock, provider.deleteInterface(nic.id));
    expect(seen).toEqual([
      'CreateNetworkInterface',
      'AttachNetworkInterface',
      'ModifyNetworkInterfaceAttribute',
      'DetachNetworkInterface',
      'DeleteNetworkInterface',
    ]);
  });

  it('turns a failing hook into a retryable cloud error', async () => {
    const { provider, clock, cloud, instanceId } = node({
      provider: {
        onMutate: () => {
          throw new Error('disk full');
        },
      },
    });
    const primary = cloud.getInstance(instanceId).primaryInterfaceId;
    expect(await failure(drive(clock, provider.assignAddresses(primary, { kind: 'ip', count: 1 })))).toMatchObject({
      code: 'CLOUD_UNAVAILABLE',
      cloudCode: 'SimPersistFailed',
    });
  });
});

describe('latency overrides and determinism', () => {
  it('honours per-action overrides', async () => {
    const { provider, clock, cloud, instanceId } = node({
      provider: { latency: { actions: { AssignPrivateIpAddresses: 1234 } } },
    });
    const primary = cloud.getInstance(instanceId).primaryInterfaceId;
    const t0 = clock.now();
    await drive(clock, provider.assignAddresses(primary, { kind: 'ip', count: 1 }));
    expect(clock.now() - t0).toBe(1234);
  });

  it('replays the same addresses from the same seed', async () => {
    const run = async (seed: number) => {
      const { provider, clock, podSubnetId } = node({ seed });
      const nic = await drive(
        clock,
        provider.createInterface({ subnetId: podSubnetId, initial: { kind: 'ip', count: 3 } }),
      );
      const more = await drive(clock, provider.assignAddresses(nic.id, { kind: 'prefix', count: 2 }));
      return [nic.primaryIp, ...nic.blocks.map((b) => b.cidr), ...more.map((b) => b.cidr)];
    };
    const a = await run(99);
    expect(await run(99)).toEqual(a);
    expect(await run(100)).not.toEqual(a);
  });
});
