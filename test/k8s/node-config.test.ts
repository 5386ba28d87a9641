/**
 * Per-node Pod subnets from PodSubnetConfig, with the real daemon wiring on
 * the sim cloud and the fake API server: chosen by node label, annotation or
 * the zone default, read again at each interface allocation, refused when
 * missing or invalid, and (custom networking) never on the primary interface.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Assignment } from '../../ipamd/datastore/types.js';
import { add, ipOf, startK8sDaemon, type K8sDaemon } from './daemon-harness.js';
import { nodeObject, seedSimCloud, startFakeCluster, until, type FakeCluster } from './helpers.js';
import * as path from 'node:path';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

let c: FakeCluster;
const daemons: K8sDaemon[] = [];
beforeAll(async () => {
  c = await startFakeCluster();
});
afterAll(async () => {
  for (const d of daemons) await d.running.stop().catch(() => {});
  await c.server.stop();
});

function psc(name: string, spec: Record<string, unknown>) {
  return c.server.create('podsubnetconfigs', {
    apiVersion: 'vpc-ipam.io/v1alpha1',
    kind: 'PodSubnetConfig',
    metadata: { name },
    spec,
  });
}

/** Seeds a node's sim cloud with subnets a, b, z and registers its Node object. */
function prepareNode(name: string, meta: { labels?: Record<string, string>; annotations?: Record<string, string> }) {
  const dir = mkdtempSync(path.join(tmpdir(), `ipamd-${name}-`));
  const cloud = seedSimCloud(path.join(dir, 'state'), {
    a: '10.0.1.0/24',
    b: '10.0.2.0/24',
    z: '10.0.3.0/24',
    tiny: '10.0.4.0/28',
  });
  c.server.create(
    'nodes',
    nodeObject(name, {
      providerID: `aws:///${cloud.zone}/${cloud.instanceId}`,
      labels: { 'topology.kubernetes.io/zone': cloud.zone, ...meta.labels },
      annotations: meta.annotations,
    }),
  );
  return { dir, cloud };
}

async function nics(d: K8sDaemon) {
  return d.running.daemon.datastore.interfaceList();
}

