/**
 * Contract tests of the strict GCE emulator (issue 13), one per behaviour,
 * through the real `@google-cloud/compute` SDK (and plain fetch for the
 * metadata server): first what the wire shows, then that the adapter copes.
 * Each behaviour is on by default; where a test turns a knob off, it is to
 * show what the kinder emulator let through.
 */
import { createServer, request, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../ipamd/util/clock.js';
import { eventually } from '../../helpers/eventually.js';
import type { CloudError } from '../../../providers/errors.js';
import type { ComputeApi, GcpClock, GcpProvider, GcpSettings } from '../../../providers/gcp/index.js';
import { seedGceNode } from '../../../providers/gcp/emulator/index.js';
import {
  cloudRanges,
  compute,
  fingerprint,
  gce,
  NODE,
  PROJECT,
  provider,
  RecordingClock,
  sdkClients,
  TARGET,
  ZONE,
  type TestEmulator,
} from './helpers.js';

let t: TestEmulator | undefined;
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  await t?.emu.close();
  t = undefined;
});

async function sdk(e: TestEmulator) {
  const c = await sdkClients(e);
  cleanup.push(c.close);
  return c;
}
async function adapter(e: TestEmulator, over: Partial<GcpSettings> = {}, clock?: GcpClock): Promise<GcpProvider> {
  const p = await provider(e, over, clock);
  cleanup.push(() => p.close());
  return p;
}
async function writer(e: TestEmulator): Promise<ComputeApi> {
  const c = await compute(e);
  cleanup.push(() => c.close());
  return c;
}

type WireError = { code: number; message: string };
const fail = <E = CloudError>(p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as E,
  );
const REQ = { project: PROJECT, zone: ZONE, instance: NODE };
const NIC0 = { ...REQ, networkInterface: 'nic0' };
const POOL = { subnetworkRangeName: 'pods' };
const blocks = (n: number, len = 28) => Array.from({ length: n }, () => ({ ipCidrRange: `/${len}`, ...POOL }));
/** The operation's name, from the `latestResponse` of compute's LRO (cloud-apis.md §0.10). */
const opName = (lro: { latestResponse: unknown }) => (lro.latestResponse as { name: string }).name;
const virtualClock = () => new VirtualClock(Date.parse('2026-05-01T12:00:00Z'));

/**
 * Resolves once the virtual clock holds `n` timers: the operations' own and those of blocked waits. It waits on
 * the wall clock, for a request to reach the emulator over loopback.
 */
async function timers(clock: VirtualClock, n: number): Promise<void> {
  await eventually(`${n} timers on the virtual clock`, () => clock.pending() >= n, { everyMs: 1 });
}

describe('a new NIC fingerprint on every update', () => {
  it('refuses a fingerprint from before two updates that cancel out, with 412 conditionNotMet', async () => {
    t = await gce();
    t.cloud.replaceAliasRanges(t.nicId, [{ cidr: '10.4.0.16/28', rangeName: 'pods' }]);
    const c = await sdk(t);
    const nic0 = async () => (await c.instances.get(REQ))[0].networkInterfaces![0]!;
    const patch = async (fp: string, aliasIpRanges: Array<{ ipCidrRange: string; subnetworkRangeName: string }>) => {
      const networkInterfaceResource = { name: 'nic0', fingerprint: fp, aliasIpRanges };
      const [lro] = await c.instances.updateNetworkInterface({ ...NIC0, networkInterfaceResource });
      return (await c.zoneOps.wait({ project: PROJECT, zone: ZONE, operation: opName(lro) }))[0];
    };
    const held = (await nic0()).fingerprint!;
    const start = { ipCidrRange: '10.4.0.16/28', ...POOL };
    expect((await patch(held, [start, { ipCidrRange: '10.4.0.32/28', ...POOL }])).status).toBe('DONE');
    expect((await patch((await nic0()).fingerprint!, [start])).status).toBe('DONE');
    const now = await nic0();
    expect(now.aliasIpRanges!.map((r) => r.ipCidrRange)).toEqual(['10.4.0.16/28']); // where it began
    expect(now.fingerprint).not.toBe(held);
    const e = await fail<WireError>(patch(held, [start, ...blocks(1)]));
    expect(e!.code).toBe(412);
    expect(JSON.parse(e!.message).error).toEqual({
      code: 412,
      message: 'Invalid fingerprint.',
      errors: [
        {
          message: 'Invalid fingerprint.',
          domain: 'global',
          reason: 'conditionNotMet',
          location: 'If-Match',
          locationType: 'header',
        },
      ],
    });
    expect(cloudRanges(t)).toEqual(['10.4.0.16/28']);
  });

  it('(knob) a content-hash fingerprint would have let that stale write through', async () => {
    t = await gce({}, { fingerprints: 'content' });
    const held = fingerprint(t);
    t.cloud.replaceAliasRanges(t.nicId, [{ cidr: '10.4.0.32/28', rangeName: 'pods' }]);
    t.cloud.replaceAliasRanges(t.nicId, []);
    expect(fingerprint(t)).toBe(held);
  });

  it('the adapter re-reads and retries when another writer adds, then removes, a range before its PATCH', async () => {
    t = await gce();
    const p = await adapter(t);
    const other = await writer(t);
    t.emu.interleave('instances.updateNetworkInterface', async () => {
      for (const ranges of [[{ ipCidrRange: '10.4.0.64/28', ...POOL }], []]) {
        const inst = await other.getInstance(TARGET);
        const op = await other.updateAliasRanges(TARGET, inst.nic0.fingerprint, ranges, crypto.randomUUID());
        await other.waitOperation(TARGET, op);
      }
    });
    const added = await p.assignAddresses('nic0', { kind: 'prefix', count: 1 });
    // Theirs (add, remove), our stale one, our retry after a fresh read.
    expect(t.emu.requests('instances.updateNetworkInterface').map((r) => r.status)).toEqual([200, 200, 412, 200]);
    expect(added).toHaveLength(1);
    expect(cloudRanges(t)).toEqual([added[0]!.cidr]);
  });
});

