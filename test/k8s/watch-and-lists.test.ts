/**
 * What keeps the Pod watch and the reaper's lists cheap and unstuck, through
 * the real client against the fake API server: a half-open watch (a 200 and
 * then silence) is aborted after its timeout plus a margin and resumed from
 * its resourceVersion; the watch timeout is jittered; routine reaper lists
 * ask the watch cache (resourceVersionMatch=NotOlderThan) and a release
 * follows a consistent list; the fake enforces the list options' rules.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { httpStatus } from '../../ipamd/k8s/client.js';
import { NodePodWatch } from '../../ipamd/k8s/pod-watch.js';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { SystemClock } from '../../ipamd/util/clock.js';
import { add, clusterPerFile, ipOf, startK8sDaemon } from './daemon-harness.js';
import { nodeObject, podObject, seedSimCloud, until } from './helpers.js';

const fx = clusterPerFile({ bookmarkIntervalMs: 100 });

const names = (w: NodePodWatch) => [...w.pods.values()].map((p) => p.name).sort();

describe('NodePodWatch', () => {
  it('aborts a half-open watch after its timeout plus the margin and resumes from its resourceVersion', async () => {
    const base = { apis: fx.c.apis, nodeName: 'hw-1', clock: new SystemClock(), log: silentLogger(), onChange() {} };
    // random 0: the timeout as given, no jitter.
    const w = new NodePodWatch({ ...base, watchTimeoutSeconds: 1, stallMarginMs: 300, random: () => 0 });
    fx.c.server.create('pods', podObject({ name: 'a', nodeName: 'hw-1' }), 'default');
    await w.start();
    try {
      expect(names(w)).toEqual(['a']);
      const lists = w.stats.lists;
      fx.c.server.blackholeWatches = true;
      fx.c.server.dropWatches();
      fx.c.server.create('pods', podObject({ name: 'b', nodeName: 'hw-1' }), 'default');
      await until('the silent watch taken for half-open', () => w.stats.stalls > 0);
      expect(names(w)).toEqual(['a']);
      fx.c.server.blackholeWatches = false;
      await until('b seen once a watch answers again', () => names(w).includes('b'));
      expect(w.stats.lists).toBe(lists); // resumed from the resourceVersion, no re-list
    } finally {
      fx.c.server.blackholeWatches = false;
      await w.stop();
    }
  });

  it('jitters the watch timeout (×1–2 of the base, as client-go reflectors do)', async () => {
    const base = { apis: fx.c.apis, nodeName: 'jw-1', clock: new SystemClock(), log: silentLogger(), onChange() {} };
    const w = new NodePodWatch({ ...base, watchTimeoutSeconds: 30, random: () => 0.5 });
    const watchOf = (r: { query: Record<string, string> }) =>
      r.query.watch === 'true' && r.query.fieldSelector === 'spec.nodeName=jw-1';
    await w.start();
    try {
      const r = await until('a watch request', () => fx.c.server.requests.find(watchOf));
      expect(r.query.timeoutSeconds).toBe('45');
    } finally {
      await w.stop();
    }
  });
});

describe('list options', () => {
  it('the fake refuses resourceVersionMatch without a resourceVersion (422), a future version (504)', async () => {
    const list = (o: object) =>
      fx.c.apis.core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=lo-1', ...o }).catch((e: unknown) => e);
    expect(httpStatus(await list({ resourceVersionMatch: 'NotOlderThan' }))).toBe(422);
    const future = String(fx.c.server.store.rv + 1000);
    expect(httpStatus(await list({ resourceVersion: future, resourceVersionMatch: 'NotOlderThan' }))).toBe(504);
    const now = String(fx.c.server.store.rv);
    const ok = (await list({ resourceVersion: now, resourceVersionMatch: 'NotOlderThan' })) as { items: unknown[] };
    expect(ok.items).toEqual([]);
  });

  it('reaper: routine lists from the watch cache, a consistent list before a release', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ipamd-rl-'));
    const cloud = seedSimCloud(path.join(dir, 'state'));
    fx.c.server.create('nodes', nodeObject('rl-1', { providerID: `aws:///${cloud.zone}/${cloud.instanceId}` }));
    const env = { VPC_IPAM_K8S_REAP_INTERVAL_SECONDS: '1', VPC_IPAM_K8S_REAP_CONFIRM_SECONDS: '1' };
    const d = await startK8sDaemon(fx.c, 'rl-1', { dir, env });
    fx.daemons.push(d);
    const reaper = d.running.k8s!.reaper!;
    const podLists = () =>
      fx.c.server.requests.filter(
        (r) => r.path === '/api/v1/pods' && !r.query.watch && r.query.fieldSelector === 'spec.nodeName=rl-1',
      );
    const cached = () => podLists().some((r) => r.query.resourceVersionMatch === 'NotOlderThan');
    await until('a routine pass from the watch cache', cached);
    // An assignment whose Pod never existed: suspect on a cached list, released after a consistent one.
    const consistentBefore = reaper.stats.consistentLists;
    ipOf(await add(d, 'ghost', { namespace: 'default', name: 'ghost', uid: 'u-never-existed' }));
    await until('the ghost released', () => reaper.stats.released === 1, 30_000);
    expect(reaper.stats.consistentLists).toBeGreaterThan(consistentBefore);
    expect(podLists().some((r) => r.query.resourceVersion === undefined)).toBe(true);
  });
});
