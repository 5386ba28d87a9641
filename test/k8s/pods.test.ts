/**
 * The node's Pods drive the pool: scheduled Pods grow it before their ADDs
 * arrive, and addresses of Pods that no longer exist are released (by Pod UID
 * and container ID, never by name), at start and periodically.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { add, del, ipOf, startK8sDaemon, type K8sDaemon } from './daemon-harness.js';
import { nodeObject, podObject, seedSimCloud, startFakeCluster, until, type FakeCluster } from './helpers.js';

let c: FakeCluster;
const daemons: K8sDaemon[] = [];
beforeAll(async () => {
  c = await startFakeCluster();
});
afterAll(async () => {
  for (const d of daemons) await d.running.stop().catch(() => {});
  await c.server.stop();
});

function prepareNode(name: string) {
  const dir = mkdtempSync(path.join(tmpdir(), `ipamd-${name}-`));
  const cloud = seedSimCloud(path.join(dir, 'state'));
  c.server.create(
    'nodes',
    nodeObject(name, {
      providerID: `aws:///${cloud.zone}/${cloud.instanceId}`,
      labels: { 'topology.kubernetes.io/zone': cloud.zone },
    }),
  );
  return dir;
}

async function addWaitCounts(d: K8sDaemon): Promise<{ waited: number; immediate: number }> {
  const m = (await d.running.daemon.metrics.registry.getSingleMetric('vpc_ipam_add_latency_seconds')!.get()) as {
    values: Array<{ metricName?: string; labels: Record<string, string>; value: number }>;
  };
  const count = (w: string) =>
    m.values
      .filter((v) => v.metricName === 'vpc_ipam_add_latency_seconds_count' && v.labels.waited === w)
      .reduce((a, v) => a + v.value, 0);
  return { waited: count('true'), immediate: count('false') };
}

const small = { WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '1', VPC_IPAM_ADD_WAIT_SECONDS: '20' };

describe('demand-driven growth', () => {
  it('grows for scheduled Pods before their ADDs, so no ADD waits', async () => {
    const dir = prepareNode('dem-1');
    const d = await startK8sDaemon(c, 'dem-1', { dir, env: small });
    daemons.push(d);
    const before = d.running.daemon.snapshot().total;
    const pods = Array.from({ length: 6 }, (_, i) =>
      c.server.create('pods', podObject({ name: `web-${i}`, nodeName: 'dem-1' }), 'default'),
    );
    // Host-network, finished and other-node Pods are not demand.
    c.server.create('pods', podObject({ name: 'hostnet', nodeName: 'dem-1', hostNetwork: true }), 'default');
    c.server.create('pods', podObject({ name: 'done', nodeName: 'dem-1', phase: 'Succeeded' }), 'default');
    c.server.create('pods', podObject({ name: 'far', nodeName: 'other' }), 'default');
    await until('expected demand 6', () => d.running.daemon.expectedDemand === 6);
    await until('pool grown for 6 Pods + 1 warm before any ADD', () => d.running.daemon.snapshot().available >= 7);
    expect(d.running.daemon.snapshot().total).toBeGreaterThan(before);
    expect(d.running.daemon.datastore.list()).toHaveLength(0);

    const rs = await Promise.all(
      pods.map((p, i) => add(d, `ctr-${i}`, { namespace: 'default', name: `web-${i}`, uid: p.metadata.uid as string })),
    );
    rs.forEach(ipOf);
    expect(await addWaitCounts(d)).toEqual({ waited: 0, immediate: 6 });
    // Assigned Pods are no longer demand (their UIDs have addresses).
    c.server.mutate('pods', 'web-0', (o) => ((o.status as Record<string, unknown>).phase = 'Running'), 'default');
    await until('demand back to 0', () => d.running.daemon.expectedDemand === 0);
  });

  it('control: the same burst without scheduled Pods in the API has to wait for growth', async () => {
    const dir = prepareNode('dem-2');
    const d = await startK8sDaemon(c, 'dem-2', { dir, env: small });
    daemons.push(d);
    const rs = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        add(d, `ctr-${i}`, { namespace: 'default', name: `x-${i}`, uid: `uid-x-${i}` }),
      ),
    );
    rs.forEach(ipOf);
    const counts = await addWaitCounts(d);
    expect(counts.waited).toBeGreaterThan(0);
    expect(counts.waited + counts.immediate).toBe(6);
  });
});

describe('stale assignment reaping', () => {
  const reap = {
    VPC_IPAM_K8S_REAP_INTERVAL_SECONDS: '1',
    VPC_IPAM_K8S_REAP_CONFIRM_SECONDS: '1',
    IP_COOLDOWN_PERIOD: '1',
  };

  it('releases by UID: a StatefulSet Pod recreated under the same name keeps its new address', async () => {
    const dir = prepareNode('reap-1');
    const d = await startK8sDaemon(c, 'reap-1', { dir, env: reap });
    daemons.push(d);
    const web0 = c.server.create('pods', podObject({ name: 'web-0', nodeName: 'reap-1', phase: 'Running' }), 'db');
    const keep = c.server.create('pods', podObject({ name: 'keep', nodeName: 'reap-1', phase: 'Running' }), 'db');
    // A static Pod: the API shows its mirror (own UID); the runtime used the config hash as UID.
    c.server.create(
      'pods',
      podObject({
        name: 'static-reap-1',
        nodeName: 'reap-1',
        phase: 'Running',
        annotations: { 'kubernetes.io/config.mirror': 'h1', 'kubernetes.io/config.hash': 'static-hash-1' },
      }),
      'kube-system',
    );
    const oldIp = ipOf(
      await add(d, 'sandbox-old', { namespace: 'db', name: 'web-0', uid: web0.metadata.uid as string }),
    );
    ipOf(await add(d, 'sandbox-keep', { namespace: 'db', name: 'keep', uid: keep.metadata.uid as string }));
    ipOf(await add(d, 'sandbox-static', { namespace: 'kube-system', name: 'static-reap-1', uid: 'static-hash-1' }));
    ipOf(await add(d, 'sandbox-nouid', { namespace: 'db', name: 'ghost' })); // no UID: never judged

    // web-0 deleted (its DEL lost) and recreated with a new UID, which gets a new sandbox.
    c.server.remove('pods', 'web-0', 'db');
    const web0b = c.server.create('pods', podObject({ name: 'web-0', nodeName: 'reap-1', phase: 'Running' }), 'db');
    ipOf(await add(d, 'sandbox-new', { namespace: 'db', name: 'web-0', uid: web0b.metadata.uid as string }));

    await until(
      'old sandbox released',
      () => !d.running.daemon.datastore.list().some((a) => a.containerId === 'sandbox-old'),
      30_000,
    );
    const left = d.running.daemon.datastore
      .list()
      .map((a) => a.containerId)
      .sort();
    expect(left).toEqual(['sandbox-keep', 'sandbox-new', 'sandbox-nouid', 'sandbox-static']);
    const ev = await until('Event', () =>
      c.server.list('events').find((e) => e.reason === 'StaleAssignmentReleased' && String(e.message).includes(oldIp)),
    );
    expect(ev.type).toBe('Normal');
    // Two more full passes (suspect + confirm) later, nothing else went.
    const reaper = d.running.k8s!.reaper!;
    const passes = reaper.stats.passes;
    await until('two more passes', () => reaper.stats.passes >= passes + 2, 30_000);
    expect(
      d.running.daemon.datastore
        .list()
        .map((a) => a.containerId)
        .sort(),
    ).toEqual(left);
    expect(reaper.stats.released).toBe(1);
  });

  it('releases at start the addresses of Pods deleted while ipamd was down', async () => {
    const dir = prepareNode('reap-2');
    let d = await startK8sDaemon(c, 'reap-2', { dir, env: reap });
    const a = c.server.create('pods', podObject({ name: 'a', nodeName: 'reap-2', phase: 'Running' }), 'default');
    const b = c.server.create('pods', podObject({ name: 'b', nodeName: 'reap-2', phase: 'Running' }), 'default');
    ipOf(await add(d, 'ca', { namespace: 'default', name: 'a', uid: a.metadata.uid as string }));
    ipOf(await add(d, 'cb', { namespace: 'default', name: 'b', uid: b.metadata.uid as string }));
    await d.running.stop();
    c.server.remove('pods', 'a', 'default');
    d = await startK8sDaemon(c, 'reap-2', { dir, env: reap });
    daemons.push(d);
    expect(
      d.running.daemon.datastore
        .list()
        .map((x) => x.containerId)
        .sort(),
    ).toEqual(['ca', 'cb']);
    await until('ca released after restart', () => d.running.daemon.datastore.list().length === 1, 30_000);
    expect(d.running.daemon.datastore.list()[0]!.containerId).toBe('cb');
    // A DEL arriving late for the reaped sandbox is a harmless no-op.
    expect(await del(d, 'ca')).toEqual({ ok: true, released: false });
  });
});
