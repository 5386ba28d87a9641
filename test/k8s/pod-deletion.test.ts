/**
 * What the Pod watch and the stale-assignment reaper make of a Pod's end, as
 * the API server shows it (graceful deletion and finalizers in the fake,
 * fake/deletion.ts), through the real client:
 * - a Pod being deleted is MODIFIED with a deletionTimestamp: the watch keeps
 *   it (marked `deleting`, no longer demand) until DELETED, and the reaper
 *   does not release its address, however long a finalizer holds it: its
 *   containers may still run (docs/decisions.md);
 * - Succeeded and Failed Pods count as gone: their sandbox is torn down, a
 *   missed CNI DEL would leave the address behind for as long as the Pod
 *   object stays (Jobs), so the reaper releases it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Assignment } from '../../ipamd/datastore/types.js';
import { patchOptions } from '../../ipamd/k8s/client.js';
import { expectedDemand } from '../../ipamd/k8s/pod-demand.js';
import { NodePodWatch } from '../../ipamd/k8s/pod-watch.js';
import { StaleAssignmentReaper } from '../../ipamd/k8s/reaper.js';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { SystemClock } from '../../ipamd/util/clock.js';
import { nodeObject, podObject, startFakeCluster, until, type FakeCluster } from './helpers.js';

let c: FakeCluster;
beforeAll(async () => {
  // The kubelet stand-in stops a deleted Pod's containers 50 ms after a DELETE of grace 1, never for longer graces.
  c = await startFakeCluster({ bookmarkIntervalMs: 100, podTerminationMs: (s) => (s <= 1 ? 50 : undefined) });
  c.server.create('nodes', nodeObject('pd-1'));
});
afterAll(() => c.server.stop());

const assignment = (containerId: string, uid: string): Assignment => ({
  network: 'vpc-ipam',
  containerId,
  ifName: 'eth0',
  ip: `10.0.0.${containerId.length}`,
  interfaceId: 'eni-1',
  blockCidr: '10.0.0.1/32',
  pod: { namespace: 'default', name: containerId, uid },
  assignedAt: 0,
});

describe('a Pod that ends, seen by the watch and the reaper', () => {
  it('being deleted (even held by a finalizer): kept, not demand, not released; Succeeded/Failed: gone', async () => {
    const clock = new SystemClock();
    const w = new NodePodWatch({ apis: c.apis, nodeName: 'pd-1', clock, log: silentLogger(), onChange() {} });
    const mk = (name: string, phase: string, finalizers?: string[]) => {
      const body = podObject({ name, nodeName: 'pd-1', phase });
      const metadata = { ...body.metadata, ...(finalizers ? { finalizers } : {}) };
      return c.server.create('pods', { ...body, metadata }, 'default');
    };
    const held = mk('held', 'Running', ['example.com/hold']);
    mk('leaving', 'Pending'); // deleted gracefully below, by name
    const done = mk('done', 'Succeeded');
    const failed = mk('failed', 'Running');
    await w.start();
    const assigned = [
      assignment('c-held', held.metadata.uid as string),
      assignment('c-done', done.metadata.uid as string),
      assignment('c-failed', failed.metadata.uid as string),
    ];
    const released: string[] = [];
    const reaper = new StaleAssignmentReaper({
      clock: new SystemClock(),
      list: () => w.list(),
      assignments: () => assigned.filter((a) => !released.includes(a.containerId)),
      release: async (a) => (released.push(a.containerId), true),
      intervalMs: 60_000,
      confirmMs: 0, // two passes still have to agree
      log: silentLogger(),
    });
    try {
      const byName = (n: string) => [...w.pods.values()].find((p) => p.name === n);
      expect(expectedDemand(w.pods.values(), [])).toBe(1); // `leaving` is Pending without an address
      // Deleted with a long grace (the kubelet has not stopped it): MODIFIED with deletionTimestamp.
      c.server.requestDelete('pods', 'leaving', 'default', { gracePeriodSeconds: 30 });
      await until('the watch saw the deletionTimestamp', () => byName('leaving')?.deleting);
      expect(expectedDemand(w.pods.values(), [])).toBe(0);
      // Held by a finalizer after the kubelet confirmed (grace 0): still listed, still not gone.
      c.server.requestDelete('pods', 'held', 'default', { gracePeriodSeconds: 1 });
      const grace = () => c.server.get('pods', 'held', 'default').metadata.deletionGracePeriodSeconds;
      await until('the kubelet confirmed', () => grace() === 0);
      c.server.mutate('pods', 'failed', (p) => ((p.status as { phase: string }).phase = 'Failed'), 'default');
      await until('the watch saw Failed', () => byName('failed')?.phase === 'Failed');
      expect(byName('held')).toMatchObject({ deleting: true, phase: 'Running' });

      expect((await reaper.pass()).released).toEqual([]); // suspects first
      expect((await reaper.pass()).released.map((a) => a.containerId).sort()).toEqual(['c-done', 'c-failed']);
      expect((await reaper.pass()).released).toEqual([]);
      expect(released).not.toContain('c-held');

      // Its owner drops the finalizer: DELETED; now the held Pod's address is stale too.
      const drop = { name: 'held', namespace: 'default', body: { metadata: { finalizers: null } } };
      await c.apis.core.patchNamespacedPod(drop, patchOptions('merge'));
      await until('held gone from the watch', () => !byName('held'));
      await reaper.pass();
      expect((await reaper.pass()).released.map((a) => a.containerId)).toEqual(['c-held']);
    } finally {
      await w.stop();
    }
  });
});