describe('the metadata server refuses what GCE refuses', () => {
  const md = (e: TestEmulator, headers: Record<string, string>) =>
    fetch(`http://${e.emu.host}/computeMetadata/v1/instance/name`, { headers });

  it('403 for X-Forwarded-For (even with Metadata-Flavor) and for a missing or wrong Metadata-Flavor', async () => {
    t = await gce();
    const proxied = await md(t, { 'Metadata-Flavor': 'Google', 'X-Forwarded-For': '10.128.0.9' });
    expect(proxied.status).toBe(403);
    expect(proxied.headers.get('metadata-flavor')).toBe('Google');
    expect(await proxied.text()).toBe('Forbidden\n');
    const bare = await md(t, {});
    expect(bare.status).toBe(403);
    expect(await bare.text()).toMatch(/Missing required header "Metadata-Flavor": "Google"/);
    expect((await md(t, { 'Metadata-Flavor': 'google' })).status).toBe(403);
    const ok = await md(t, { 'Metadata-Flavor': 'Google' });
    expect([ok.status, await ok.text()]).toEqual([200, NODE]);
    await t.emu.close();
    t = await gce({}, { refuseForwardedFor: false }); // the knob: the kinder server answers
    expect((await md(t, { 'Metadata-Flavor': 'Google', 'X-Forwarded-For': '10.128.0.9' })).status).toBe(200);
  });

  it('the adapter, reaching it through a proxy that adds X-Forwarded-For, fails with a typed refusal', async () => {
    t = await gce();
    const target = new URL(`http://${t.emu.host}`);
    const proxy: Server = createServer((req, res) => {
      const headers = { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '127.0.0.1' };
      const to = { host: target.hostname, port: target.port, path: req.url, method: req.method, headers };
      const out = request(to, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(out);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise((r) => proxy.close(r)));
    const port = (proxy.address() as { port: number }).port;
    const e = await fail(provider(t, { metadataHost: `127.0.0.1:${port}` }));
    expect(e).toMatchObject({ code: 'CLOUD_UNAUTHORIZED', cloudCode: 'metadataForbidden', retryable: false });
    expect(e!.message).toMatch(/refused the request \(HTTP 403: Forbidden\); was it sent through a proxy\?/);
    expect((await adapter(t)).name).toBe('gcp'); // directly, it works
  });
});

describe('alias IP range limits', () => {
  it('150 ranges per NIC whatever their size: 150 accepted, 151 refused at once with 400', async () => {
    t = await gce();
    const c = await sdk(t);
    const patch = (aliasIpRanges: ReturnType<typeof blocks>) =>
      c.instances.updateNetworkInterface({
        ...NIC0,
        networkInterfaceResource: { name: 'nic0', fingerprint: fingerprint(t!), aliasIpRanges },
      });
    const e = await fail<WireError>(patch(blocks(151, 32)));
    expect(e!.code).toBe(400);
    const body = JSON.parse(e!.message).error;
    expect(body.errors[0].reason).toBe('invalid');
    expect(body.message).toMatch(/^Invalid value for field 'resource.aliasIpRanges': ''. Too many alias IP ranges/);
    expect(t.emu.calls()['zoneOperations.wait']).toBeUndefined();
    expect(cloudRanges(t)).toEqual([]);
    const [lro] = await patch([{ ipCidrRange: '/26', ...POOL }, ...blocks(149, 32)]);
    const [done] = await c.zoneOps.wait({ project: PROJECT, zone: ZONE, operation: opName(lro) });
    expect(done.error).toBeFalsy();
    expect(cloudRanges(t)).toHaveLength(150);
  });

  it('the adapter fills nic0 to the 150 in one PATCH and then refuses with IpLimitError before any call', async () => {
    t = await gce({ podsCidr: '10.4.0.0/20' }); // 256 /28s
    const p = await adapter(t);
    expect(await p.assignAddresses('nic0', { kind: 'prefix', count: 150 })).toHaveLength(150);
    const e = await fail(p.assignAddresses('nic0', { kind: 'prefix', count: 1 }));
    expect(e).toMatchObject({ code: 'CLOUD_IP_LIMIT', cloudCode: 'aliasRangeLimit' });
    expect(t.emu.calls()['instances.updateNetworkInterface']).toBe(1);
    expect((await p.getLimits('e2-standard-4')).ipv4PerInterface).toBe(151);
  });

  it('the per-network quota fails the operation with QUOTA_EXCEEDED; the adapter sees IpLimitError', async () => {
    t = await gce({}, { limits: { perNetwork: 3 } });
    const n2 = t.cloud.getInstance(seedGceNode(t.cloud, { instanceName: 'gke-node-2' })).interfaces[0]!;
    const theirs = { prefixLength: 28, rangeName: 'pods' };
    t.cloud.replaceAliasRanges(n2.id, [theirs, theirs]);
    const p = await adapter(t);
    const e = await fail(p.assignAddresses('nic0', { kind: 'prefix', count: 2 }));
    expect(e).toMatchObject({ code: 'CLOUD_IP_LIMIT', cloudCode: 'QUOTA_EXCEEDED' });
    expect(e!.message).toMatch(/Quota 'ALIASES_PER_NETWORK_GLOBAL' exceeded. {2}Limit: 3.0 globally./);
    expect(cloudRanges(t)).toEqual([]);
    expect(await p.assignAddresses('nic0', { kind: 'prefix', count: 1 })).toHaveLength(1);
  });
});

describe('zone operations take time', () => {
  it('PENDING, RUNNING, DONE on the emulator clock; get never blocks; wait blocks until DONE or deadline', async () => {
    const clock = virtualClock();
    t = await gce({}, { clock, operations: { durationMs: 4_000, pendingMs: 1_000, waitTimeoutMs: 2_000 } });
    const c = await sdk(t);
    const networkInterfaceResource = { name: 'nic0', fingerprint: fingerprint(t), aliasIpRanges: blocks(1) };
    const [lro] = await c.instances.updateNetworkInterface({ ...NIC0, networkInterfaceResource });
    const operation = opName(lro);
    expect((lro.latestResponse as unknown as { status: string }).status).toBe('PENDING');
    const get = async () => (await c.zoneOps.get({ project: PROJECT, zone: ZONE, operation }))[0];
    expect((await get()).status).toBe('PENDING');
    await clock.advance(1_000);
    expect((await get()).status).toBe('RUNNING');
    expect((await c.instances.get(REQ))[0].networkInterfaces![0]!.aliasIpRanges ?? []).toEqual([]); // not yet
    // wait returns at its deadline, not DONE...
    let waited = c.zoneOps.wait({ project: PROJECT, zone: ZONE, operation });
    await timers(clock, 2);
    await clock.advance(2_000);
    expect((await waited)[0].status).toBe('RUNNING');
    expect(cloudRanges(t)).toEqual([]);
    // ...or as soon as the operation is DONE, with the change made.
    waited = c.zoneOps.wait({ project: PROJECT, zone: ZONE, operation });
    await timers(clock, 2);
    await clock.advance(1_000);
    const [done] = await waited;
    expect([done.status, done.progress]).toEqual(['DONE', 100]);
    expect(Date.parse(done.endTime!) - Date.parse(done.insertTime!)).toBe(4_000);
    expect(cloudRanges(t)).toHaveLength(1);
  });

  it('the adapter follows an operation through waits that return early, pausing between them', async () => {
    const clock = virtualClock();
    // waitTimeoutMs 0: GCE's wait "might return after zero seconds" when overloaded.
    t = await gce({}, { clock, operations: { durationMs: 4_000, pendingMs: 1_000, waitTimeoutMs: 0 } });
    for (let i = 0; i < 3; i++) t.emu.interleave('zoneOperations.wait', () => clock.advance(1_500));
    const mine = new RecordingClock();
    const p = await adapter(t, {}, mine);
    const [b] = await p.assignAddresses('nic0', { kind: 'prefix', count: 1 });
    expect(cloudRanges(t)).toEqual([b!.cidr]);
    expect(t.emu.calls()['zoneOperations.wait']).toBe(3); // RUNNING, RUNNING, DONE
    // Between the early answers it paused, longer the second time (the metadata timeouts are the 3000s).
    expect(mine.sleeps.filter((ms) => ms < 3_000)).toEqual([50, 100]);
  });
});
