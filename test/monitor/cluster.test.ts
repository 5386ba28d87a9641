/**
 * The cluster-wide monitor makes the same number of cloud calls per interval
 * whether the cluster has 3 nodes or 300, samples only while it leads, and
 * runs the provider's leaked-interface sweep as a leader-only task.
 */
import { describe, expect, it } from 'vitest';
import { ClusterMonitor, clusterSubnets, leakSweepTask } from '../../ipamd/monitor/cluster.js';
import { AlwaysLeader, type LeaderElector, type LeadershipCallbacks } from '../../ipamd/monitor/leader.js';
import { SubnetMonitor } from '../../ipamd/monitor/monitor.js';
import { ListUsageSource, type NodePoolUsage } from '../../ipamd/monitor/pool-usage.js';
import { RESERVED_RULES } from '../../ipamd/monitor/subnet-space.js';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { VirtualClock } from '../../ipamd/util/clock.js';
import { SimCloud } from '../../providers/sim/cloud.js';
import { ZERO_LATENCY } from '../../providers/sim/latency.js';
import { SimProvider } from '../../providers/sim/sim-provider.js';

const MIN = 60_000;
const log = silentLogger();

/** A cluster of `n` m5.large nodes: primaries in a node /20, a second interface with 3 IPs in a Pod /20. */
function cluster(n: number) {
  const clock = new VirtualClock(1_700_000_000_000);
  const cloud = new SimCloud({ seed: 11, clock });
  const vpc = cloud.createVpc({ cidr: '10.0.0.0/16' });
  const nodes = cloud.createSubnet({ vpcId: vpc.id, cidr: '10.0.0.0/20', zone: 'us-east-1a' }).id;
  const pods = cloud.createSubnet({ vpcId: vpc.id, cidr: '10.0.16.0/20', zone: 'us-east-1a' }).id;
  const usage: NodePoolUsage[] = [];
  for (let k = 0; k < n; k++) {
    const inst = cloud.createInstance({ instanceType: 'm5.large', subnetId: nodes });
    const nic = cloud.createInterface({ subnetId: pods, secondaryIps: { count: 3 } });
    cloud.attachInterface(nic.id, inst.id);
    usage.push({ node: `node-${k}`, subnetId: pods, total: 3, assigned: k % 4, warmTarget: 1 });
  }
  const provider = new SimProvider({
    cloud,
    instanceId: cloud.describeInstances()[0]!.id,
    clock,
    latency: ZERO_LATENCY,
  });
  return { clock, cloud, provider, vpcId: vpc.id, nodes, pods, usage };
}

function build(
  w: ReturnType<typeof cluster>,
  elector: LeaderElector,
  maintenance = [] as ConstructorParameters<typeof ClusterMonitor>[0]['maintenance'],
) {
  const monitor = new SubnetMonitor({
    provider: w.provider,
    clock: w.clock,
    settings: { intervalMs: MIN, windowMs: 30 * MIN, paceMs: 100, reserved: RESERVED_RULES.aws, prefixLength: 28 },
    usage: new ListUsageSource(w.usage),
    subnets: clusterSubnets({ provider: w.provider, subnetIds: [w.nodes], filter: { vpcId: w.vpcId } }),
    mode: () => 'ip',
  });
  return {
    monitor,
    cluster: new ClusterMonitor({ monitor, elector, clock: w.clock, intervalMs: MIN, maintenance, log }),
  };
}

