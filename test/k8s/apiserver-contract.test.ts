/**
 * The fake API server's strictness, pinned through the real
 * @kubernetes/client-node: every place where it behaves as kube-apiserver
 * does and a kinder fake would hide a bug (issue 13). Each `describe` is one
 * behaviour; the fake module that has it cites the Kubernetes source.
 * - PATCH: `metadata.resourceVersion` is a precondition (fake/registry.ts);
 * - Leases: a PUT needs a resourceVersion; the spec is validated;
 * - graceful deletion and finalizers (fake/deletion.ts);
 * - the CRD: pruning, names, and not installed (fake/crd.ts, fake/routes.ts);
 * - TLS and a rotating projected token on the in-cluster path (fake/auth.ts);
 * - fault knobs: 429 with Retry-After, 5xx, slow answers (fake/faults.ts);
 * - and the earlier ones: Events (422), list options, a half-open watch.
 */
import { parseKubeConnection } from '../../ipamd/config/kube-connection.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createApis,
  httpStatus,
  isPathNotFound,
  K8sTimeoutError,
  loadKubeConfig,
  microTime,
  patchOptions,
  retryAfterMs,
  retryFloorMs,
} from '../../ipamd/k8s/client.js';
import { checkUninstall } from '../../ipamd/k8s/uninstall.js';
import { SystemClock } from '../../ipamd/util/clock.js';
import { nodeObject, podObject, recordWatch, refusal, startFakeCluster, until, type FakeCluster } from './helpers.js';

let c: FakeCluster;
beforeAll(async () => {
  // The kubelet stand-in confirms a graceful deletion after 50 ms, except for 30 s grace periods: it leaves those.
  c = await startFakeCluster({ bookmarkIntervalMs: 100, podTerminationMs: (s) => (s >= 30 ? undefined : 50) });
  c.server.create('nodes', nodeObject('ct-1'));
});
afterAll(() => c.server.stop());

const rvOf = (o: { metadata?: { resourceVersion?: string } }) => o.metadata!.resourceVersion!;

describe('PATCH: metadata.resourceVersion is a precondition', () => {
  it('a stale one is 409 with the real Status, the current one applies, none at all is unconditional', async () => {
    const n = await c.apis.core.readNode({ name: 'ct-1' });
    await c.apis.core.patchNode({ name: 'ct-1', body: { metadata: { labels: { step: '1' } } } }, patchOptions('merge'));
    const stale = { metadata: { resourceVersion: rvOf(n), labels: { step: 'stale' } } };
    const r = await refusal(c.apis.core.patchNode({ name: 'ct-1', body: stale }, patchOptions('merge')));
    expect(r).toEqual({
      code: 409,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'Operation cannot be fulfilled on nodes "ct-1": the object has been modified; ' +
          'please apply your changes to the latest version and try again',
        reason: 'Conflict',
        details: { name: 'ct-1', kind: 'nodes' },
        code: 409,
      },
    });
    const cur = await c.apis.core.readNode({ name: 'ct-1' });
    const ok = { metadata: { resourceVersion: rvOf(cur), labels: { step: '2' } } };
    const done = await c.apis.core.patchNode({ name: 'ct-1', body: ok }, patchOptions('strategic'));
    expect(done.metadata!.labels!.step).toBe('2');
    // The status subresource too, and a JSON patch that sets it.
    const status = { metadata: { resourceVersion: rvOf(cur) }, status: { conditions: [] } };
    const statusPatch = c.apis.core.patchNodeStatus({ name: 'ct-1', body: status }, patchOptions('merge'));
    expect((await refusal(statusPatch)).code).toBe(409);
    const jp = [{ op: 'replace', path: '/metadata/resourceVersion', value: rvOf(cur) }];
    expect((await refusal(c.apis.core.patchNode({ name: 'ct-1', body: jp }))).code).toBe(409);
  });
});

