/**
 * The NodeAddressPool CRD as the fake API server serves it (status
 * subresource, pruning, owner references, the garbage collector, not
 * installed), and the monitor's reader of it (ClusterUsageSource) over both
 * sources of the upgrade window: NodeAddressPools and the older Node
 * annotation, with the validation and staleness rules of either.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpStatus, isPathNotFound, patchOptions } from '../../ipamd/k8s/client.js';
import { NAP_REF } from '../../ipamd/k8s/node-address-pool.js';
import { ClusterUsageSource } from '../../ipamd/k8s/node-usage-source.js';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { SystemClock } from '../../ipamd/util/clock.js';
import { nodeObject, refusal, startFakeCluster, until, type FakeCluster } from './helpers.js';

let c: FakeCluster;
beforeAll(async () => {
  c = await startFakeCluster();
});
afterAll(() => c.server.stop());

const iso = (ms = Date.now()) => new Date(ms).toISOString();
const owned = (node: string) => {
  const uid = c.server.get('nodes', node).metadata.uid as string;
  return [{ apiVersion: 'v1', kind: 'Node', name: node, uid }];
};
const status = (o: { at?: number; assigned?: number; subnet?: string } = {}) => ({
  observedAt: iso(o.at),
  mode: 'ip',
  total: 10,
  assigned: o.assigned ?? 3,
  available: 7,
  cooling: 0,
  expectedPods: 0,
  maxPods: 29,
  subnets: [{ subnetId: o.subnet ?? 'subnet-1', total: 10, assigned: o.assigned ?? 3, warmTarget: 2 }],
});
/** A NodeAddressPool as ipamd leaves it: created by the API, then its status patched. */
async function publish(node: string, st: Record<string, unknown>): Promise<void> {
  const metadata = { name: node, ownerReferences: owned(node) };
  const body = { apiVersion: 'vpc-ipam.io/v1alpha1', kind: 'NodeAddressPool', metadata, spec: {} };
  await c.apis.custom.createClusterCustomObject({ ...NAP_REF, body }).catch((e: unknown) => {
    if (httpStatus(e) !== 409) throw e;
  });
  const req = { ...NAP_REF, name: node, body: { status: st } };
  await c.apis.custom.patchClusterCustomObjectStatus(req, patchOptions('merge'));
}
const annotated = (node: string, usage: unknown) =>
  nodeObject(node, { annotations: { 'vpc-ipam.io/pool-usage': JSON.stringify(usage) } });

