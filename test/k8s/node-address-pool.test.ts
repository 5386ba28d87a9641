/**
 * ipamd publishes its pool in its NodeAddressPool, not on its Node, with the
 * real daemon wiring on the sim cloud and the fake API server: the object is
 * created owned by the Node, its status follows the pool at the publish
 * cadence (deduplicated), and over a burst of pool changes the Node is not
 * written at all; annotations an older ipamd left are removed once. Without
 * the CRD it says so once and keeps the Node annotation (the upgrade
 * window), then moves to the NodeAddressPool when the CRD appears.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClusterUsageSource } from '../../ipamd/k8s/node-usage-source.js';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { SystemClock } from '../../ipamd/util/clock.js';
import { add, clusterPerFile, del, ipOf, startK8sDaemon, type K8sDaemon } from './daemon-harness.js';
import { nodeObject, seedSimCloud, until } from './helpers.js';

const fx = clusterPerFile();
const USAGE = 'vpc-ipam.io/pool-usage';
const SUMMARY = 'vpc-ipam.io/pool-summary';

type PoolStatus = { assigned: number; total: number; maxPods: number; subnets: Array<{ subnetId: string }> };
const pool = (node: string) =>
  fx.c.server.list('nodeaddresspools').find((o) => o.metadata.name === node) as
    { metadata: { ownerReferences?: unknown[] }; status?: PoolStatus } | undefined;
const annotations = (node: string) =>
  (fx.c.server.get('nodes', node).metadata.annotations ?? {}) as Record<string, string>;
const nodePatches = (node: string) => fx.c.server.count('PATCH', `/api/v1/nodes/${node}`);
const statusPatches = (node: string) =>
  fx.c.server.count('PATCH', `/apis/vpc-ipam.io/v1alpha1/nodeaddresspools/${node}/status`);

async function start(name: string, o: { annotations?: Record<string, string>; env?: Record<string, string> } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), `ipamd-${name}-`));
  const cloud = seedSimCloud(path.join(dir, 'state'));
  const providerID = `aws:///${cloud.zone}/${cloud.instanceId}`;
  const extra = o.annotations ? { annotations: o.annotations } : {};
  fx.c.server.create('nodes', nodeObject(name, { providerID, ...extra }));
  const d = await startK8sDaemon(fx.c, name, { dir, env: { WARM_IP_TARGET: '2', ...o.env } });
  fx.daemons.push(d);
  return { d, cloud };
}

const monitorSource = () => new ClusterUsageSource({ apis: fx.c.apis, clock: new SystemClock(), log: silentLogger() });

describe('the pool goes to the NodeAddressPool', () => {
  it('created owned by the Node; a burst of pool changes writes its status, never the Node', async () => {
    // An older ipamd's annotations: the monitor reads them until the NodeAddressPool is there, then they go.
    const left = { [USAGE]: '[]', [SUMMARY]: 'total=0', 'example.com/keep': 'x' };
    const { d, cloud } = await start('pa-1', { annotations: left });
    ipOf(await add(d, 'c0', { uid: 'u0' }));
    const first = await until('published', () => (pool('pa-1')?.status?.assigned === 1 ? pool('pa-1') : undefined));
    const uid = fx.c.server.get('nodes', 'pa-1').metadata.uid;
    expect(first.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Node', name: 'pa-1', uid }]);
    expect(first.status).toMatchObject({ maxPods: 29, subnets: [{ subnetId: cloud.nodeSubnet }] });
    await until('the old annotations removed', () => annotations('pa-1')[USAGE] === undefined);
    expect(annotations('pa-1')).toMatchObject({ 'vpc-ipam.io/max-pods': '29', 'example.com/keep': 'x' });
    expect(annotations('pa-1')).not.toHaveProperty(SUMMARY);
    expect((fx.c.server.get('nodes', 'pa-1').metadata.labels as Record<string, string>)['vpc-ipam.io/max-pods']).toBe(
      '29',
    );

    // Steady state: Pods come and go for a few publish intervals (1 s here).
    const nodeBefore = nodePatches('pa-1');
    const statusBefore = statusPatches('pa-1');
    const t0 = Date.now();
    for (let i = 1; i <= 12; i++) {
      ipOf(await add(d, `c${i}`, { uid: `u${i}` }));
      if (i % 3 === 0) expect(await del(d, `c${i - 1}`)).toMatchObject({ ok: true });
      await new Promise((r) => setTimeout(r, 250));
    }
    const assigned = d.running.daemon.snapshot().assigned;
    expect(assigned).toBe(9);
    await until('the final pool published', () => pool('pa-1')?.status?.assigned === assigned);
    const writes = statusPatches('pa-1') - statusBefore;
    const intervals = Math.ceil((Date.now() - t0) / 1000);
    expect(writes).toBeGreaterThan(1);
    // At most one write per interval (plus the one a poke brings forward), however many changes.
    expect(writes).toBeLessThanOrEqual(intervals + 2);
    expect(nodePatches('pa-1')).toBe(nodeBefore);
    // Unchanged pool: passes go by (one a second here), nothing is written until the heartbeat. The pool may still
    // move on its own (cooldowns ending, the warm target's top-up): only a window in which it did not counts.
    const publisher = d.running.k8s!.publisher!;
    const pooled = () => {
      const s = d.running.daemon.snapshot();
      return `${s.total}/${s.assigned}/${s.available}/${s.cooling}`;
    };
    const passes = async (n: number) => {
      const from = publisher.stats.passes;
      await until(`${n} more publication passes`, () => publisher.stats.passes >= from + n);
    };
    const idle = await until('two passes over an unchanged pool', async () => {
      const before = pooled();
      await passes(2); // what changed just before is written by now
      const writes = statusPatches('pa-1');
      await passes(2);
      return pooled() === before ? { written: statusPatches('pa-1') - writes } : undefined;
    });
    expect(idle.written).toBe(0);
    expect(d.running.k8s!.publisher!.poolTarget).toBe('resource');

    // The monitor's reader sees what ipamd published.
    const usage = (await monitorSource().usage()).filter((u) => u.node === 'pa-1');
    expect(usage).toEqual([expect.objectContaining({ subnetId: cloud.nodeSubnet, assigned, mode: 'ip' })]);
  });

  it('deleted (or collected with a replaced Node), it is created again at the next publication', async () => {
    const { d } = await start('pa-2');
    await until('published', () => pool('pa-2')?.status !== undefined);
    fx.c.server.requestDelete('nodeaddresspools', 'pa-2');
    ipOf(await add(d, 'c0', { uid: 'u0' }));
    await until('created again', () => pool('pa-2')?.status?.assigned === 1);
    expect(d.running.k8s!.publisher!.poolStats.creates).toBe(2);
  });
});

describe('the NodeAddressPool CRD not installed', () => {
  it('says so once and keeps the Node annotation; installing the CRD moves the pool, the annotations go', async () => {
    fx.c.server.notInstalled.add('nodeaddresspools.vpc-ipam.io');
    let d: K8sDaemon;
    try {
      ({ d } = await start('pa-nocrd', { env: { VPC_IPAM_K8S_HEARTBEAT_SECONDS: '10' } }));
      ipOf(await add(d, 'c0', { uid: 'u0' }));
      const ann = await until('the annotation', () => {
        const raw = annotations('pa-nocrd')[USAGE];
        return raw && (JSON.parse(raw) as Array<{ assigned: number }>)[0]?.assigned === 1 ? raw : undefined;
      });
      expect(annotations('pa-nocrd')[SUMMARY]).toMatch(/^total=\d+ assigned=1 /);
      expect((await monitorSource().usage()).filter((u) => u.node === 'pa-nocrd')).toEqual(JSON.parse(ann));
      const publisher = d.running.k8s!.publisher!;
      await until('a few retries of the CRD', () => publisher.stats.crdMisses >= 3);
      const log = readFileSync(path.join(d.dir, 'ipamd.log'), 'utf8');
      const said = log.split('\n').filter((l) => l.includes('CRD nodeaddresspools.vpc-ipam.io is not installed'));
      expect(said).toHaveLength(1);
      expect(said[0]).toContain('publishing the pool in the Node annotation vpc-ipam.io/pool-usage instead');
      expect(d.running.k8s!.publisher!.poolTarget).toBe('annotation');
    } finally {
      fx.c.server.notInstalled.clear();
    }
    await until('moved to the NodeAddressPool', () => pool('pa-nocrd')?.status?.assigned === 1, 30_000);
    await until('the annotations removed', () => annotations('pa-nocrd')[USAGE] === undefined);
    expect(annotations('pa-nocrd')).not.toHaveProperty(SUMMARY);
    expect(d.running.k8s!.publisher!.poolTarget).toBe('resource');
  });
});