describe('Leases: PUT needs a resourceVersion; the spec is validated (pkg/apis/coordination/validation)', () => {
  const ns = 'kube-system';
  const t = () => microTime(Date.now());

  it('a PUT without resourceVersion is 422 "must be specified"; a PUT of a missing Lease creates it', async () => {
    const made = await c.apis.coordination.replaceNamespacedLease({
      name: 'ct-l1',
      namespace: ns,
      body: { metadata: { name: 'ct-l1' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: t() } },
    });
    expect(made.spec!.holderIdentity).toBe('a');
    const body = { metadata: { name: 'ct-l1' }, spec: { ...made.spec, holderIdentity: 'b' } };
    const r = await refusal(c.apis.coordination.replaceNamespacedLease({ name: 'ct-l1', namespace: ns, body }));
    expect(r.code).toBe(422);
    expect(r.body.message).toBe(
      'leases.coordination.k8s.io "ct-l1" is invalid: ' +
        'metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
    );
    expect(r.body.details).toMatchObject({ name: 'ct-l1', group: 'coordination.k8s.io', kind: 'leases' });
  });

  it('duration > 0, transitions ≥ 0, preferredHolder needs a strategy; holderIdentity is free', async () => {
    const create = (name: string, spec: k8s.V1LeaseSpec) =>
      c.apis.coordination.createNamespacedLease({ namespace: ns, body: { metadata: { name }, spec } });
    const zero = await refusal(create('ct-l2', { leaseDurationSeconds: 0 }));
    expect(zero.body.message).toBe(
      'Lease.coordination.k8s.io "ct-l2" is invalid: spec.leaseDurationSeconds: Invalid value: 0: ' +
        'must be greater than 0',
    );
    const many = await refusal(create('ct-l3', { leaseTransitions: -1, preferredHolder: 'x' }));
    const fields = (many.body.details as { causes: Array<{ field: string }> }).causes.map((x) => x.field);
    expect(fields).toEqual(['spec.leaseTransitions', 'spec.preferredHolder']);
    expect((await refusal(create('Bad_Lease', {}))).code).toBe(422);
    // The real validation has no rule on holderIdentity: a long one is stored (a stricter fake would be wrong too).
    const long = await create('ct-l4', { holderIdentity: 'h'.repeat(300), leaseDurationSeconds: 1 });
    const upd = await c.apis.coordination
      .replaceNamespacedLease({
        name: 'ct-l4',
        namespace: ns,
        body: { ...long, spec: { ...long.spec, leaseDurationSeconds: -5 } },
      })
      .catch((e: unknown) => e);
    expect(httpStatus(upd)).toBe(422);
  });
});

