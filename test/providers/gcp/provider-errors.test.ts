/**
 * The GCP adapter's conflicts and failures against the emulator through the real SDK: fingerprint conflicts
 * with a second writer, throttling, exhaustion and fragmentation, failed and slow operations, and Application
 * Default Credentials.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudCaller } from '../../../ipamd/cloud/cloud-caller.js';
import { SystemClock } from '../../../ipamd/util/clock.js';
import { IpamError } from '../../../providers/errors.js';
import { EMULATOR_ACCESS_TOKEN, seedGceNode } from '../../../providers/gcp/emulator/index.js';
import { cloudRanges, fingerprint, gce, internal, provider, TARGET, throttled, type TestEmulator } from './helpers.js';
import { closeOpened, adapter, writer, fail } from './provider-harness.js';

let t: TestEmulator | undefined;
afterEach(async () => {
  await closeOpened();
  await t?.emu.close();
  t = undefined;
});

const caller = () => new CloudCaller({ clock: new SystemClock(), concurrency: 1, maxAttempts: 6, baseDelayMs: 20 });
const POOL = { subnetworkRangeName: 'pods' };

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