describe('the NodeAddressPool CRD (apiextensions-apiserver)', () => {
  it('status subresource: create drops the status, the main resource ignores it, /status changes only it', async () => {
    c.server.create('nodes', nodeObject('ap-1'));
    const metadata = { name: 'ap-1', ownerReferences: owned('ap-1') };
    const body = { apiVersion: 'vpc-ipam.io/v1alpha1', kind: 'NodeAddressPool', metadata, spec: {}, status: status() };
    const created = (await c.apis.custom.createClusterCustomObject({ ...NAP_REF, body })) as Record<string, unknown>;
    expect(created).not.toHaveProperty('status');
    expect(created.metadata).toMatchObject({ ownerReferences: owned('ap-1') });
    const st = { ...status(), unknown: 1, subnets: [{ subnetId: 's', total: 1, assigned: 0, typo: 2 }] };
    const req = { ...NAP_REF, name: 'ap-1', body: { status: st, metadata: { labels: { x: 'y' } } } };
    const patched = (await c.apis.custom.patchClusterCustomObjectStatus(req, patchOptions('merge'))) as {
      status: Record<string, unknown>;
      metadata: { labels?: unknown };
    };
    // Pruned like any field the schema does not declare; metadata is not the status subresource's.
    expect(patched.status).not.toHaveProperty('unknown');
    expect(patched.status.subnets).toEqual([{ subnetId: 's', total: 1, assigned: 0 }]);
    expect(patched.metadata.labels).toBeUndefined();
    const main = { ...NAP_REF, name: 'ap-1', body: { status: { total: 99 } } };
    const after = (await c.apis.custom.patchClusterCustomObject(main, patchOptions('merge'))) as {
      status: { total: number };
    };
    expect(after.status.total).toBe(10);
  });

  it('validates: owner references, date-time, one entry per subnet (list-type map), no negative counts', async () => {
    const post = (name: string, ownerReferences: unknown) =>
      c.apis.custom.createClusterCustomObject({
        ...NAP_REF,
        body: { apiVersion: 'vpc-ipam.io/v1alpha1', kind: 'NodeAddressPool', metadata: { name, ownerReferences } },
      });
    const r = await refusal(post('ap-bad', [{ apiVersion: 'v1', kind: 'Node', name: 'ap-bad' }]));
    expect([r.code, r.body.message]).toEqual([422, expect.stringMatching(/metadata\.ownerReferences\.uid: Invalid/)]);
    c.server.create('nodes', nodeObject('ap-2'));
    await post('ap-2', owned('ap-2'));
    const patch = (st: Record<string, unknown>) =>
      c.apis.custom.patchClusterCustomObjectStatus(
        { ...NAP_REF, name: 'ap-2', body: { status: st } },
        patchOptions('merge'),
      );
    expect((await refusal(patch({ observedAt: 'yesterday' }))).code).toBe(422);
    const twice = { subnets: [status().subnets[0], status().subnets[0]] };
    expect((await refusal(patch(twice))).body.message).toMatch(/status\.subnets\[1\]: Duplicate value/);
    expect((await refusal(patch({ assigned: -1 }))).code).toBe(422);
    await patch(status());
  });

  it("the garbage collector deletes a Node's NodeAddressPool with the Node (owner by uid)", async () => {
    c.server.create('nodes', nodeObject('ap-gc'));
    await publish('ap-gc', status());
    c.server.requestDelete('nodes', 'ap-gc');
    await until('collected', () => !c.server.list('nodeaddresspools').some((o) => o.metadata.name === 'ap-gc'));
    expect(c.server.gc.stats.collected).toBe(1);
    // Re-created under the same name, the Node is another owner: the old uid's dependents still go.
    c.server.create('nodes', nodeObject('ap-gc'));
    const stale = { name: 'ap-gc', ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'ap-gc', uid: 'old' }] };
    c.server.create('nodeaddresspools', { metadata: stale, spec: {} });
    c.server.create('nodes', nodeObject('ap-other'));
    c.server.requestDelete('nodes', 'ap-other'); // any Node deletion wakes the collector
    const gone = () => !c.server.list('nodeaddresspools').some((o) => o.metadata.name === 'ap-gc');
    await until('the stale one collected', gone);
  });

  it('not installed: a plain 404 on its paths, while podsubnetconfigs are still served', async () => {
    c.server.notInstalled.add('nodeaddresspools.vpc-ipam.io');
    try {
      const err = await c.apis.custom.listClusterCustomObject(NAP_REF).catch((e: unknown) => e);
      expect(isPathNotFound(err)).toBe(true);
      const psc = { ...NAP_REF, plural: 'podsubnetconfigs' };
      expect((await c.apis.custom.getAPIResources(psc)).resources.map((r) => r.name)).toEqual(['podsubnetconfigs']);
    } finally {
      c.server.notInstalled.clear();
    }
  });
});