describe('graceful deletion and finalizers (registry/store.go, rest/delete.go, the Pod strategy)', () => {
  const ns = 'gd';
  const watchPods = () =>
    recordWatch(c.apis, `/api/v1/namespaces/${ns}/pods`, { resourceVersion: String(c.server.store.rv) });
  const readPod = (name: string) => c.apis.core.readNamespacedPod({ name, namespace: ns });

  it('a running Pod: MODIFIED with deletionTimestamp and grace period, DELETED when the kubelet confirms', async () => {
    const w = await watchPods();
    try {
      const body = podObject({ name: 'g1', namespace: ns, nodeName: 'ct-1', phase: 'Running' });
      await c.apis.core.createNamespacedPod({ namespace: ns, body: body as k8s.V1Pod });
      // No grace given: the Pod's terminationGracePeriodSeconds, defaulted to 30 at create; our kubelet leaves it.
      const marked = await c.apis.core.deleteNamespacedPod({ name: 'g1', namespace: ns });
      expect(marked.metadata).toMatchObject({ deletionGracePeriodSeconds: 30, deletionTimestamp: expect.any(Date) });
      expect(marked.metadata!.deletionTimestamp!.getTime()).toBeGreaterThan(Date.now());
      expect((await readPod('g1')).metadata!.deletionTimestamp).toBeDefined();
      // A longer period changes nothing; a shorter one shortens it (and then the kubelet confirms).
      const again = await c.apis.core.deleteNamespacedPod({ name: 'g1', namespace: ns, gracePeriodSeconds: 60 });
      expect(again.metadata!.deletionGracePeriodSeconds).toBe(30);
      const shorter = await c.apis.core.deleteNamespacedPod({ name: 'g1', namespace: ns, gracePeriodSeconds: 2 });
      expect(shorter.metadata!.deletionGracePeriodSeconds).toBe(2);
      await until('DELETED', () => w.seen.some((e) => e.name === 'g1' && e.type === 'DELETED'));
      const g1 = w.seen.filter((e) => e.name === 'g1').map((e) => `${e.type}:${e.deletionGracePeriodSeconds ?? '-'}`);
      expect(g1).toEqual(['ADDED:-', 'MODIFIED:30', 'MODIFIED:2', 'MODIFIED:0', 'DELETED:0']);
    } finally {
      w.stop();
    }
  });

  it('a Pod not scheduled, or Succeeded/Failed, goes at once (grace 0)', async () => {
    for (const [name, o] of [
      ['u1', { nodeName: '' }],
      ['s1', { nodeName: 'ct-1', phase: 'Succeeded' }],
    ] as const) {
      const body = podObject({ name, namespace: ns, ...o }) as k8s.V1Pod;
      await c.apis.core.createNamespacedPod({ namespace: ns, body });
      await c.apis.core.deleteNamespacedPod({ name, namespace: ns, gracePeriodSeconds: 20 });
      expect(httpStatus(await readPod(name).catch((e: unknown) => e))).toBe(404);
    }
  });

  it('finalizers hold the object (no new ones while deleting); it goes when an update empties them', async () => {
    const w = await watchPods();
    try {
      const body = podObject({ name: 'f1', namespace: ns, nodeName: 'ct-1', phase: 'Running' }) as k8s.V1Pod;
      body.metadata!.finalizers = ['example.com/hold'];
      await c.apis.core.createNamespacedPod({ namespace: ns, body });
      const patch = (b: object) =>
        c.apis.core.patchNamespacedPod({ name: 'f1', namespace: ns, body: b }, patchOptions('merge'));
      // Only DELETE marks an object: an update setting the mark is refused.
      const mark = await refusal(patch({ metadata: { deletionTimestamp: '2030-01-01T00:00:00Z' } }));
      expect(mark.body.message).toMatch(/metadata\.deletionTimestamp: Invalid value: .*: field is immutable/);
      await c.apis.core.deleteNamespacedPod({ name: 'f1', namespace: ns, gracePeriodSeconds: 1 });
      await until('the kubelet confirmed (grace 0)', () => w.seen.some((e) => e.deletionGracePeriodSeconds === 0));
      const held = await c.apis.core.readNamespacedPod({ name: 'f1', namespace: ns });
      expect(held.metadata).toMatchObject({ deletionGracePeriodSeconds: 0, finalizers: ['example.com/hold'] });
      const more = { metadata: { finalizers: ['example.com/hold', 'example.com/more'] } };
      const r = await refusal(patch(more));
      expect(r.body.message).toMatch(/metadata\.finalizers: Forbidden: no new finalizers can be added if the object/);
      await patch({ metadata: { finalizers: null } });
      await until('DELETED', () => w.seen.some((e) => e.name === 'f1' && e.type === 'DELETED'));
    } finally {
      w.stop();
    }
  });

  it('a DaemonSet deleted with Foreground propagation keeps a deletionTimestamp: an uninstall', async () => {
    const ds = c.server.create('daemonsets', { metadata: { name: 'ct-ds' }, spec: {} }, 'kube-system');
    const owner = { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ct-ds', uid: ds.metadata.uid };
    const own = { metadata: { name: 'ct-ds-x', ownerReferences: [owner] }, spec: { nodeName: 'ct-1' } };
    c.server.create('pods', own, 'kube-system');
    expect((await checkUninstall(c.apis, 'kube-system', 'ct-ds-x')).uninstalling).toBe(false);
    const foreground = { name: 'ct-ds', namespace: 'kube-system', propagationPolicy: 'Foreground' };
    await c.apis.apps.deleteNamespacedDaemonSet(foreground);
    const left = c.server.get('daemonsets', 'ct-ds', 'kube-system');
    expect(left.metadata).toMatchObject({ finalizers: ['foregroundDeletion'], deletionTimestamp: expect.any(String) });
    expect(await checkUninstall(c.apis, 'kube-system', 'ct-ds-x')).toMatchObject({ uninstalling: true });
  });
});

describe('the PodSubnetConfig CRD (apiextensions-apiserver)', () => {
  const ref = { group: 'vpc-ipam.io', version: 'v1alpha1', plural: 'podsubnetconfigs' };
  const psc = (name: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'vpc-ipam.io/v1alpha1',
    kind: 'PodSubnetConfig',
    metadata: { name },
    spec: { subnetIds: ['subnet-1'] },
    ...extra,
  });

  it('prunes what the structural schema does not declare; validates the name as a DNS subdomain', async () => {
    const spec = { subnetIds: ['subnet-1'], subnetsIds: ['typo'] };
    const body = psc('ct-p1', { spec, status: { x: 1 }, extra: true });
    (body.metadata as Record<string, unknown>).unknownMeta = 'x';
    await c.apis.custom.createClusterCustomObject({ ...ref, body });
    const stored = (await c.apis.custom.getClusterCustomObject({ ...ref, name: 'ct-p1' })) as Record<string, unknown>;
    expect(stored.spec).toEqual({ subnetIds: ['subnet-1'] });
    expect(Object.keys(stored).sort()).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(stored.metadata).not.toHaveProperty('unknownMeta');
    const r = await refusal(c.apis.custom.createClusterCustomObject({ ...ref, body: psc('Not_A.Name') }));
    expect(r.body.message).toMatch(/^PodSubnetConfig\.vpc-ipam\.io "Not_A\.Name" is invalid: metadata\.name: /);
    expect(r.body.message).toMatch(/Invalid value: "Not_A\.Name": a lowercase RFC 1123 subdomain must consist of/);
  });

  it('not installed: its paths answer a plain 404 and its group is missing from discovery', async () => {
    const groups = async () => (await c.apis.kc.makeApiClient(k8s.ApisApi).getAPIVersions()).groups.map((g) => g.name);
    expect(await groups()).toContain('vpc-ipam.io');
    c.server.crdInstalled = false;
    try {
      const err = await c.apis.custom.getClusterCustomObject({ ...ref, name: 'ct-p1' }).catch((e: unknown) => e);
      expect(httpStatus(err)).toBe(404);
      expect((err as { body: unknown }).body).toBe('404 page not found\n');
      expect(isPathNotFound(err)).toBe(true);
      expect(await groups()).not.toContain('vpc-ipam.io');
      expect(httpStatus(await c.apis.custom.getAPIResources(ref).catch((e: unknown) => e))).toBe(404);
    } finally {
      c.server.crdInstalled = true;
    }
    const missing = await c.apis.custom.getClusterCustomObject({ ...ref, name: 'nope' }).catch((e: unknown) => e);
    expect([httpStatus(missing), isPathNotFound(missing)]).toEqual([404, false]);
    expect((await c.apis.custom.getAPIResources(ref)).resources.map((x) => x.name)).toContain('podsubnetconfigs');
  });
});