/** A test elector the test hands leadership to and takes it from. */
class ManualElector implements LeaderElector {
  readonly identity = 'manual';
  private leading = false;
  private grant: (() => void) | undefined;
  private revoke: AbortController | undefined;
  isLeader() {
    return this.leading;
  }
  give() {
    this.grant?.();
  }
  take() {
    this.revoke?.abort();
  }
  async run(signal: AbortSignal, cb: LeadershipCallbacks): Promise<void> {
    while (!signal.aborted) {
      await new Promise<void>((resolve) => {
        this.grant = resolve;
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      if (signal.aborted) break;
      this.revoke = new AbortController();
      const lost = AbortSignal.any([signal, this.revoke.signal]);
      this.leading = true;
      await cb.onStartedLeading(lost);
      this.leading = false;
      cb.onStoppedLeading?.();
    }
  }
}

async function callsPerInterval(n: number, intervals: number) {
  const w = cluster(n);
  const { monitor, cluster: c } = build(w, new AlwaysLeader());
  const ac = new AbortController();
  const done = c.run(ac.signal);
  await w.clock.advance(intervals * MIN - 1);
  const calls = w.provider.callCounts();
  const reports = monitor.reports();
  ac.abort();
  await done;
  return { calls, reports, w };
}

describe('cluster-wide monitor', () => {
  it('makes the same cloud calls per interval for 3 nodes and for 300', async () => {
    const small = await callsPerInterval(3, 1);
    const large = await callsPerInterval(300, 1);
    // One DescribeSubnets for the VPC filter, one allocation read per subnet: 3 calls, whatever the node count.
    expect(small.calls).toEqual({ DescribeSubnets: 1, DescribeNetworkInterfaces: 2 });
    expect(large.calls).toEqual(small.calls);
    const three = await callsPerInterval(300, 3);
    expect(three.calls).toEqual({ DescribeSubnets: 3, DescribeNetworkInterfaces: 6 });

    const pods = large.reports.find((r) => r.subnetId === large.w.pods)!;
    // 300 interfaces × (1 primary + 3 secondaries) in the Pod subnet; pools from the node annotations.
    expect(pods).toMatchObject({
      used: 1200,
      free: 4091 - 1200,
      nodes: 300,
      assigned: 75 * (0 + 1 + 2 + 3),
      held: 900 - 450,
      warmReserve: 300,
    });
    const nodes = large.reports.find((r) => r.subnetId === large.w.nodes)!;
    expect(nodes).toMatchObject({ used: 300, free: 4091 - 300, nodes: 0 });
  });

  it('samples only while leading, and drops its numbers when leadership is lost', async () => {
    const w = cluster(3);
    const elector = new ManualElector();
    const { monitor, cluster: c } = build(w, elector);
    const ac = new AbortController();
    const done = c.run(ac.signal);
    await w.clock.advance(5 * MIN);
    expect(w.provider.totalCalls()).toBe(0);
    expect(c.isLeader()).toBe(false);

    elector.give();
    await w.clock.advance(2 * MIN - 1);
    expect(c.isLeader()).toBe(true);
    expect(w.provider.callCounts()).toEqual({ DescribeSubnets: 2, DescribeNetworkInterfaces: 4 });
    expect(monitor.reports()).toHaveLength(2);

    elector.take();
    await w.clock.advance(5 * MIN);
    expect(c.isLeader()).toBe(false);
    expect(w.provider.totalCalls()).toBe(6);
    expect(monitor.reports()).toEqual([]);
    ac.abort();
    await done;
  });

  it('runs the provider leaked-interface sweep once per leader pass', async () => {
    const w = cluster(3);
    let sweeps = 0;
    const provider = Object.assign(Object.create(w.provider) as SimProvider, {
      async collectLeakedInterfaces() {
        sweeps++;
        return { deleted: sweeps === 2 ? 1 : 0 };
      },
    });
    const task = leakSweepTask(provider, log)!;
    expect(task.name).toBe('leaked-interface-sweep');
    expect(leakSweepTask(w.provider, log)).toBeUndefined();
    const { cluster: c } = build(w, new AlwaysLeader(), [task]);
    const ac = new AbortController();
    const done = c.run(ac.signal);
    await w.clock.advance(3 * MIN - 1);
    expect(sweeps).toBe(3);
    expect(c.passes).toBe(3);
    ac.abort();
    await done;
  });
});
