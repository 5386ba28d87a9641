/**
 * The fake API server against the real @kubernetes/client-node: the
 * behaviours the integration relies on are the API server's (patch types,
 * status subresource, selectors, resourceVersion and 410, optimistic
 * concurrency, decoder strictness), so they are pinned here first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpStatus, patchOptions } from '../../ipamd/k8s/client.js';
import { NodePodWatch } from '../../ipamd/k8s/pod-watch.js';
import { microTime } from '../../ipamd/k8s/leader.js';
import { SystemClock } from '../../ipamd/util/clock.js';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { nodeObject, podObject, startFakeCluster, until, type FakeCluster } from './helpers.js';

let c: FakeCluster;
beforeAll(async () => {
  c = await startFakeCluster({ bookmarkIntervalMs: 100 });
  c.server.create('nodes', nodeObject('n1', { labels: { a: '1' } }));
});
afterAll(() => c.server.stop());

describe('fake API server with the real client', () => {
  it('merge-patches metadata, leaves status alone on the main resource', async () => {
    const before = c.server.get('nodes', 'n1');
    await c.apis.core.patchNode(
      { name: 'n1', body: { metadata: { labels: { b: '2', a: null } }, status: { conditions: [] } } },
      patchOptions('merge'),
    );
    const n = await c.apis.core.readNode({ name: 'n1' });
    expect(n.metadata!.labels).toMatchObject({ b: '2' });
    expect(n.metadata!.labels!.a).toBeUndefined();
    expect(n.status!.conditions!.map((x) => x.type)).toEqual(['Ready']);
    expect(Number(n.metadata!.resourceVersion)).toBeGreaterThan(
      Number((before.metadata as { resourceVersion: string }).resourceVersion),
    );
  });

  it('strategic-merges conditions by type on the status subresource', async () => {
    await c.apis.core.patchNodeStatus(
      { name: 'n1', body: { status: { conditions: [{ type: 'X', status: 'True', reason: 'R', message: 'm' }] } } },
      patchOptions('strategic'),
    );
    await c.apis.core.patchNodeStatus(
      { name: 'n1', body: { status: { conditions: [{ type: 'X', status: 'False', reason: 'R2', message: 'm2' }] } } },
      patchOptions('strategic'),
    );
    const n = await c.apis.core.readNode({ name: 'n1' });
    expect(n.status!.conditions!.map((x) => `${x.type}=${x.status}`)).toEqual(['Ready=True', 'X=False']);
    // A merge patch would have replaced the list: the kubelet's Ready condition must survive only with SMP.
    expect(
      c.server.requests
        .filter((r) => r.path === '/api/v1/nodes/n1/status')
        .every((r) => r.contentType === 'application/strategic-merge-patch+json'),
    ).toBe(true);
  });

  it('refuses the client default (JSON patch) only when malformed, and unknown patch types', async () => {
    await c.apis.core.patchNode({ name: 'n1', body: [{ op: 'add', path: '/metadata/labels/j', value: 'p' }] });
    expect((await c.apis.core.readNode({ name: 'n1' })).metadata!.labels!.j).toBe('p');
    const err = await c.apis.core
      .patchNode({ name: 'n1', body: [{ op: 'replace', path: '/metadata/nope/x', value: 1 }] })
      .catch((e) => e);
    expect(httpStatus(err)).toBe(422);
  });

  it('lists Pods by spec.nodeName and rejects unsupported field selectors', async () => {
    c.server.create('pods', podObject({ name: 'a', nodeName: 'n1' }), 'default');
    c.server.create('pods', podObject({ name: 'b', nodeName: 'n2' }), 'default');
    const l = await c.apis.core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=n1' });
    expect(l.items.map((p) => p.metadata!.name)).toEqual(['a']);
    const err = await c.apis.core.listPodForAllNamespaces({ fieldSelector: 'spec.schedulerName=x' }).catch((e) => e);
    expect(httpStatus(err)).toBe(400);
  });

  it('leases: create once (409 after), update guarded by resourceVersion, MicroTime strictly parsed', async () => {
    const ns = 'kube-system';
    const t = microTime(Date.now());
    const created = await c.apis.coordination.createNamespacedLease({
      namespace: ns,
      body: { metadata: { name: 'l1' }, spec: { holderIdentity: 'a', renewTime: t, leaseDurationSeconds: 15 } },
    });
    expect(
      httpStatus(
        await c.apis.coordination
          .createNamespacedLease({ namespace: ns, body: { metadata: { name: 'l1' }, spec: {} } })
          .catch((e) => e),
      ),
    ).toBe(409);
    const upd = await c.apis.coordination.replaceNamespacedLease({
      name: 'l1',
      namespace: ns,
      body: { ...created, spec: { ...created.spec, holderIdentity: 'b' } },
    });
    expect(upd.spec!.holderIdentity).toBe('b');
    const stale = await c.apis.coordination
      .replaceNamespacedLease({
        name: 'l1',
        namespace: ns,
        body: { ...created, spec: { ...created.spec, holderIdentity: 'c' } },
      })
      .catch((e) => e);
    expect(httpStatus(stale)).toBe(409);
    const millis = await c.apis.coordination
      .replaceNamespacedLease({
        name: 'l1',
        namespace: ns,
        body: { ...upd, spec: { ...upd.spec, renewTime: new Date() } },
      })
      .catch((e) => e);
    expect(httpStatus(millis)).toBe(400);
  });
});

describe('NodePodWatch against the fake server', () => {
  it('follows adds, binds, deletes; survives dropped watches; re-lists after 410 Gone', async () => {
    const w = new NodePodWatch({
      apis: c.apis,
      nodeName: 'w1',
      clock: new SystemClock(),
      log: silentLogger(),
      onChange: () => {},
      watchTimeoutSeconds: 30,
    });
    c.server.create('pods', podObject({ name: 'p1', nodeName: 'w1' }), 'default');
    await w.start();
    try {
      expect([...w.pods.values()].map((p) => p.name)).toEqual(['p1']);
      c.server.create('pods', podObject({ name: 'p2', nodeName: 'w1' }), 'ns2');
      c.server.create('pods', podObject({ name: 'other', nodeName: 'elsewhere' }), 'default');
      await until('p2 seen', () => [...w.pods.values()].some((p) => p.name === 'p2'));
      // A Pod bound to this node later (scheduler binding) arrives as ADDED through the selector.
      c.server.mutate('pods', 'other', (o) => ((o.spec as { nodeName: string }).nodeName = 'w1'), 'default');
      await until('rebound pod seen', () => [...w.pods.values()].some((p) => p.name === 'other'));
      c.server.remove('pods', 'p1', 'default');
      await until('p1 gone', () => ![...w.pods.values()].some((p) => p.name === 'p1'));

      // Connection dropped: resumes from the last resourceVersion, no re-list.
      const lists = w.stats.lists;
      c.server.dropWatches();
      c.server.create('pods', podObject({ name: 'p3', nodeName: 'w1' }), 'default');
      await until('p3 after reconnect', () => [...w.pods.values()].some((p) => p.name === 'p3'));
      expect(w.stats.lists).toBe(lists);

      // History compacted while disconnected, and a Pod deleted meanwhile: 410 → re-list → the deletion is seen.
      c.server.dropWatches();
      c.server.remove('pods', 'p3', 'default');
      c.server.store.compact();
      await until('re-listed after 410', () => w.stats.gone > 0 && ![...w.pods.values()].some((p) => p.name === 'p3'));
      expect(w.stats.lists).toBeGreaterThan(lists);
      expect([...w.pods.values()].map((p) => p.name).sort()).toEqual(['other', 'p2']);
      // Bookmarks keep the resume point fresh.
      const rv = Number(w.resourceVersion);
      c.server.create('pods', podObject({ name: 'x', nodeName: 'nobody' }), 'default');
      await until('bookmark advanced the resourceVersion', () => Number(w.resourceVersion) > rv);
    } finally {
      await w.stop();
    }
    await until('the watch connection closed after stop()', () => c.server.openWatches === 0);
  });
});