describe('TLS and a rotating projected token: the in-cluster path', () => {
  let tls: FakeCluster;
  beforeAll(async () => {
    tls = await startFakeCluster({ tls: true });
    tls.server.create('nodes', nodeObject('tls-1'));
  });
  afterAll(() => tls.server.stop());

  it('verifies the server against ca.crt; a rotated token is used from the next request (old: 401)', async () => {
    const sa = mkdtempSync(path.join(tmpdir(), 'sa-'));
    const env = tls.server.writeServiceAccount(sa);
    const apis = createApis(loadKubeConfig(parseKubeConnection(env)), new SystemClock(), 5000);
    expect((await apis.core.readNode({ name: 'tls-1' })).metadata!.name).toBe('tls-1');
    const before = tls.server.token;
    const kubeconfig = tls.server.writeKubeconfig(mkdtempSync(path.join(tmpdir(), 'kc-')));
    const oldClient = createApis(loadKubeConfig(parseKubeConnection({ KUBECONFIG: kubeconfig })), new SystemClock());
    const after = tls.server.rotateToken();
    expect(after).not.toBe(before);
    expect((await apis.core.readNode({ name: 'tls-1' })).metadata!.name).toBe('tls-1');
    expect(tls.server.requests.at(-1)!.token).toBe(after);
    expect(httpStatus(await oldClient.core.readNode({ name: 'tls-1' }).catch((e: unknown) => e))).toBe(401);
    // A watch opened after the rotation carries the new token too.
    const w = await recordWatch(apis, '/api/v1/nodes');
    await until('the watch listed the node', () => w.seen.length > 0);
    w.stop();
    // Another cluster's CA: the handshake fails, nothing is sent.
    const other = await startFakeCluster({ tls: true });
    const sa2 = mkdtempSync(path.join(tmpdir(), 'sa-'));
    const env2 = other.server.writeServiceAccount(sa2);
    await other.server.stop();
    const wrongCaEnv = { ...env2, KUBERNETES_SERVICE_PORT: env.KUBERNETES_SERVICE_PORT! };
    const wrongCa = createApis(loadKubeConfig(parseKubeConnection(wrongCaEnv)), new SystemClock());
    const err = await wrongCa.core.readNode({ name: 'tls-1' }).catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/certificate/i);
  });
});