describe('PodSubnetConfig selection (custom networking)', () => {
  const custom = { VPC_IPAM_CUSTOM_NETWORKING: 'true', WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '1' };

  it('label picks the config, re-read at each allocation; Pods never use the primary interface', async () => {
    const { dir, cloud } = prepareNode('lab-1', {
      labels: { 'vpc-ipam.io/pod-subnet-config': 'cfg-a' },
      annotations: { 'vpc-ipam.io/pod-subnet-config': 'cfg-b' },
    });
    psc('cfg-a', { subnetIds: [cloud.subnets.a], securityGroups: ['sg-0aaa'] });
    psc('cfg-b', { subnet: cloud.subnets.b, securityGroups: ['sg-0bbb'] });
    const d = await startK8sDaemon(c, 'lab-1', { dir, env: custom });
    daemons.push(d);
    // The first tick created an interface in cfg-a's subnet (label beats annotation).
    let list = await nics(d);
    const first = list.find((n) => n.deviceIndex !== 0)!;
    expect(first).toMatchObject({ subnetId: cloud.subnets.a, securityGroups: ['sg-0aaa'] });
    expect(list.find((n) => n.deviceIndex === 0)!.usable).toBe(false);
    const reads = c.server.count('GET', '/apis/vpc-ipam.io/v1alpha1/podsubnetconfigs/cfg-a');

    // Relabel: the next interface (the first one fills at 9 addresses) goes into cfg-b's subnet.
    c.server.mutate(
      'nodes',
      'lab-1',
      (n) => ((n.metadata.labels as Record<string, string>)['vpc-ipam.io/pod-subnet-config'] = 'cfg-b'),
    );
    for (let i = 0; i < 12; i++)
      ipOf(await add(d, `c${i}`, { namespace: 'default', name: `p${i}`, uid: `u-lab-${i}` }));
    list = await until('a second Pod interface', async () =>
      (await nics(d)).filter((n) => n.deviceIndex !== 0).length >= 2 ? nics(d) : undefined,
    );
    const second = list.find((n) => n.deviceIndex !== 0 && n.id !== first.id)!;
    expect(second).toMatchObject({ subnetId: cloud.subnets.b, securityGroups: ['sg-0bbb'] });
    expect(c.server.count('GET', '/apis/vpc-ipam.io/v1alpha1/podsubnetconfigs/cfg-b')).toBeGreaterThan(0);
    expect(c.server.count('GET', '/apis/vpc-ipam.io/v1alpha1/podsubnetconfigs/cfg-a')).toBe(reads);
    const primary = list.find((n) => n.deviceIndex === 0)!.id;
    const assigned: Assignment[] = d.running.daemon.datastore.list();
    expect(assigned).toHaveLength(12);
    expect(assigned.filter((a) => a.interfaceId === primary)).toEqual([]);
  });

  it('annotation picks the config when there is no label', async () => {
    const { dir, cloud } = prepareNode('ann-1', { annotations: { 'vpc-ipam.io/pod-subnet-config': 'cfg-ann' } });
    psc('cfg-ann', { subnetIds: [cloud.subnets.b, cloud.subnets.a] });
    const d = await startK8sDaemon(c, 'ann-1', { dir, env: custom });
    daemons.push(d);
    const nic = (await nics(d)).find((n) => n.deviceIndex !== 0)!;
    expect(nic.subnetId).toBe(cloud.subnets.b);
    // No securityGroups in the config: the provider's default (the primary's groups).
    expect(nic.securityGroups).toEqual((await nics(d)).find((n) => n.deviceIndex === 0)!.securityGroups);
  });

  it('zone default: a config named after topology.kubernetes.io/zone', async () => {
    const { dir, cloud } = prepareNode('zone-1', {});
    psc(cloud.zone, { subnetIds: [cloud.subnets.z] });
    const d = await startK8sDaemon(c, 'zone-1', { dir, env: custom });
    daemons.push(d);
    expect((await nics(d)).find((n) => n.deviceIndex !== 0)!.subnetId).toBe(cloud.subnets.z);
    expect(d.running.daemon.status().ready).toBe(true);
  });

  it('a missing named config: no interface anywhere, a PodSubnetConfigInvalid Event, no conflist', async () => {
    const { dir } = prepareNode('missing-1', { labels: { 'vpc-ipam.io/pod-subnet-config': 'nope' } });
    const d = await startK8sDaemon(c, 'missing-1', { dir, env: custom });
    daemons.push(d);
    expect((await nics(d)).filter((n) => n.deviceIndex !== 0)).toEqual([]);
    const ev = await until('Event', () =>
      c.server
        .list('events')
        .find(
          (e) => (e.involvedObject as { name: string }).name === 'missing-1' && e.reason === 'PodSubnetConfigInvalid',
        ),
    );
    expect(String(ev.message)).toContain('PodSubnetConfig/nope');
    expect(ev.type).toBe('Warning');
    expect(existsSync(path.join(d.confDir, '10-vpc-ipam.conflist'))).toBe(false);
    // Creating the config heals the node on the next pool tick.
    psc('nope', { subnetIds: [(await nics(d))[0]!.subnetId] });
    await until('interface after the config appeared', async () => (await nics(d)).some((n) => n.deviceIndex !== 0));
    await until('conflist once the pool could grow', () => existsSync(path.join(d.confDir, '10-vpc-ipam.conflist')));
  });

  it('the CRD not installed: the log and the PodSubnetConfigInvalid Event say so; installing heals', async () => {
    const { dir, cloud } = prepareNode('nocrd-1', { labels: { 'vpc-ipam.io/pod-subnet-config': 'cfg-nocrd' } });
    c.server.crdInstalled = false;
    try {
      const d = await startK8sDaemon(c, 'nocrd-1', { dir, env: custom });
      daemons.push(d);
      const said = 'CRD podsubnetconfigs.vpc-ipam.io is not installed';
      const about = (e: Record<string, unknown>) => (e.involvedObject as { name: string }).name === 'nocrd-1';
      const ev = await until('Event', () =>
        c.server.list('events').find((e) => about(e) && e.reason === 'PodSubnetConfigInvalid'),
      );
      expect(String(ev.message)).toContain(`${said}: node nocrd-1 names PodSubnetConfig/cfg-nocrd in its label`);
      await until('the log says it', () => readFileSync(path.join(d.dir, 'ipamd.log'), 'utf8').includes(said));
      expect((await nics(d)).filter((n) => n.deviceIndex !== 0)).toEqual([]);
      c.server.crdInstalled = true;
      psc('cfg-nocrd', { subnetIds: [cloud.subnets.a] });
      const podNic = async () => (await nics(d)).some((n) => n.deviceIndex !== 0);
      await until('interface once the CRD and the config exist', podNic);
    } finally {
      c.server.crdInstalled = true;
    }
  });

  it('the API server refuses an invalid config (CRD schema), and so does the daemon for a stored one', async () => {
    const post = (name: string, spec: Record<string, unknown>) =>
      c.apis.custom.createClusterCustomObject({
        group: 'vpc-ipam.io',
        version: 'v1alpha1',
        plural: 'podsubnetconfigs',
        body: { apiVersion: 'vpc-ipam.io/v1alpha1', kind: 'PodSubnetConfig', metadata: { name }, spec },
      });
    for (const [name, spec] of [
      ['bad-1', { subnet: 'subnet-1', subnetIds: ['subnet-2'] }],
      ['bad-2', { subnetIds: [] }],
      ['bad-3', { subnetIds: ['subnet-1', 'subnet-1'] }],
      ['bad-4', { subnet: 'subnet 1' }],
    ] as const) {
      const err = await post(name, spec).then(
        () => undefined,
        (e: { code?: number; body?: string }) => e,
      );
      expect(err?.code, name).toBe(422);
      expect(() => c.server.get('podsubnetconfigs', name)).toThrow(/not found/);
    }
    expect(await post('good-1', { subnetIds: ['subnet-1', 'subnet-2'], securityGroups: ['sg-1'] })).toMatchObject({
      metadata: { name: 'good-1' },
    });
    const { parsePodSubnetConfig } = await import('../../ipamd/k8s/pod-subnet-config.js');
    expect(() => parsePodSubnetConfig({ metadata: { name: 'x' }, spec: { subnetIds: ['ok', 'has space'] } })).toThrow(
      /spec\.subnetIds\[1\]/,
    );
    expect(() => parsePodSubnetConfig({ metadata: { name: 'x' }, spec: {} })).toThrow(
      /exactly one of subnet or subnetIds/,
    );
  });
});

