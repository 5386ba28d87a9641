/**
 * What ipamd publishes, read back through the fake API server: max Pods on
 * its Node, the pool in its NodeAddressPool (and the monitor's reader of
 * it), Events with the cloud's reason and node conditions when the subnet
 * is exhausted, and the recovery. Also the Event sink's aggregation.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { K8sEventSink } from '../../ipamd/k8s/events.js';
import { computeMaxPods } from '../../ipamd/k8s/node-publisher.js';
import { ClusterUsageSource } from '../../ipamd/k8s/node-usage-source.js';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { SystemClock } from '../../ipamd/util/clock.js';
import { add, ipOf, startK8sDaemon, type K8sDaemon } from './daemon-harness.js';
import { nodeObject, seedSimCloud, startFakeCluster, until, type FakeCluster } from './helpers.js';

let c: FakeCluster;
const daemons: K8sDaemon[] = [];
beforeAll(async () => {
  c = await startFakeCluster();
});
afterAll(async () => {
  for (const d of daemons) await d.running.stop().catch(() => {});
  await c.server.stop();
});

type Cond = { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string };
const conditions = (node: string) => (c.server.get('nodes', node).status as { conditions?: Cond[] }).conditions ?? [];
const condition = (node: string, type: string) => conditions(node).find((x) => x.type === type);
const events = (node: string, reason?: string) =>
  c.server
    .list('events')
    .filter(
      (e) => (e.involvedObject as { kind: string; name: string }).name === node && (!reason || e.reason === reason),
    );

describe('publication on the Node', () => {
  it('max Pods (label + annotation) on the Node; the pool in its NodeAddressPool, read back', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ipamd-pub-'));
    const cloud = seedSimCloud(path.join(dir, 'state'));
    c.server.create('nodes', nodeObject('pub-1', { providerID: `aws:///${cloud.zone}/${cloud.instanceId}`, cpu: '2' }));
    c.server.create('nodes', nodeObject('no-ipamd')); // a node without a pool is skipped
    const d = await startK8sDaemon(c, 'pub-1', { dir, env: { WARM_IP_TARGET: '2', MINIMUM_IP_TARGET: '4' } });
    daemons.push(d);
    for (let i = 0; i < 3; i++) ipOf(await add(d, `c${i}`, { uid: `u${i}` }));
    // m5.large: 3 interfaces x (10 - 1) secondary IPs + 2 host-network Pods = 29 (EKS's eni-max-pods value).
    const pool = await until('published', () => {
      const p = c.server.list('nodeaddresspools').find((o) => o.metadata.name === 'pub-1');
      return (p?.status as { assigned?: number } | undefined)?.assigned === 3 ? p : undefined;
    });
    const node = await until('max Pods on the Node', () => {
      const n = c.server.get('nodes', 'pub-1');
      return (n.metadata.labels as Record<string, string>)['vpc-ipam.io/max-pods'] ? n : undefined;
    });
    expect((node.metadata.labels as Record<string, string>)['vpc-ipam.io/max-pods']).toBe('29');
    expect((node.metadata.annotations as Record<string, string>)['vpc-ipam.io/max-pods']).toBe('29');
    expect(node.metadata.annotations).not.toHaveProperty('vpc-ipam.io/pool-usage');
    const s = d.running.daemon.snapshot();
    expect(pool.status).toEqual({
      observedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/),
      mode: 'ip',
      total: s.total,
      assigned: 3,
      available: s.available,
      cooling: 0,
      expectedPods: 0,
      maxPods: 29,
      subnets: [{ subnetId: cloud.nodeSubnet, total: s.total, assigned: 3, warmTarget: expect.any(Number) }],
    });
    // The kubelet's labels and annotations are untouched (merge patch of our keys only).
    expect((node.metadata.labels as Record<string, string>)['kubernetes.io/hostname']).toBe('pub-1');

    const source = new ClusterUsageSource({ apis: c.apis, clock: new SystemClock(), pageSize: 1, log: silentLogger() });
    const usage = [expect.objectContaining({ node: 'pub-1', subnetId: cloud.nodeSubnet, total: s.total, assigned: 3 })];
    const nodeLists = c.server.count('GET', '/api/v1/nodes');
    expect(await source.usage()).toEqual(usage);
    expect(c.server.count('GET', '/api/v1/nodes') - nodeLists).toBeGreaterThan(1); // paged with limit/continue
    // A corrupt or stale annotation (an ipamd from before NodeAddressPool) is left out, not trusted.
    c.server.mutate(
      'nodes',
      'no-ipamd',
      (n) =>
        ((n.metadata.annotations as Record<string, string>)['vpc-ipam.io/pool-usage'] =
          '[{"node":"no-ipamd","subnetId":"s","total":1,"assigned":2}]'),
    );
    expect(await source.usage()).toEqual(usage);
    expect(source.stats.invalid).toBe(1);
    const old = new ClusterUsageSource({
      apis: c.apis,
      clock: { now: () => Date.now() + 3_600_000, sleep: new SystemClock().sleep },
      log: silentLogger(),
    });
    expect(await old.usage()).toEqual([]);
    expect(old.stats.stale).toBe(1);
  });

  it('computes max Pods like EKS for prefixes, custom networking, ceilings', () => {
    const limits = { maxInterfaces: 3, slotsPerInterface: 9, canCreateInterfaces: true };
    expect(
      computeMaxPods({ limits, attachedInterfaces: 1, blockSize: 1, customNetworking: true, cpus: 2 }).maxPods,
    ).toBe(20);
    expect(computeMaxPods({ limits, attachedInterfaces: 1, blockSize: 16, customNetworking: false, cpus: 2 })).toEqual({
      maxPods: 110,
      podAddresses: 432,
    });
    expect(
      computeMaxPods({ limits, attachedInterfaces: 1, blockSize: 16, customNetworking: false, cpus: 48 }).maxPods,
    ).toBe(250);
    expect(
      computeMaxPods({ limits, attachedInterfaces: 1, blockSize: 16, customNetworking: false, cpus: 2, ceiling: 0 })
        .maxPods,
    ).toBe(434);
    // A cloud that cannot attach interfaces at run time (Azure): what is attached is all there is.
    expect(
      computeMaxPods({
        limits: { ...limits, canCreateInterfaces: false, slotsPerInterface: 29 },
        attachedInterfaces: 1,
        blockSize: 1,
        customNetworking: false,
        cpus: 2,
      }).maxPods,
    ).toBe(31);
  });
});

describe('subnet exhaustion', () => {
  it('Events with the cloud reason, conditions set and cleared, kubelet conditions intact', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ipamd-full-'));
    const cloud = seedSimCloud(
      path.join(dir, 'state'),
      { tiny: '10.0.4.0/28', roomy: '10.0.5.0/24' },
      { fill: ['tiny'] },
    );
    c.server.create(
      'nodes',
      nodeObject('full-1', {
        providerID: `aws:///${cloud.zone}/${cloud.instanceId}`,
        labels: { 'vpc-ipam.io/pod-subnet-config': 'tiny' },
      }),
    );
    c.server.create('podsubnetconfigs', { metadata: { name: 'tiny' }, spec: { subnetIds: [cloud.subnets.tiny] } });
    c.server.create('podsubnetconfigs', { metadata: { name: 'roomy' }, spec: { subnetIds: [cloud.subnets.roomy] } });
    const d = await startK8sDaemon(c, 'full-1', {
      dir,
      env: { VPC_IPAM_CUSTOM_NETWORKING: 'true', WARM_IP_TARGET: '2', VPC_IPAM_SUBNET_FULL_BACKOFF_SECONDS: '1' },
    });
    daemons.push(d);
    const failed = await until('SubnetExhausted Event', () => events('full-1', 'SubnetExhausted')[0]);
    expect(failed.type).toBe('Warning');
    expect(String(failed.message)).toMatch(/creating an interface failed: .*InsufficientFreeAddressesInSubnet/);
    await until('growth-blocked condition', () => condition('full-1', 'VpcIpamPoolGrowthBlocked')?.status === 'True');
    await until('exhausted condition', () => condition('full-1', 'VpcIpamPoolExhausted')?.status === 'True');
    expect(condition('full-1', 'VpcIpamPoolGrowthBlocked')!.reason).toBe('SubnetFull');
    expect(events('full-1', 'PoolGrowthBlocked').length).toBeGreaterThan(0);
    expect(condition('full-1', 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady' });

    // The operator points the node at a subnet with room: growth resumes, conditions clear.
    c.server.mutate(
      'nodes',
      'full-1',
      (n) => ((n.metadata.labels as Record<string, string>)['vpc-ipam.io/pod-subnet-config'] = 'roomy'),
    );
    await until('exhausted cleared', () => condition('full-1', 'VpcIpamPoolExhausted')?.status === 'False', 30_000);
    await until(
      'growth-blocked cleared',
      () => condition('full-1', 'VpcIpamPoolGrowthBlocked')?.status === 'False',
      30_000,
    );
    expect(events('full-1', 'PoolRecovered')).toHaveLength(1);
    expect(condition('full-1', 'Ready')!.status).toBe('True');
    // Repeated failures were aggregated into few Events (count bumped), not one per pool tick.
    const repeats = events('full-1', 'SubnetExhausted');
    expect(repeats.length).toBe(1);
  });
});

describe('K8sEventSink', () => {
  it('aggregates repeats into one Event with a count; transition time moves only on a flip', async () => {
    c.server.create('nodes', nodeObject('sink-1'));
    let now = Date.now();
    const clock = { now: () => now, sleep: new SystemClock().sleep };
    const sink = new K8sEventSink({
      apis: c.apis,
      clock,
      namespace: 'kube-system',
      instance: 'sink-1',
      log: silentLogger(),
      minWriteIntervalMs: 0,
    });
    const ev = (message: string) => ({
      type: 'Warning' as const,
      reason: 'PoolGrowthBlocked',
      message,
      node: 'sink-1',
      at: clock.now(),
      cloudCode: 'X',
      condition: { type: 'T', status: 'True' as const, reason: 'R', message },
    });
    await sink.emit(ev('one'));
    const t1 = condition('sink-1', 'T')!.lastTransitionTime;
    now += 1100; // past the second that lastTransitionTime is written in
    await sink.emit(ev('two'));
    const list = events('sink-1');
    expect(list).toHaveLength(1);
    // kube-system holds a Node Event only because it has an eventTime (with the reporting fields): see events.test.ts.
    expect(list[0]).toMatchObject({
      count: 2,
      message: 'two',
      metadata: expect.objectContaining({ namespace: 'kube-system' }),
      eventTime: expect.stringMatching(/\.\d{6}Z$/),
      action: 'GrowPool',
      reportingInstance: 'sink-1',
    });
    expect(condition('sink-1', 'T')).toMatchObject({ status: 'True', message: 'two', lastTransitionTime: t1 });
    expect(sink.stats).toMatchObject({ created: 1, aggregated: 1, failures: 0 });
    // Delivery failures are logged, never thrown (EventSink contract).
    c.server.unavailable = true;
    await expect(sink.emit(ev('three'))).resolves.toBeUndefined();
    c.server.unavailable = false;
    expect(sink.stats.failures).toBeGreaterThan(0);
    expect([...sink.errorsByReason.keys()]).toEqual(['server_error']);
  });

  it('spam filter: repeats within the window are counted into the next write, not written', async () => {
    c.server.create('nodes', nodeObject('sink-2'));
    let now = 1_000_000;
    const clock = { now: () => now, sleep: new SystemClock().sleep };
    const sink = new K8sEventSink({
      apis: c.apis,
      clock,
      namespace: 'kube-system',
      instance: 'sink-2',
      log: silentLogger(),
      minWriteIntervalMs: 30_000,
    });
    const ev = () => ({
      type: 'Warning' as const,
      reason: 'PoolGrowthFailed',
      message: 'm',
      node: 'sink-2',
      at: now,
      cloudCode: 'X',
    });
    const writes = () =>
      c.server.requests.filter((r) => r.path.startsWith('/api/v1/namespaces/kube-system/events')).length;
    const before = writes();
    await sink.emit(ev());
    for (let i = 0; i < 5; i++) {
      now += 1000;
      await sink.emit(ev());
    }
    expect(writes() - before).toBe(1);
    now += 30_000;
    await sink.emit(ev());
    expect(writes() - before).toBe(2);
    expect(events('sink-2')).toEqual([expect.objectContaining({ count: 7 })]);
    expect(sink.stats).toMatchObject({ created: 1, aggregated: 1, suppressed: 5 });
  });
});
