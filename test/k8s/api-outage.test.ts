/**
 * ipamd during a Kubernetes API outage, with the real daemon wiring
 * (`startDaemon`) on the sim cloud and the fake API server: restarted while
 * the API server refuses connections, or answers 503, it starts from its
 * checkpoint and the cached Node (state dir), serves DEL and ADD, and grows
 * the pool into the node's PodSubnetConfig subnet (20 of 20 ADDs, two new
 * interfaces); when the API server is back, the Pod list/watch catches up
 * and the pool is published again. A first start with no cache serves ADD
 * and DEL from the primary interface and verifies the Node once it can.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { add, clusterPerFile, del, ipOf, startK8sDaemon, type K8sDaemon } from './daemon-harness.js';
import { nodeObject, podObject, seedSimCloud, until } from './helpers.js';

const fx = clusterPerFile();

const KEY = 'vpc-ipam.io/pod-subnet-config';
const env = { VPC_IPAM_ADD_WAIT_SECONDS: '60' };
/** A hang guard for the catch-up after the outage (backoffs grow while it lasts), not a timing assertion. */
const CATCH_UP_MS = 90_000;

/** A node whose PodSubnetConfig puts new interfaces into the `pods` subnet. */
function prepare(name: string) {
  const dir = mkdtempSync(path.join(tmpdir(), `ipamd-${name}-`));
  const cloud = seedSimCloud(path.join(dir, 'state'), { pods: '10.0.8.0/24' });
  const labels = { [KEY]: `cfg-${name}`, 'topology.kubernetes.io/zone': cloud.zone };
  fx.c.server.create('nodes', nodeObject(name, { providerID: `aws:///${cloud.zone}/${cloud.instanceId}`, labels }));
  const spec = { subnetIds: [cloud.subnets.pods] };
  fx.c.server.create('podsubnetconfigs', { metadata: { name: `cfg-${name}` }, spec });
  return { dir, cloud };
}

const podInterfaces = (d: K8sDaemon) => d.running.daemon.datastore.interfaceList().filter((n) => n.deviceIndex !== 0);
/** The node's NodeAddressPool status, once ipamd has published it. */
const published = (node: string) =>
  fx.c.server.list('nodeaddresspools').find((o) => o.metadata.name === node)?.status as
    { assigned: number } | undefined;
const publishedAssigned = (node: string) => published(node)?.assigned ?? 0;

const outages = [
  {
    what: 'refuses connections',
    down: () => fx.c.server.refuseConnections(),
    up: () => fx.c.server.acceptConnections(),
  },
  {
    what: 'answers 503',
    down: async () => void (fx.c.server.unavailable = true),
    up: async () => void (fx.c.server.unavailable = false),
  },
];

describe.each(outages)('restarted while the API server $what', ({ what, down, up }) => {
  it('serves DEL and 20 of 20 ADDs from the checkpoint and the cached Node; the watch catches up after', async () => {
    const name = what.startsWith('refuses') ? 'out-refused' : 'out-503';
    const { dir, cloud } = prepare(name);
    const first = await startK8sDaemon(fx.c, name, { dir, env });
    ipOf(await add(first, 'old-0', { uid: 'u-old-0' }));
    ipOf(await add(first, 'old-1', { uid: 'u-old-1' }));
    expect(existsSync(path.join(dir, 'state', 'k8s-node.json'))).toBe(true);
    const before = podInterfaces(first).length;
    await first.running.stop();

    await down();
    let d: K8sDaemon;
    try {
      d = await startK8sDaemon(fx.c, name, { dir, env });
      fx.daemons.push(d);
      expect(d.running.k8s!.podWatch!.synced).toBe(false);
      expect(await del(d, 'old-0')).toEqual({ ok: true, released: true });
      const results = [];
      for (let i = 0; i < 20; i++) results.push(await add(d, `new-${i}`, { uid: `u-new-${i}` }));
      expect(results.filter((r) => r.ok)).toHaveLength(20);
      // Growth went where the (cached) PodSubnetConfig says, without the API server.
      const nics = podInterfaces(d);
      expect(nics.length).toBeGreaterThan(before);
      for (const n of nics) expect(n.subnetId).toBe(cloud.subnets.pods);
      expect(d.running.daemon.datastore.list()).toHaveLength(21);
      // Pods scheduled while ipamd could not see them.
      for (let i = 0; i < 3; i++) {
        fx.c.server.create('pods', podObject({ name: `${name}-late-${i}`, nodeName: name }), 'default');
      }
    } finally {
      await up();
    }
    const watch = d.running.k8s!.podWatch!;
    await until('the Pod list after the outage', () => watch.synced && watch.pods.size === 3, CATCH_UP_MS);
    await until('demand from the Pods scheduled meanwhile', () => d.running.daemon.expectedDemand === 3, CATCH_UP_MS);
    await until('the pool published again', () => publishedAssigned(name) === 21, CATCH_UP_MS);
    fx.c.server.create('pods', podObject({ name: `${name}-after`, nodeName: name }), 'default');
    await until('the watch follows', () => watch.pods.size === 4, CATCH_UP_MS);
    const metrics = await d.running.daemon.metrics.render();
    expect(metrics.body).toContain('# TYPE vpc_ipam_k8s_event_errors_total counter');
  });
});

describe('first start during an outage (no cached Node)', () => {
  it('serves ADD and DEL from the primary interface; verifies and publishes once the API server answers', async () => {
    const name = 'out-first';
    const { dir, cloud } = prepare(name);
    await fx.c.server.refuseConnections();
    let d: K8sDaemon;
    try {
      d = await startK8sDaemon(fx.c, name, { dir, env });
      fx.daemons.push(d);
      const k = d.running.k8s!;
      expect(k.podSubnets.facts).toBeUndefined();
      for (let i = 0; i < 3; i++) ipOf(await add(d, `p-${i}`, { uid: `u-p-${i}` }));
      expect(await del(d, 'p-0')).toEqual({ ok: true, released: true });
      // Nothing acts on "this node's" Pods or Node before it is known to be this machine.
      expect(k.reaper).toBeUndefined();
      expect(k.publisher).toBeUndefined();
    } finally {
      await fx.c.server.acceptConnections();
    }
    const k = d.running.k8s!;
    await until('the Node read and verified', () => k.publisher !== undefined && k.reaper !== undefined, CATCH_UP_MS);
    await until('published', () => published(name), CATCH_UP_MS);
    // Growth beyond the primary interface now reads the config: into the `pods` subnet.
    for (let i = 3; i < 14; i++) ipOf(await add(d, `p-${i}`, { uid: `u-p-${i}` }));
    const nics = podInterfaces(d);
    expect(nics.length).toBeGreaterThan(0);
    for (const n of nics) expect(n.subnetId).toBe(cloud.subnets.pods);
  });
});