describe('fault knobs: 429 with Retry-After, 5xx, slow answers, per path, counted', () => {
  it('429 is plain text with Retry-After; the rule counts its hits and retires after `times`', async () => {
    const rule = { path: '/api/v1/nodes/ct-1', method: 'GET', status: 429, retryAfterSeconds: 3, times: 2 };
    const f = c.server.faults.add(rule);
    for (let i = 0; i < 2; i++) {
      const err = await c.apis.core.readNode({ name: 'ct-1' }).catch((e: unknown) => e);
      expect([httpStatus(err), retryAfterMs(err)]).toEqual([429, 3000]);
      expect((err as { body: unknown }).body).toBe('Too many requests, please try again later.\n');
    }
    expect((await c.apis.core.readNode({ name: 'ct-1' })).metadata!.name).toBe('ct-1');
    expect(f.hits).toBe(2);
  });

  it('500 is an InternalError Status; a watch refused with 429 keeps only its status (1 s floor)', async () => {
    c.server.faults.add({ path: /^\/api\/v1\/pods$/, watch: false, status: 500, times: 1 });
    const r = await refusal(c.apis.core.listPodForAllNamespaces({}));
    const message = expect.stringMatching(/^Internal error occurred: /);
    expect(r.body).toMatchObject({ code: 500, reason: 'InternalError', message });
    c.server.faults.add({ path: '/api/v1/pods', watch: true, status: 429, retryAfterSeconds: 7, times: 1 });
    const done = new Promise<unknown>((resolve) => void c.apis.watch.watch('/api/v1/pods', {}, () => {}, resolve));
    const err = await done;
    expect([httpStatus(err), retryAfterMs(err), retryFloorMs(err)]).toEqual([429, undefined, 1000]);
  });

  it('a slow answer runs into the call bound (K8sTimeoutError), then the server answers again', async () => {
    const quick = createApis(c.apis.kc, new SystemClock(), 50);
    const f = c.server.faults.add({ path: '/api/v1/nodes/ct-1', delayMs: 300, times: 1 });
    const read = () => quick.call('read node', () => quick.core.readNode({ name: 'ct-1' }));
    await expect(read()).rejects.toBeInstanceOf(K8sTimeoutError);
    expect(f.hits).toBe(1);
    expect((await read()).metadata!.name).toBe('ct-1');
  });
});

describe('and the earlier strictness: Events, list options, a half-open watch', () => {
  it('a Node Event without eventTime in kube-system is 422', async () => {
    const body: k8s.CoreV1Event = {
      metadata: { name: 'ct-1.old' },
      involvedObject: { kind: 'Node', name: 'ct-1' },
      reason: 'R',
      message: 'm',
    };
    expect((await refusal(c.apis.core.createNamespacedEvent({ namespace: 'kube-system', body }))).code).toBe(422);
  });

  it('resourceVersionMatch needs a resourceVersion (422); NotOlderThan a future one is 504', async () => {
    const list = (o: object) => c.apis.core.listPodForAllNamespaces(o).catch((e: unknown) => e);
    expect(httpStatus(await list({ resourceVersionMatch: 'NotOlderThan' }))).toBe(422);
    const future = String(c.server.store.rv + 100);
    expect(httpStatus(await list({ resourceVersion: future, resourceVersionMatch: 'NotOlderThan' }))).toBe(504);
  });

  it('a black-holed watch gets its 200 and then nothing, while a normal one sees the same change', async () => {
    const rv = String(c.server.store.rv);
    c.server.blackholeWatches = true;
    const dead = await recordWatch(c.apis, '/api/v1/namespaces/bh/pods', { resourceVersion: rv });
    c.server.blackholeWatches = false;
    const live = await recordWatch(c.apis, '/api/v1/namespaces/bh/pods', { resourceVersion: rv });
    try {
      await until('both watches open', () => c.server.openWatches >= 2);
      c.server.create('pods', podObject({ name: 'bh1', namespace: 'bh', nodeName: 'ct-1' }), 'bh');
      // The fake delivers to every open watch in the same turn: once the live one has it, the dead one never will.
      await until('the live watch saw it', () => live.seen.length > 0);
      expect(dead.seen).toEqual([]);
    } finally {
      dead.stop();
      live.stop();
    }
  });
});
