/**
 * The GCE emulator at the wire, through the real `@google-cloud/compute`
 * REST transport (and plain fetch where the SDK cannot send a request):
 * response shapes the SDK accepts, updateNetworkInterface's PATCH rules,
 * zone operations, auth, faults, and the metadata server. The strict
 * behaviours of issue 13 (operation timing, fingerprints, limits, metadata
 * refusals) have their own contract tests in strict.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../ipamd/util/clock.js';
import { EMULATOR_ACCESS_TOKEN, seedGceNode } from '../../../providers/gcp/emulator/index.js';
import {
  cloudRanges,
  fingerprint,
  gce,
  internal,
  NODE,
  PROJECT,
  sdkClients,
  throttled,
  ZONE,
  type TestEmulator,
} from './helpers.js';

let t: TestEmulator | undefined;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  await t?.emu.close();
  t = undefined;
});

/** The real SDK clients (closed after the test). */
async function sdk(e: TestEmulator, token = 'tok') {
  const c = await sdkClients(e, token);
  closers.push(c.close);
  return c;
}

const REQ = { project: PROJECT, zone: ZONE, instance: NODE };
const err = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as { code: number; message: string; response?: { headers: Headers } },
  );

describe('Compute REST as the SDK sees it', () => {
  it('instances.get and subnetworks.get parse field by field', async () => {
    t = await gce({}, {});
    t.cloud.replaceAliasRanges(t.nicId, [{ cidr: '10.4.0.16/28', rangeName: 'pods' }]);
    const c = await sdk(t);
    const [inst] = await c.instances.get(REQ);
    expect(inst.name).toBe(NODE);
    expect(inst.zone).toMatch(new RegExp(`/projects/${PROJECT}/zones/${ZONE}$`));
    expect(inst.machineType).toMatch(/machineTypes\/e2-standard-4$/);
    expect(inst.id).toMatch(/^\d{19}$/);
    const nic = inst.networkInterfaces![0]!;
    expect(nic.name).toBe('nic0');
    expect(nic.networkIP).toBe(t.cloud.getInterface(t.nicId).primaryIp);
    expect(nic.fingerprint).toBe(fingerprint(t));
    expect(nic.subnetwork).toMatch(/\/regions\/us-central1\/subnetworks\/nodes$/);
    expect(nic.aliasIpRanges!.map((r) => [r.ipCidrRange, r.subnetworkRangeName])).toEqual([['10.4.0.16/28', 'pods']]);
    const [s] = await c.subnets.get({ project: PROJECT, region: 'us-central1', subnetwork: 'nodes' });
    expect(s.ipCidrRange).toBe('10.128.0.0/20');
    expect(s.gatewayAddress).toBe('10.128.0.1');
    expect(s.secondaryIpRanges!.map((r) => [r.rangeName, r.ipCidrRange])).toEqual([['pods', '10.4.0.0/24']]);
  });

  it('pages instances.aggregatedList by maxResults', async () => {
    t = await gce();
    seedGceNode(t.cloud, { instanceName: 'gke-node-2' });
    seedGceNode(t.cloud, { instanceName: 'gke-node-3' });
    const c = await sdk(t);
    const names: string[] = [];
    for await (const [zone, scoped] of c.instances.aggregatedListAsync(
      { project: PROJECT, maxResults: 1 },
      { autoPaginate: false },
    )) {
      expect(zone).toBe(`zones/${ZONE}`);
      names.push(...(scoped.instances ?? []).map((i) => i.name!));
    }
    expect(names).toEqual(['gke-node-1', 'gke-node-2', 'gke-node-3']);
    expect(
      t.emu.requests('instances.aggregatedList').map((r) => new URLSearchParams(r.query).get('pageToken')),
    ).toEqual([null, '1', '2']);
  });

  it('updateNetworkInterface: PENDING, old ranges until DONE, then the new list and a new fingerprint', async () => {
    t = await gce();
    const c = await sdk(t);
    const fp = fingerprint(t);
    const [lro] = await c.instances.updateNetworkInterface({
      ...REQ,
      networkInterface: 'nic0',
      networkInterfaceResource: {
        name: 'nic0',
        fingerprint: fp,
        aliasIpRanges: [{ ipCidrRange: '/28', subnetworkRangeName: 'pods' }],
      },
    });
    const op = lro.latestResponse as unknown as { name: string; status: string };
    expect(op.status).toBe('PENDING');
    expect(cloudRanges(t)).toEqual([]);
    // wait blocks until the operation is DONE (its deadline is GCE's two minutes).
    const [done] = (await c.zoneOps.wait({ project: PROJECT, zone: ZONE, operation: op.name })) as unknown as [
      typeof op,
    ];
    expect(done.status).toBe('DONE');
    expect(cloudRanges(t)).toHaveLength(1);
    expect(cloudRanges(t)[0]).toMatch(/^10\.4\.0\.\d+\/28$/);
    expect(fingerprint(t)).not.toBe(fp);
    // What went over the wire: keys as the SDK writes them, the bare length for GCE to place.
    expect(JSON.parse(t.emu.requests('instances.updateNetworkInterface')[0]!.body)).toEqual({
      aliasIpRanges: [{ ipCidrRange: '/28', subnetworkRangeName: 'pods' }],
      fingerprint: fp,
      name: 'nic0',
    });
  });

  it('an empty aliasIpRanges is dropped by the SDK (no change); written out it removes every range', async () => {
    t = await gce();
    t.cloud.replaceAliasRanges(t.nicId, [{ cidr: '10.4.0.32/28', rangeName: 'pods' }]);
    const c = await sdk(t);
    const fp = fingerprint(t);
    const nic0 = { name: 'nic0', fingerprint: fp, aliasIpRanges: [] };
    const [lro] = await c.instances.updateNetworkInterface({
      ...REQ,
      networkInterface: 'nic0',
      networkInterfaceResource: nic0,
    });
    await c.zoneOps.wait({ project: PROJECT, zone: ZONE, operation: (lro.latestResponse as { name: string }).name });
    expect(JSON.parse(t.emu.requests('instances.updateNetworkInterface')[0]!.body)).toEqual({
      fingerprint: fp,
      name: 'nic0',
    });
    expect(cloudRanges(t)).toEqual(['10.4.0.32/28']);
    // The same PATCH with the field written out, through the SDK's own auth client (and the new fingerprint).
    const instance = `${t.emu.url}/compute/v1/projects/${PROJECT}/zones/${ZONE}/instances/${NODE}`;
    const url = `${instance}/updateNetworkInterface?networkInterface=nic0`;
    const data = { name: 'nic0', fingerprint: fingerprint(t), aliasIpRanges: [] };
    const res = await c.authClient.request<{ name: string }>({ url, method: 'PATCH', data });
    await c.zoneOps.wait({ project: PROJECT, zone: ZONE, operation: res.data.name });
    expect(cloudRanges(t)).toEqual([]);
  });

  it('refuses a stale fingerprint (412), a second update while one runs (resourceNotReady), other fields', async () => {
    // On a clock nobody advances, an accepted operation stays RUNNING.
    t = await gce({}, { clock: new VirtualClock(Date.parse('2026-05-01T12:00:00Z')) });
    const c = await sdk(t);
    const patch = (fingerprint: string, extra: Record<string, unknown> = {}) =>
      c.instances.updateNetworkInterface({
        ...REQ,
        networkInterface: 'nic0',
        networkInterfaceResource: {
          name: 'nic0',
          fingerprint,
          aliasIpRanges: [{ ipCidrRange: '/28', subnetworkRangeName: 'pods' }],
          ...extra,
        },
      });
    const stale = await err(patch('AAAAAAAAAAAA'));
    expect(stale!.code).toBe(412);
    expect(JSON.parse(stale!.message).error.errors[0].reason).toBe('conditionNotMet');
    const fp = fingerprint(t);
    await patch(fp);
    const busy = await err(patch(fp));
    expect(busy!.code).toBe(400);
    expect(JSON.parse(busy!.message).error.errors[0].reason).toBe('resourceNotReady');
    const bad = await err(patch(fp, { accessConfigs: [{ name: 'External NAT' }] }));
    expect(JSON.parse(bad!.message).error.message).toMatch(/resource.accessConfigs.*not supported/);
    expect(cloudRanges(t)).toEqual([]);
  });

  it('replays an update with a known requestId instead of applying it twice', async () => {
    t = await gce();
    const c = await sdk(t);
    const body = {
      name: 'nic0',
      fingerprint: fingerprint(t),
      aliasIpRanges: [{ ipCidrRange: '/28', subnetworkRangeName: 'pods' }],
    };
    const first = await c.instances.updateNetworkInterface({
      ...REQ,
      networkInterface: 'nic0',
      requestId: 'b6a0e1a4-1111-4c1e-9a50-000000000001',
      networkInterfaceResource: body,
    });
    const name = (first[0].latestResponse as { name: string }).name;
    await c.zoneOps.wait({ project: PROJECT, zone: ZONE, operation: name });
    const again = await c.instances.updateNetworkInterface({
      ...REQ,
      networkInterface: 'nic0',
      requestId: 'b6a0e1a4-1111-4c1e-9a50-000000000001',
      networkInterfaceResource: body,
    });
    expect(again[0].latestResponse as unknown as { name: string; status: string }).toMatchObject({
      name,
      status: 'DONE',
    });
    expect(cloudRanges(t)).toHaveLength(1);
  });

  it('reports exhaustion and injected failures as DONE operations with an error, changing nothing', async () => {
    t = await gce({ podsCidr: '10.4.0.0/27' });
    const c = await sdk(t);
    const run = async (n: number) => {
      const fp = fingerprint(t!);
      const ranges = Array.from({ length: n }, () => ({ ipCidrRange: '/28', subnetworkRangeName: 'pods' }));
      const [lro] = await c.instances.updateNetworkInterface({
        ...REQ,
        networkInterface: 'nic0',
        networkInterfaceResource: { name: 'nic0', fingerprint: fp, aliasIpRanges: ranges },
      });
      const [done] = await c.zoneOps.wait({
        project: PROJECT,
        zone: ZONE,
        operation: (lro.latestResponse as { name: string }).name,
      });
      return done;
    };
    const full = await run(3);
    expect(full.status).toBe('DONE');
    expect(full.error!.errors![0]!.code).toBe('IP_SPACE_EXHAUSTED');
    expect(full.error!.errors![0]!.message).toMatch(
      /IP space of 'projects\/sim-project\/regions\/us-central1\/subnetworks\/nodes' is exhausted. The secondary range/,
    );
    expect(full.httpErrorStatusCode).toBe(400);
    expect(cloudRanges(t)).toEqual([]);
    t.faults.failNext('operation.updateNetworkInterface', 1, internal);
    const broken = await run(1);
    expect(broken.error!.errors![0]!.code).toBe('INTERNAL_ERROR');
    expect(cloudRanges(t)).toEqual([]);
    expect((await run(2)).error).toBeFalsy();
    expect(cloudRanges(t)).toHaveLength(2);
  });

  it('throttles as 429 RESOURCE_EXHAUSTED (or 403 rateLimitExceeded) with an optional Retry-After', async () => {
    t = await gce({}, { throttle: { status: 429, retryAfterSeconds: 2 } });
    const c = await sdk(t);
    t.faults.failNext('instances.get', 1, throttled);
    const e = await err(c.instances.get(REQ));
    expect(e!.code).toBe(429);
    expect(JSON.parse(e!.message).error).toMatchObject({
      status: 'RESOURCE_EXHAUSTED',
      errors: [{ reason: 'rateLimitExceeded' }],
    });
    expect(e!.response!.headers.get('retry-after')).toBe('2');
    await t.emu.close();
    t = await gce({}, { throttle: { status: 403 } });
    const c2 = await sdk(t);
    t.faults.setRateLimit({ rate: 0, burst: 1 }, { actions: ['instances.get'] });
    await c2.instances.get(REQ);
    const e2 = await err(c2.instances.get(REQ));
    expect(e2!.code).toBe(403);
    expect(JSON.parse(e2!.message).error.errors[0].reason).toBe('rateLimitExceeded');
  });

  it('wants a bearer token (exactly the configured one when set)', async () => {
    t = await gce({}, { requiredToken: 'right' });
    const raw = await fetch(`${t.emu.url}/compute/v1/projects/${PROJECT}/zones/${ZONE}/instances/${NODE}`);
    expect(raw.status).toBe(401);
    expect((await err((await sdk(t, 'wrong')).instances.get(REQ)))!.code).toBe(401);
    const [inst] = await (await sdk(t, 'right')).instances.get(REQ);
    expect(inst.name).toBe(NODE);
  });
});