describe('without custom networking', () => {
  it('uses a node config if present and the primary interface stays usable; else the primary subnet', async () => {
    const { dir, cloud } = prepareNode('plain-1', { labels: { 'vpc-ipam.io/pod-subnet-config': 'cfg-plain' } });
    psc('cfg-plain', { subnetIds: [cloud.subnets.a] });
    const d = await startK8sDaemon(c, 'plain-1', { dir, env: { WARM_IP_TARGET: '2', MINIMUM_IP_TARGET: '2' } });
    daemons.push(d);
    expect((await nics(d)).find((n) => n.deviceIndex === 0)!.usable).toBe(true);
    for (let i = 0; i < 11; i++) ipOf(await add(d, `c${i}`, { uid: `u-plain-${i}` }));
    const second = await until('second interface', async () => (await nics(d)).find((n) => n.deviceIndex !== 0));
    expect(second.subnetId).toBe(cloud.subnets.a);
  });
});

describe('node identity', () => {
  it('refuses to start on a Node whose providerID names another machine', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ipamd-wrong-'));
    seedSimCloud(path.join(dir, 'state'));
    c.server.create('nodes', nodeObject('wrong-1', { providerID: 'aws:///us-east-1a/i-0someoneelse' }));
    await expect(startK8sDaemon(c, 'wrong-1', { dir })).rejects.toThrow(
      /MY_NODE_NAME: Node wrong-1 has providerID aws:\/\/\/us-east-1a\/i-0someoneelse/,
    );
  });
});
