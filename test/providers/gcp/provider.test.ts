/**
 * The GCP adapter against the emulator through the real SDK: node
 * discovery, growth and shrink of nic0's alias ranges (the last one too),
 * ranges that are not the pool's, fingerprint conflicts with a second
 * writer, throttling, exhaustion and fragmentation, failed and slow
 * operations, and secondary-range usage for the monitor.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudCaller } from '../../../ipamd/cloud/cloud-caller.js';
import { SystemClock } from '../../../ipamd/util/clock.js';
import { IpamError, type CloudError } from '../../../providers/errors.js';
import { rangeUsage, type ComputeApi, type GcpProvider } from '../../../providers/gcp/index.js';
import { EMULATOR_ACCESS_TOKEN, seedGceNode } from '../../../providers/gcp/emulator/index.js';
import {
  cloudRanges,
  compute,
  fingerprint,
  gce,
  internal,
  provider,
  TARGET,
  throttled,
  type TestEmulator,
} from './helpers.js';

let t: TestEmulator | undefined;
const open: Array<GcpProvider | ComputeApi> = [];
afterEach(async () => {
  for (const p of open.splice(0)) await p.close();
  await t?.emu.close();
  t = undefined;
});

async function adapter(e: TestEmulator, over: Parameters<typeof provider>[1] = {}): Promise<GcpProvider> {
  const p = await provider(e, over);
  open.push(p);
  return p;
}
async function writer(e: TestEmulator): Promise<ComputeApi> {
  const c = await compute(e);
  open.push(c);
  return c;
}

const fail = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as CloudError,
  );
const caller = () => new CloudCaller({ clock: new SystemClock(), concurrency: 1, maxAttempts: 6, baseDelayMs: 20 });
const POOL = { subnetworkRangeName: 'pods' };

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

describe('concurrent writers', () => {
  it("re-reads and retries on a fingerprint conflict: the other writer's range is kept, ours added once", async () => {
    t = await gce();
    const p = await adapter(t);
    const other = await writer(t);
    let theirs: string[] = [];
    // Between our GET and our PATCH, another writer adds a range (GET, PATCH, wait of its own).
    t.emu.interleave('instances.updateNetworkInterface', async () => {
      const inst = await other.getInstance(TARGET);
      const op = await other.updateAliasRanges(
        TARGET,
        inst.nic0.fingerprint,
        [...inst.nic0.aliasIpRanges, { ipCidrRange: '10.4.0.64/28', ...POOL }],
        crypto.randomUUID(),
      );
      await other.waitOperation(TARGET, op);
      theirs = ['10.4.0.64/28'];
    });
    const added = await p.assignAddresses('nic0', { kind: 'prefix', count: 2 });
    expect(theirs).toEqual(['10.4.0.64/28']);
    expect(added).toHaveLength(2);
    expect(added.map((b) => b.cidr)).not.toContain('10.4.0.64/28');
    expect(cloudRanges(t).sort()).toEqual([...theirs, ...added.map((b) => b.cidr)].sort());
    expect(new Set(cloudRanges(t)).size).toBe(3);
    const statuses = t.emu.requests('instances.updateNetworkInterface').map((r) => r.status);
    expect(statuses).toEqual([200, 412, 200]); // theirs, our stale one, our retry
  });

  it("waits out another writer's running operation (resourceNotReady) and then writes", async () => {
    t = await gce({}, { operations: { durationMs: 150 } });
    const p = await adapter(t, { fingerprintRetries: 12 });
    const other = await writer(t);
    t.emu.interleave('instances.updateNetworkInterface', async () => {
      const inst = await other.getInstance(TARGET);
      await other.updateAliasRanges(
        TARGET,
        inst.nic0.fingerprint,
        [{ ipCidrRange: '10.4.0.0/28', ...POOL }],
        crypto.randomUUID(),
      ); // not waited: still running
    });
    const added = await p.assignAddresses('nic0', { kind: 'prefix', count: 1 });
    const reasons = t.emu.requests('instances.updateNetworkInterface').map((r) => r.status);
    expect(reasons[1]).toBe(400);
    expect(reasons.at(-1)).toBe(200);
    expect(cloudRanges(t).sort()).toEqual(['10.4.0.0/28', added[0]!.cidr].sort());
  });

  it('gives up with a retryable ConflictError when nic0 keeps changing', async () => {
    t = await gce();
    const p = await adapter(t, { fingerprintRetries: 3 });
    for (let i = 0; i < 3; i++) {
      t.emu.interleave('instances.updateNetworkInterface', () => {
        const cur = t!.cloud.getInterface(t!.nicId).prefixes.map((cidr) => ({ cidr, rangeName: 'pods' }));
        t!.cloud.replaceAliasRanges(t!.nicId, [...cur, { prefixLength: 28, rangeName: 'pods' }]);
      });
    }
    const e = await fail(p.assignAddresses('nic0', { kind: 'prefix', count: 1 }));
    expect(e).toMatchObject({ code: 'CLOUD_CONFLICT', retryable: true });
    expect(cloudRanges(t)).toHaveLength(3); // the other writer's three, none of ours
  });
});

describe('errors', () => {
  it("throttling (429) surfaces as ThrottledError and the caller's retry gets through", async () => {
    t = await gce({}, { throttle: { status: 429, retryAfterSeconds: 1 } });
    const p = await adapter(t);
    t.faults.failNext('instances.updateNetworkInterface', 1, throttled);
    const e = await fail(p.assignAddresses('nic0', { kind: 'prefix', count: 1 }));
    expect(e).toMatchObject({ code: 'CLOUD_THROTTLED', retryable: true, retryAfterMs: 1000 });
    expect(cloudRanges(t)).toEqual([]);
    t.faults.failNext('instances.updateNetworkInterface', 2, throttled);
    const blocks = await caller().call('assignAddresses', () =>
      p.assignAddresses('nic0', { kind: 'prefix', count: 1 }),
    );
    expect(blocks).toHaveLength(1);
    expect(cloudRanges(t)).toEqual([blocks[0]!.cidr]);
  });

  it('token-bucket throttling of reads (403 style): every describeNode gets through the caller', async () => {
    t = await gce({}, { throttle: { status: 403 } });
    const p = await adapter(t);
    t.faults.setRateLimit({ rate: 20, burst: 2 }, { actions: ['instances.get'] });
    const c = caller();
    const results = await Promise.all(Array.from({ length: 6 }, () => c.call('describeNode', () => p.describeNode())));
    expect(results.every((r) => r.instanceId === 'gke-node-1')).toBe(true);
    expect(t.faults.throttled()['instances.get']).toBeGreaterThan(0);
  });

  it('IP_SPACE_EXHAUSTED is SubnetFullError when the range is full, NoPrefixBlockError when fragmented', async () => {
    t = await gce({ podsCidr: '10.4.0.0/26' }); // four /28s
    seedGceNode(t.cloud, { instanceName: 'gke-node-2' });
    const other = t.cloud.describeInstances().find((i) => i.tags.Name === 'gke-node-2')!.interfaces[0]!;
    const p = await adapter(t);
    await p.assignAddresses('nic0', { kind: 'prefix', count: 2 });
    const full = await fail(p.assignAddresses('nic0', { kind: 'prefix', count: 3 }));
    expect(full).toMatchObject({ code: 'CLOUD_SUBNET_FULL', cloudCode: 'IP_SPACE_EXHAUSTED' });
    expect(full!.message).toMatch(
      /exhausted: range 'pods' has 32 free addresses and 2 free aligned \/28 blocks; asked 3/,
    );
    expect(cloudRanges(t)).toHaveLength(2);
    // The other node takes a /29 in each free /28: 16 addresses free, no /28.
    const free = [0, 16, 32, 48].map((o) => `10.4.0.${o}/28`).filter((c) => !cloudRanges(t!).includes(c));
    t.cloud.replaceAliasRanges(
      other.id,
      free.map((c) => ({ cidr: c.replace('/28', '/29'), rangeName: 'pods' })),
    );
    const frag = await fail(p.assignAddresses('nic0', { kind: 'prefix', count: 1 }));
    expect(frag).toMatchObject({ code: 'CLOUD_NO_PREFIX_BLOCK', cloudCode: 'IP_SPACE_EXHAUSTED' });
    expect(frag!.message).toMatch(/fragmented: range 'pods' has 16 free addresses and 0 free aligned \/28 blocks/);
  });

  it('a failed zone operation leaves nic0 exactly as it was, and the next attempt succeeds', async () => {
    t = await gce();
    const p = await adapter(t);
    const [first] = await p.assignAddresses('nic0', { kind: 'prefix', count: 1 });
    const before = t.cloud.getInterface(t.nicId);
    const fpBefore = fingerprint(t);
    const usage = t.cloud.secondaryRangeAllocations(t.podsRangeId);
    t.faults.failNext('operation.updateNetworkInterface', 1, internal);
    const e = await fail(p.assignAddresses('nic0', { kind: 'prefix', count: 2 }));
    expect(e).toMatchObject({ code: 'CLOUD_UNAVAILABLE', cloudCode: 'INTERNAL_ERROR', retryable: true });
    expect(t.cloud.getInterface(t.nicId)).toEqual(before);
    expect(fingerprint(t)).toBe(fpBefore); // a failed operation is no new version
    expect(t.cloud.secondaryRangeAllocations(t.podsRangeId)).toEqual(usage);
    t.faults.failNext('operation.updateNetworkInterface', 1, internal);
    expect(await fail(p.unassignAddresses('nic0', [first!]))).toMatchObject({ code: 'CLOUD_UNAVAILABLE' });
    expect(cloudRanges(t)).toEqual([first!.cidr]);
    expect(await p.assignAddresses('nic0', { kind: 'prefix', count: 2 })).toHaveLength(2);
  });

  it('an operation that does not finish in time is CloudUnavailableError operationTimeout', async () => {
    // wait returns at its own deadline, not DONE (as GCE's does after ~2 min); the adapter keeps its own deadline.
    t = await gce({}, { operations: { durationMs: 600_000, waitTimeoutMs: 50 } });
    const p = await adapter(t, { operationTimeoutMs: 300 });
    const e = await fail(p.assignAddresses('nic0', { kind: 'prefix', count: 1 }));
    expect(e).toMatchObject({ code: 'CLOUD_UNAVAILABLE', cloudCode: 'operationTimeout' });
  });

  it('maps HTTP failures of real SDK calls: 401, 404, 503, connection refused', async () => {
    t = await gce({}, { requiredToken: 'the-token' });
    const bad = await writer(t);
    expect(await fail(bad.getInstance(TARGET))).toMatchObject({ code: 'CLOUD_UNAUTHORIZED', cloudCode: 'required' });
    await t.emu.close();
    t = await gce();
    const good = await writer(t);
    expect(await fail(good.getInstance({ ...TARGET, instance: 'nope' }))).toMatchObject({
      code: 'CLOUD_NOT_FOUND',
      cloudCode: 'notFound',
    });
    t.faults.failNext('subnetworks.get', 1, internal);
    expect(await fail(good.getSubnetwork('sim-project', 'us-central1', 'nodes'))).toMatchObject({
      code: 'CLOUD_UNAVAILABLE',
      retryable: true,
    });
    await t.emu.close();
    const e = await fail(good.getInstance(TARGET));
    expect(e).toMatchObject({ code: 'CLOUD_UNAVAILABLE' });
    expect(IpamError.is(e)).toBe(true);
  });

  it('refuses a metadata answer without Metadata-Flavor: Google', async () => {
    t = await gce();
    // A plain HTTP server that is not a metadata server.
    const { createServer } = await import('node:http');
    const fake = createServer((_q, r) => r.end('gke-node-1'));
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
    const port = (fake.address() as { port: number }).port;
    const e = await fail(provider(t, { metadataHost: `127.0.0.1:${port}` }));
    fake.close();
    expect(e).toMatchObject({ code: 'CLOUD_UNAVAILABLE', cloudCode: 'invalidMetadataResponse' });
  });
});

describe('Application Default Credentials', () => {
  it('without GCP_ACCESS_TOKEN uses the metadata server token, for the SDK and the empty-list PATCH', async () => {
    t = await gce({}, { requiredToken: EMULATOR_ACCESS_TOKEN });
    // ADC finds the metadata server through GCE_METADATA_HOST; HOME points at an empty dir so no gcloud file is found.
    const saved = {
      host: process.env.GCE_METADATA_HOST,
      home: process.env.HOME,
      creds: process.env.GOOGLE_APPLICATION_CREDENTIALS,
    };
    process.env.GCE_METADATA_HOST = t.emu.host;
    process.env.HOME = mkdtempSync(path.join(tmpdir(), 'adc-home-'));
    delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    try {
      const p = await adapter(t, { accessToken: undefined });
      const [b] = await p.assignAddresses('nic0', { kind: 'prefix', count: 1 });
      await p.unassignAddresses('nic0', [b!]);
      expect(cloudRanges(t)).toEqual([]);
      expect(t.emu.requests('instances.updateNetworkInterface').map((r) => r.status)).toEqual([200, 200]);
    } finally {
      for (const [k, v] of [
        ['GCE_METADATA_HOST', saved.host],
        ['HOME', saved.home],
        ['GOOGLE_APPLICATION_CREDENTIALS', saved.creds],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
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