describe('metadata server', () => {
  const md = (e: TestEmulator, p: string, flavor = true) =>
    fetch(`http://${e.emu.host}/computeMetadata/v1/${p}`, { headers: flavor ? { 'Metadata-Flavor': 'Google' } : {} });

  it('lags Compute by metadataDelayMs on the emulator clock, when asked to', async () => {
    const clock = new VirtualClock(Date.parse('2026-05-01T12:00:00Z'));
    t = await gce({}, { clock, metadataDelayMs: 2_000 });
    const aliases = async () => (await md(t!, 'instance/network-interfaces/0/ip-aliases/')).text();
    expect(await aliases()).toBe('');
    t.cloud.replaceAliasRanges(t.nicId, [{ cidr: '10.4.0.48/28', rangeName: 'pods' }]);
    expect(await aliases()).toBe(''); // Compute has it; the metadata server not yet
    await clock.advance(1_999);
    expect(await aliases()).toBe('');
    await clock.advance(1);
    expect(await aliases()).toBe('0\n');
  });

  it('answers leaves, listings and recursive JSON with Metadata-Flavor: Google; follows alias changes', async () => {
    t = await gce();
    const nic = t.cloud.getInterface(t.nicId);
    const text = async (p: string) => {
      const r = await md(t!, p);
      expect(r.status).toBe(200);
      expect(r.headers.get('metadata-flavor')).toBe('Google');
      return r.text();
    };
    expect(await text('instance/name')).toBe(NODE);
    expect(await text('instance/zone')).toBe(`projects/123456789012/zones/${ZONE}`);
    expect(await text('instance/machine-type')).toBe('projects/123456789012/machineTypes/e2-standard-4');
    expect(await text('project/project-id')).toBe(PROJECT);
    expect(await text('instance/network-interfaces/')).toBe('0/\n');
    expect(await text('instance/network-interfaces/0/ip')).toBe(nic.primaryIp);
    expect(await text('instance/network-interfaces/0/mac')).toBe(nic.mac);
    expect(await text('instance/network-interfaces/0/subnetmask')).toBe('255.255.240.0');
    expect(await text('instance/network-interfaces/0/gateway')).toBe('10.128.0.1');
    expect(await text('instance/network-interfaces/0/ip-aliases/')).toBe('');
    t.cloud.replaceAliasRanges(t.nicId, [
      { cidr: '10.4.0.48/28', rangeName: 'pods' },
      { cidr: '10.4.0.64/28', rangeName: 'pods' },
    ]);
    expect(await text('instance/network-interfaces/0/ip-aliases/')).toBe('0\n1\n');
    expect(await text('instance/network-interfaces/0/ip-aliases/1')).toBe('10.4.0.64/28');
    const json = JSON.parse(await text('instance/network-interfaces/0/?recursive=true'));
    expect(json).toMatchObject({
      ip: nic.primaryIp,
      ipAliases: ['10.4.0.48/28', '10.4.0.64/28'],
      network: 'projects/123456789012/networks/vpc1',
      mtu: 1460,
    });
    expect(JSON.parse(await text('instance/service-accounts/default/token'))).toMatchObject({
      access_token: EMULATOR_ACCESS_TOKEN,
      token_type: 'Bearer',
    });
  });

  it('refuses no header (403), unknown keys and a slash after a leaf (404), wait_for_change (400)', async () => {
    t = await gce();
    expect((await md(t, 'instance/name', false)).status).toBe(403);
    expect((await md(t, 'instance/nope')).status).toBe(404);
    expect((await md(t, 'instance/name/')).status).toBe(404);
    expect((await md(t, 'instance/network-interfaces/0/ip-aliases/?wait_for_change=true')).status).toBe(400);
  });
});
