/**
 * ipamd against a throttling, failing API server (fault knobs of the fake,
 * fake/faults.ts), through the real client:
 * - it honours Retry-After: the Pod list's retry, the watch's (a 429 whose
 *   headers client-node drops: 1 s), the reaper's next pass. The waits are
 *   read from the clock the code asks to sleep (a recording clock that
 *   sleeps for real only briefly), not timed;
 * - it keeps serving: with every API request answered 429 (and the Node
 *   read 500), ADD and DEL work and the pool grows into the cached
 *   PodSubnetConfig's subnet; once the server answers, the watch catches up.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodePodWatch } from '../../ipamd/k8s/pod-watch.js';
import { StaleAssignmentReaper } from '../../ipamd/k8s/reaper.js';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { SystemClock } from '../../ipamd/util/clock.js';
import { add, clusterPerFile, del, ipOf, startK8sDaemon } from './daemon-harness.js';
import { nodeObject, podObject, seedSimCloud, until } from './helpers.js';

const fx = clusterPerFile({ bookmarkIntervalMs: 100 });

/** Records every wait the code asks for; really sleeps at most 20 ms of it. */
class RecordingClock extends SystemClock {
  readonly waits: number[] = [];
  override sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.waits.push(ms);
    return super.sleep(Math.min(ms, 20), signal);
  }
}

/** Waits of backoff size: the watch's half-open watchdog asks for ~90 s, which is not one. */
const backoffs = (c: RecordingClock) => c.waits.filter((ms) => ms < 60_000);

describe('Retry-After is honoured', () => {
  it('the Pod list retries no sooner than Retry-After; a throttled watch waits at least 1 s', async () => {
    const clock = new RecordingClock();
    const o = { apis: fx.c.apis, nodeName: 'ra-1', clock, log: silentLogger(), onChange() {}, random: () => 0 };
    const w = new NodePodWatch({ ...o, watchTimeoutSeconds: 60 });
    const rule = { path: '/api/v1/pods', status: 429, times: 1 };
    const list = fx.c.server.faults.add({ ...rule, watch: false, retryAfterSeconds: 4 });
    const watch = fx.c.server.faults.add({ ...rule, watch: true, retryAfterSeconds: 9 });
    fx.c.server.create('pods', podObject({ name: 'ra-a', nodeName: 'ra-1' }), 'default');
    w.startInBackground();
    try {
      await until('listed after the 429', () => w.synced && w.pods.size === 1);
      fx.c.server.create('pods', podObject({ name: 'ra-b', nodeName: 'ra-1' }), 'default');
      await until('watching after the 429', () => w.pods.size === 2);
      expect([list.hits, watch.hits]).toEqual([1, 1]);
      // random 0: the jittered backoffs are their minimum (125 ms, then 250 ms); the floors win.
      expect(backoffs(clock)).toEqual([4000, 1000]);
    } finally {
      await w.stop();
    }
  });

  it("the reaper's next pass after a throttled list waits for Retry-After", async () => {
    const clock = new RecordingClock();
    const w = new NodePodWatch({ apis: fx.c.apis, nodeName: 'ra-2', clock, log: silentLogger(), onChange() {} });
    const reaper = new StaleAssignmentReaper({
      clock,
      list: () => w.list(),
      assignments: () => [],
      release: async () => false,
      intervalMs: 500,
      confirmMs: 500,
      log: silentLogger(),
      random: () => 0,
    });
    fx.c.server.faults.add({ path: '/api/v1/pods', watch: false, status: 429, retryAfterSeconds: 6, times: 1 });
    reaper.start();
    try {
      await until('a pass after the throttled one', () => reaper.stats.passes >= 2);
    } finally {
      await reaper.stop();
    }
    expect(reaper.stats.errors).toBe(1);
    expect(clock.waits.slice(0, 2)).toEqual([6000, 500]);
  });
});

describe('throttled or failing, ipamd keeps serving', () => {
  it('every request 429 (the Node read 500): ADD, DEL, growth from the cached Node; the watch catches up', async () => {
    const name = 'thr-1';
    const dir = mkdtempSync(path.join(tmpdir(), `ipamd-${name}-`));
    const cloud = seedSimCloud(path.join(dir, 'state'), { pods: '10.0.8.0/24' });
    const labels = { 'vpc-ipam.io/pod-subnet-config': 'cfg-thr', 'topology.kubernetes.io/zone': cloud.zone };
    fx.c.server.create('nodes', nodeObject(name, { providerID: `aws:///${cloud.zone}/${cloud.instanceId}`, labels }));
    const spec = { subnetIds: [cloud.subnets.pods] };
    fx.c.server.create('podsubnetconfigs', { metadata: { name: 'cfg-thr' }, spec });
    const d = await startK8sDaemon(fx.c, name, { dir, env: { VPC_IPAM_ADD_WAIT_SECONDS: '60' } });
    fx.daemons.push(d);
    const failing = fx.c.server.faults.add({ path: `/api/v1/nodes/${name}`, method: 'GET', status: 500 });
    const throttled = fx.c.server.faults.add({ path: /^\/api/, status: 429, retryAfterSeconds: 1 });
    try {
      const results = [];
      for (let i = 0; i < 14; i++) results.push(await add(d, `c-${i}`, { uid: `u-thr-${i}` }));
      results.forEach(ipOf);
      expect(await del(d, 'c-0')).toEqual({ ok: true, released: true });
      const nics = d.running.daemon.datastore.interfaceList().filter((n) => n.deviceIndex !== 0);
      expect(nics.length).toBeGreaterThan(0);
      for (const n of nics) expect(n.subnetId).toBe(cloud.subnets.pods);
      expect(failing.hits).toBeGreaterThan(0);
      fx.c.server.dropWatches(); // the watch must reconnect through the throttle
      await until('a throttled request', () => throttled.hits > 0);
    } finally {
      fx.c.server.faults.clear();
    }
    fx.c.server.create('pods', podObject({ name: `${name}-p`, nodeName: name }), 'default');
    await until('the watch caught up', () => d.running.daemon.expectedDemand === 1, 30_000);
  });
});
