/**
 * The GCP adapter against the emulator through the real SDK: node discovery, growth and shrink of nic0's alias
 * ranges (the last one too), ranges that are not the pool's, and secondary-range usage for the monitor.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { rangeUsage } from '../../../providers/gcp/index.js';
import { seedGceNode } from '../../../providers/gcp/emulator/index.js';
import { cloudRanges, gce, type TestEmulator } from './helpers.js';
import { closeOpened, adapter, fail } from './provider-harness.js';

let t: TestEmulator | undefined;
afterEach(async () => {
  await closeOpened();
  await t?.emu.close();
  t = undefined;
});

describe('describeNode and limits', () => {
  it('finds the node from metadata and nic0 from instances.get; only /28s of the Pods range are pool', async () => {
    t = await gce({}, {});
    t.cloud.replaceAliasRanges(t.nicId, [
      { cidr: '10.4.0.16/28', rangeName: 'pods' },
      { cidr: '10.4.0.128/25', rangeName: 'pods' }, // a node-template /25: not ours
      { cidr: '10.128.1.9' }, // a VIP from the primary range: not ours
    ]);
    const p = await adapter(t);
    const inv = await p.describeNode();
    const nic = t.cloud.getInterface(t.nicId);
    expect(inv).toEqual({
      instanceId: 'gke-node-1',
      instanceType: 'e2-standard-4',
      zone: 'us-central1-a',
      vpcId: 'vpc1',
      vpcCidrs: ['10.128.0.0/20', '10.4.0.0/24'],
      interfaces: [
        {
          id: 'nic0',
          deviceIndex: 0,
          mac: nic.mac,
          subnetId: 'nodes',
          subnetCidr: '10.128.0.0/20',
          primaryIp: nic.primaryIp,
          securityGroups: [],
          blocks: [{ cidr: '10.4.0.16/28', kind: 'prefix' }],
          tags: {},
        },
      ],
    });
    // The two foreign ranges use up slots of the 150 GCE allows.
    expect(await p.getLimits('e2-standard-4')).toEqual({
      instanceType: 'e2-standard-4',
      maxInterfaces: 1,
      ipv4PerInterface: 149,
      supportsIps: false,
      supportsPrefixes: true,
      prefixLength: 28,
      canCreateInterfaces: false,
    });
    expect(await p.getLimits('x')).toMatchObject({ prefixLength: 28 });
    expect(t.emu.calls()).toMatchObject({ 'instances.get': 1, 'subnetworks.get': 1 });
  });

  it('fails clearly when the subnetwork has no range of the configured name', async () => {
    t = await gce();
    const p = await adapter(t, { podsRangeName: 'pod-ips' });
    const e = await fail(p.describeNode());
    expect(e).toMatchObject({ code: 'CLOUD_NOT_FOUND', cloudCode: 'podsRangeMissing' });
    expect(e!.message).toMatch(/no secondary range "pod-ips" \(has: pods\); set GCP_POD_RANGE_NAME/);
  });
});

describe('growth and shrink', () => {
  it('adds GCE-placed /28s, removes them, and removes the last one with an explicit empty list', async () => {
    t = await gce();
    t.cloud.replaceAliasRanges(t.nicId, [{ cidr: '10.128.1.9' }]); // someone else's, kept throughout
    const p = await adapter(t);
    const added = await p.assignAddresses('nic0', { kind: 'prefix', count: 3 });
    expect(added).toHaveLength(3);
    for (const b of added)
      expect(b).toMatchObject({ kind: 'prefix', cidr: expect.stringMatching(/^10\.4\.0\.\d+\/28$/) });
    expect(cloudRanges(t).sort()).toEqual(['10.128.1.9/32', ...added.map((b) => b.cidr)].sort());
    const more = await p.assignAddresses('nic0', { kind: 'prefix', cidrs: ['10.4.0.240/28'] });
    expect(more).toEqual(
      added.some((b) => b.cidr === '10.4.0.240/28') ? [] : [{ cidr: '10.4.0.240/28', kind: 'prefix' }],
    );
    const all = [...added, ...more];
    await p.unassignAddresses('nic0', all.slice(1));
    expect(cloudRanges(t).sort()).toEqual(['10.128.1.9/32', all[0]!.cidr].sort());
    await p.unassignAddresses('nic0', [all[0]!]);
    expect(cloudRanges(t)).toEqual(['10.128.1.9/32']);
    // Removing what is already gone makes no call.
    const patches = t.emu.calls()['instances.updateNetworkInterface'];
    await p.unassignAddresses('nic0', [all[0]!]);
    expect(t.emu.calls()['instances.updateNetworkInterface']).toBe(patches);
  });

  it('removes the very last alias range although the SDK drops an empty aliasIpRanges', async () => {
    t = await gce();
    const p = await adapter(t);
    const [only] = await p.assignAddresses('nic0', { kind: 'prefix', count: 1 });
    await p.unassignAddresses('nic0', [only!]);
    expect(cloudRanges(t)).toEqual([]);
    const last = t.emu.requests('instances.updateNetworkInterface').at(-1)!;
    expect(JSON.parse(last.body)).toMatchObject({ name: 'nic0', aliasIpRanges: [] });
    expect(new URLSearchParams(last.query).get('requestId')).toMatch(/^[0-9a-f-]{36}$/);
    expect((await p.describeNode()).interfaces[0]!.blocks).toEqual([]);
  });

  it('rejects what GCE cannot do before any call', async () => {
    t = await gce();
    const p = await adapter(t);
    const before = t.emu.calls()['instances.get'] ?? 0;
    expect(await fail(p.assignAddresses('nic0', { kind: 'ip', count: 1 }))).toMatchObject({ code: 'CLOUD_INVALID' });
    expect(await fail(p.assignAddresses('nic1', { kind: 'prefix', count: 1 }))).toMatchObject({
      code: 'CLOUD_NOT_FOUND',
    });
    expect(await fail(p.assignAddresses('nic0', { kind: 'prefix', cidrs: ['10.4.0.0/27'] }))).toMatchObject({
      code: 'CLOUD_INVALID',
    });
    expect(await fail(p.createInterface())).toMatchObject({ code: 'CLOUD_NIC_LIMIT' });
    expect(await fail(p.deleteInterface('nic0'))).toMatchObject({ code: 'CLOUD_INVALID' });
    expect(await p.assignAddresses('nic0', { kind: 'prefix', count: 0 })).toEqual([]);
    expect(t.emu.calls()['instances.get'] ?? 0).toBe(before);
  });

  it('stops at the per-NIC limit with IpLimitError and no PATCH', async () => {
    t = await gce();
    const p = await adapter(t, { maxAliasRanges: 2 });
    await p.assignAddresses('nic0', { kind: 'prefix', count: 2 });
    expect(await fail(p.assignAddresses('nic0', { kind: 'prefix', count: 1 }))).toMatchObject({
      code: 'CLOUD_IP_LIMIT',
      cloudCode: 'aliasRangeLimit',
    });
    expect(t.emu.calls()['instances.updateNetworkInterface']).toBe(1);
  });

  it('uses larger blocks when configured (GCP_ALIAS_BLOCK_PREFIX_LENGTH=26)', async () => {
    t = await gce();
    const p = await adapter(t, { blockPrefixLength: 26 });
    const added = await p.assignAddresses('nic0', { kind: 'prefix', count: 2 });
    expect(added.map((b) => b.cidr)).toEqual(expect.arrayContaining([expect.stringMatching(/\/26$/)]));
    expect((await p.describeNode()).interfaces[0]!.blocks).toHaveLength(2);
  });
});

describe('usage for the monitor', () => {
  it("describeSubnetAllocations lists every node's ranges in the Pods range; free blocks agree", async () => {
    t = await gce({ podsCidr: '10.4.0.0/24' });
    const n2 = t.cloud.getInstance(seedGceNode(t.cloud, { instanceName: 'gke-node-2' })).interfaces[0]!;
    t.cloud.replaceAliasRanges(n2.id, [
      { cidr: '10.4.0.8/29', rangeName: 'pods' },
      { cidr: '10.4.0.128/26', rangeName: 'pods' },
    ]);
    const p = await adapter(t);
    const mine = await p.assignAddresses('nic0', { kind: 'prefix', count: 2 });
    const a = await p.describeSubnetAllocations('nodes/pods');
    expect(a.subnet).toMatchObject({
      id: 'nodes/pods',
      cidr: '10.4.0.0/24',
      vpcId: 'vpc1',
      tags: { 'gcp:range': 'pods' },
    });
    expect(a.used).toEqual(t.cloud.secondaryRangeAllocations(t.podsRangeId).used);
    expect(a.used).toEqual(expect.arrayContaining(['10.4.0.8/29', '10.4.0.128/26', ...mine.map((b) => b.cidr)]));
    expect(a.subnet.availableAddresses).toBe(t.cloud.secondaryRangeAllocations(t.podsRangeId).free);
    expect(rangeUsage(a.subnet.cidr, a.used, 28).freeBlocks).toBe(t.cloud.freePrefixBlocks(t.podsRangeId, 28));
    const primary = await p.describeSubnetAllocations('nodes');
    // GCE reserves four addresses of the primary range; each node's nic0 takes one.
    expect(primary.subnet.availableAddresses).toBe(t.cloud.getSubnet(n2.subnetId).availableAddresses);
    expect(primary.used).toEqual(t.cloud.subnetAllocations(n2.subnetId).used);
    const subnets = await p.listSubnets({ tags: { 'gcp:range': 'pods' } });
    expect(subnets.map((s) => [s.id, s.availableAddresses])).toEqual([['nodes/pods', a.subnet.availableAddresses]]);
    expect(await fail(p.describeSubnetAllocations('nodes/nope'))).toMatchObject({ code: 'CLOUD_NOT_FOUND' });
  });
});