describe('the monitor reads NodeAddressPools, and Node annotations during the upgrade window', () => {
  const source = (o: { selector?: string; annotations?: boolean; clock?: SystemClock } = {}) =>
    new ClusterUsageSource({
      apis: c.apis,
      clock: o.clock ?? new SystemClock(),
      pageSize: 2,
      log: silentLogger(),
      ...(o.selector ? { labelSelector: o.selector } : {}),
      ...(o.annotations === false ? { nodeAnnotations: false } : {}),
    });
  const byNode = (list: Array<{ node: string; assigned: number }>) =>
    Object.fromEntries(list.filter((u) => u.node.startsWith('up-')).map((u) => [u.node, u.assigned]));

  it('the newer source wins per node; invalid and stale ones are left out; a selector applies to both', async () => {
    const old = Date.now() - 60_000;
    const entry = (node: string, assigned: number, at: number) => [
      { node, subnetId: 'subnet-1', total: 10, assigned, mode: 'ip', observedAt: at },
    ];
    // An upgraded node (pool object only), one not upgraded yet (annotation only), one upgraded that still carries
    // the annotation its old ipamd wrote, one rolled back (its pool object is older than the annotation).
    c.server.create('nodes', nodeObject('up-new', { labels: { pool: 'a' } }));
    await publish('up-new', status({ assigned: 1 }));
    c.server.create('nodes', { ...annotated('up-old', entry('up-old', 2, Date.now())) });
    c.server.create('nodes', annotated('up-both', entry('up-both', 9, old)));
    await publish('up-both', status({ assigned: 3 }));
    c.server.create('nodes', annotated('up-back', entry('up-back', 4, Date.now())));
    await publish('up-back', status({ assigned: 8, at: old }));
    const s = source();
    expect(byNode(await s.usage())).toEqual({ 'up-new': 1, 'up-old': 2, 'up-both': 3, 'up-back': 4 });
    expect(s.stats.lists).toBeGreaterThan(1); // paged
    const [u] = (await s.usage()).filter((x) => x.node === 'up-new');
    expect(u).toEqual({
      node: 'up-new',
      subnetId: 'subnet-1',
      total: 10,
      assigned: 1,
      warmTarget: 2,
      mode: 'ip',
      observedAt: expect.any(Number),
    });
    // After the upgrade window: the annotations are not read (nor the Nodes listed without a selector).
    const lists = c.server.count('GET', '/api/v1/nodes');
    expect(byNode(await source({ annotations: false }).usage())).toEqual({ 'up-new': 1, 'up-both': 3, 'up-back': 8 });
    expect(c.server.count('GET', '/api/v1/nodes')).toBe(lists);
    expect(byNode(await source({ selector: 'pool=a' }).usage())).toEqual({ 'up-new': 1 });

    // Invalid (assigned > total) and stale (its ipamd stopped) pool objects are not trusted.
    c.server.create('nodes', nodeObject('up-bad'));
    await publish('up-bad', { ...status(), subnets: [{ subnetId: 's', total: 1, assigned: 2 }] });
    c.server.create('nodes', nodeObject('up-stale'));
    await publish('up-stale', status({ at: Date.now() - 3_600_000 }));
    const checked = source();
    expect(Object.keys(byNode(await checked.usage())).sort()).toEqual(['up-back', 'up-both', 'up-new', 'up-old']);
    expect(checked.stats).toMatchObject({ invalid: 1, stale: 1 });
    // A pool object whose Node is gone (the collector has not acted yet) is left out when Nodes are listed.
    c.server.remove('nodes', 'up-new');
    expect(byNode(await source().usage())).not.toHaveProperty('up-new');
  });

  it('the CRD not installed: said once, the annotations alone, and the pools again once it is', async () => {
    const warnings: string[] = [];
    const log = { ...silentLogger(), warn: (_o: object, m?: string) => void warnings.push(m ?? '') };
    const s = new ClusterUsageSource({ apis: c.apis, clock: new SystemClock(), log });
    c.server.notInstalled.add('nodeaddresspools.vpc-ipam.io');
    try {
      expect(byNode(await s.usage())).toEqual({ 'up-old': 2, 'up-both': 9, 'up-back': 4 });
      await s.usage();
      const said = warnings.filter((w) => w.startsWith('CRD nodeaddresspools.vpc-ipam.io is not installed'));
      expect(said).toEqual([
        'CRD nodeaddresspools.vpc-ipam.io is not installed: node pools come from the Node annotations only; ' +
          'apply deploy/kustomize/base/crd-nodeaddresspool.yaml',
      ]);
      expect(s.crdMissing).toBe(true);
    } finally {
      c.server.notInstalled.clear();
    }
    expect(byNode(await s.usage())).toMatchObject({ 'up-both': 3 });
    expect(s.crdMissing).toBe(false);
  });
});
