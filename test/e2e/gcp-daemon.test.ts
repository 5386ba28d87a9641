/**
 * The real daemon process with the gcp adapter against the GCE emulator
 * (Compute REST + metadata, served by this test process so it can inject
 * faults and look at the cloud): pool growth and shrink, a full Pods range,
 * throttling with Retry-After, a second writer between GET and PATCH, a
 * failed zone operation, SIGKILL, Application Default Credentials from the
 * metadata server, and the embedded emulator of `npm start`. After each
 * scenario the daemon's pool must equal nic0's pool ranges in the cloud.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type Response } from '../../cni/contract/protocol.js';
import { callIpamd } from '../../cni/contract/socket-client.js';
import { containsAddress } from '../../providers/net/cidr.js';
import { EMULATOR_ACCESS_TOKEN } from '../../providers/gcp/emulator/index.js';
import { getJson, kill, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';
import { cloudRanges, gce, internal, throttled, type TestEmulator } from '../providers/gcp/helpers.js';
import { until } from '../helpers/eventually.js';

let t: TestEmulator | undefined;
const daemons: DaemonHandle[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) await kill(d, 'SIGKILL');
  await t?.emu.close();
  t = undefined;
});

function gcpEnv(e: TestEmulator, extra: Record<string, string> = {}): Record<string, string> {
  return {
    VPC_IPAM_PROVIDER: 'gcp',
    GCP_COMPUTE_ENDPOINT: e.emu.url,
    GCE_METADATA_HOST: e.emu.host,
    GCP_ACCESS_TOKEN: 'e2e-token',
    VPC_IPAM_RECONCILE_INTERVAL_SECONDS: '1',
    VPC_IPAM_SHRINK_INTERVAL_SECONDS: '0',
    IP_COOLDOWN_PERIOD: '0',
    VPC_IPAM_CLOUD_MAX_ATTEMPTS: '8',
    ...extra,
  };
}

async function daemon(e: TestEmulator, extra: Record<string, string> = {}): Promise<DaemonHandle> {
  const h = await startDaemon(gcpEnv(e, extra));
  daemons.push(h);
  return h;
}

/** Polls `read` until `holds` (the deadline only guards a hang, under the test's own timeout). */
type Pool = {
  total: number;
  assigned: number;
  available: number;
  mode: string;
  growthBlocked: { reason: string } | null;
};
const pool = (h: DaemonHandle) => getJson<Pool>(h, '/v1/pool');
async function poolRanges(h: DaemonHandle): Promise<string[]> {
  const { interfaces } = await getJson<{ interfaces: Array<{ id: string; blocks: Array<{ cidr: string }> }> }>(
    h,
    '/v1/nics',
  );
  return interfaces.flatMap((i) => i.blocks.map((b) => b.cidr)).sort();
}
/** nic0's ranges that are the pool's: /28s from the Pods range. */
const cloudPool = (e: TestEmulator) =>
  cloudRanges(e)
    .filter((c) => c.startsWith('10.4.') && c.endsWith('/28'))
    .sort();

const add = (h: DaemonHandle, id: string, waitMs = 20_000): Promise<Response> =>
  callIpamd(h.socket, { v: PROTOCOL_VERSION, op: 'add', network: 'vpc-ipam', containerId: id, ifName: 'eth0', waitMs });
const del = (h: DaemonHandle, id: string): Promise<Response> =>
  callIpamd(h.socket, { v: PROTOCOL_VERSION, op: 'del', network: 'vpc-ipam', containerId: id, ifName: 'eth0' });

describe('vpc-ipamd on GCE (emulated)', () => {
  it('grows nic0 by /28 alias ranges for Pods and shrinks back, the pool always equal to the cloud', async () => {
    t = await gce();
    const h = await daemon(t);
    const first = await until(
      () => pool(h),
      (p) => p.total === 16,
    );
    expect(first.mode).toBe('prefix');
    expect(await poolRanges(h)).toEqual(cloudPool(t));
    const ips = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const r = await add(h, `pod${i}`);
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (r.ok && 'allocation' in r) {
        expect(r.allocation).toMatchObject({
          prefixLength: 32,
          interfaceId: 'nic0',
          deviceIndex: 0,
          routeTable: 0,
          vpcCidrs: ['10.128.0.0/20', '10.4.0.0/24'],
        });
        ips.set(`pod${i}`, r.allocation.ip);
      }
    }
    expect(new Set(ips.values()).size).toBe(40);
    // 40 Pods in /28s plus one unused /28 (WARM_PREFIX_TARGET=1): four ranges.
    await until(
      () => pool(h),
      (p) => p.total === 64 && p.assigned === 40,
    );
    const grown = cloudPool(t);
    expect(grown).toHaveLength(4);
    expect(await poolRanges(h)).toEqual(grown);
    for (const ip of ips.values())
      expect(
        grown.some((c) => containsAddress(c, ip)),
        ip,
      ).toBe(true);
    for (const id of ips.keys()) expect((await del(h, id)).ok).toBe(true);
    await until(
      () => cloudPool(t!),
      (c) => c.length === 1,
    );
    await until(
      () => pool(h),
      (p) => p.total === 16 && p.assigned === 0,
    );
    expect(await poolRanges(h)).toEqual(cloudPool(t));
    // Every range given back was removed from the cloud, none leaked to the range.
    expect(t.cloud.secondaryRangeAllocations(t.podsRangeId).used).toEqual(cloudPool(t));
  });

  it('stops growing on IP_SPACE_EXHAUSTED, hands out what it has, and says why', async () => {
    t = await gce({ podsCidr: '10.4.0.0/27' }); // two /28s
    const h = await daemon(t);
    await until(
      () => pool(h),
      (p) => p.total === 16,
    );
    for (let i = 0; i < 32; i++) expect((await add(h, `f${i}`)).ok).toBe(true);
    const p = await until(
      () => pool(h),
      (x) => x.growthBlocked !== null,
    );
    expect(p.growthBlocked!.reason).toMatch(/^IP_SPACE_EXHAUSTED: .*exhausted: range 'pods' has 0 free addresses/);
    expect(p.total).toBe(32);
    expect(cloudPool(t)).toHaveLength(2);
    const r = await add(h, 'one-too-many', 200);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('POOL_EXHAUSTED');
    expect(await poolRanges(h)).toEqual(cloudPool(t));
  });

  it('honours Retry-After on 429 and still fills the pool', async () => {
    t = await gce({}, { throttle: { status: 429, retryAfterSeconds: 1 } });
    t.faults.failNext('instances.updateNetworkInterface', 2, throttled);
    const h = await daemon(t);
    await until(
      () => pool(h),
      (p) => p.total === 16,
    );
    const patches = t.emu.requests('instances.updateNetworkInterface');
    expect(patches.map((r) => r.status)).toEqual([429, 429, 200]);
    const metrics = await (await fetch(`http://${h.metrics}/metrics`)).text();
    expect(metrics).toMatch(/vpc_ipam_cloud_calls_total\{operation="assignAddresses",result="rateLimitExceeded"\} 2/);
    expect(await poolRanges(h)).toEqual(cloudPool(t));
  });

  it('resolves a second writer changing nic0 between GET and PATCH without losing or duplicating a range', async () => {
    t = await gce();
    const h = await daemon(t, { VPC_IPAM_RESYNC_INTERVAL_SECONDS: '3600' });
    await until(
      () => pool(h),
      (p) => p.total === 16,
    );
    // Someone adds a VIP from the primary range to nic0 right before the daemon's next PATCH.
    t.emu.interleave('instances.updateNetworkInterface', () => {
      const cur = t!.cloud
        .getInterface(t!.nicId)
        .prefixes.map((cidr) => (cidr.startsWith('10.4.') ? { cidr, rangeName: 'pods' } : { cidr }));
      t!.cloud.replaceAliasRanges(t!.nicId, [...cur, { cidr: '10.128.7.7' }]);
    });
    expect((await add(h, 'w0')).ok).toBe(true); // available 15 < 16: the daemon grows
    await until(
      () => pool(h),
      (p) => p.total === 32,
    );
    const statuses = t.emu.requests('instances.updateNetworkInterface').map((r) => r.status);
    expect(statuses).toEqual([200, 412, 200]);
    expect(cloudRanges(t)).toContain('10.128.7.7/32'); // not lost
    expect(cloudPool(t)).toHaveLength(2); // ours added once
    expect(await poolRanges(h)).toEqual(cloudPool(t)); // the VIP is not handed to Pods
  });

  it('leaves nothing half-done when a zone operation fails, then succeeds on retry', async () => {
    t = await gce();
    const seen: string[][] = [];
    t.faults.failNext('operation.updateNetworkInterface', 1, (a) => {
      seen.push(cloudRanges(t!)); // the cloud as the failing operation found it
      return internal(a);
    });
    const h = await daemon(t);
    await until(
      () => pool(h),
      (p) => p.total === 16,
    );
    expect(seen).toEqual([[]]);
    expect(cloudPool(t)).toHaveLength(1);
    expect(t.cloud.secondaryRangeAllocations(t.podsRangeId).used).toEqual(cloudPool(t));
    const metrics = await (await fetch(`http://${h.metrics}/metrics`)).text();
    expect(metrics).toMatch(/vpc_ipam_cloud_calls_total\{operation="assignAddresses",result="INTERNAL_ERROR"\} 1/);
    expect(await poolRanges(h)).toEqual(cloudPool(t));
  });

  it('after SIGKILL restarts with the same assignments and a pool equal to the cloud', async () => {
    t = await gce();
    let h = await daemon(t);
    const got = new Map<string, string>();
    for (let i = 0; i < 20; i++) {
      const r = await add(h, `k${i}`);
      if (r.ok && 'allocation' in r) got.set(`k${i}`, r.allocation.ip);
    }
    expect(got.size).toBe(20);
    await kill(h, 'SIGKILL');
    h = await startDaemon({}, h);
    daemons.push(h);
    const { assignments } = await getJson<{ assignments: Array<{ containerId: string; ip: string }> }>(
      h,
      '/v1/assignments',
    );
    expect(new Map(assignments.map((a) => [a.containerId, a.ip]))).toEqual(got);
    await until(
      () => poolRanges(h),
      (r) => r.join() === cloudPool(t!).join(),
    );
  });

  it('authenticates with Application Default Credentials from the metadata server when no token is set', async () => {
    t = await gce({}, { requiredToken: EMULATOR_ACCESS_TOKEN });
    const home = mkdtempSync(path.join(tmpdir(), 'gcp-adc-home-'));
    const env = gcpEnv(t);
    delete env.GCP_ACCESS_TOKEN;
    const h = await startDaemon({ ...env, HOME: home, GOOGLE_APPLICATION_CREDENTIALS: '' });
    daemons.push(h);
    await until(
      () => pool(h),
      (p) => p.total === 16,
    );
    expect(t.emu.calls()['instances.updateNetworkInterface']).toBe(1);
    expect(t.emu.requests('metadata').some((r) => r.path.endsWith('/instance/service-accounts/default/token'))).toBe(
      true,
    );
  });

  it('runs with the embedded emulator (npm start) and keeps its cloud across a restart', async () => {
    // Its zone operations take GCE-like seconds by default; 50 ms keeps the test quick.
    const embedded = { VPC_IPAM_GCP_EMBEDDED_EMULATOR: 'true', VPC_IPAM_GCP_EMULATOR_OPERATION_MS: '50' };
    let h = await startDaemon({ VPC_IPAM_PROVIDER: 'gcp', ...embedded, VPC_IPAM_RECONCILE_INTERVAL_SECONDS: '1' });
    daemons.push(h);
    await until(
      () => pool(h),
      (p) => p.total === 16,
    );
    const before = await poolRanges(h);
    const saved = JSON.parse(readFileSync(path.join(h.dir, 'state', 'gcp-cloud.json'), 'utf8')) as {
      interfaces: Array<{ prefixes: string[] }>;
      secondaryRanges: Array<{ name: string }>;
    };
    expect(saved.secondaryRanges.map((r) => r.name)).toEqual(['pods']);
    expect(saved.interfaces[0]!.prefixes).toEqual(before);
    await kill(h, 'SIGTERM');
    h = await startDaemon({}, h);
    daemons.push(h);
    expect(await poolRanges(h)).toEqual(before);
  });

  it('refuses bad GCP settings at start, naming the variable', async () => {
    t = await gce();
    for (const [k, v, msg] of [
      ['GCP_ALIAS_BLOCK_PREFIX_LENGTH', '30', /GCP_ALIAS_BLOCK_PREFIX_LENGTH: must be <= 28/],
      ['GCP_COMPUTE_ENDPOINT', 'http://10.1.2.3:80', /GCP_COMPUTE_ENDPOINT: plain http is allowed to loopback only/],
      ['GCP_POD_RANGE_NAME', 'Pods', /GCP_POD_RANGE_NAME: "Pods" is not a GCE resource name/],
    ] as const) {
      const e = await startDaemon(gcpEnv(t, { [k]: v })).then(
        (h) => {
          daemons.push(h);
          return undefined;
        },
        (err: Error) => err,
      );
      expect(e?.message).toMatch(msg);
    }
    expect(t.emu.calls()['instances.updateNetworkInterface']).toBeUndefined();
    const embedded = { VPC_IPAM_PROVIDER: 'gcp', VPC_IPAM_GCP_EMBEDDED_EMULATOR: 'true' };
    await expect(startDaemon({ ...embedded, VPC_IPAM_GCP_EMULATOR_PODS_CIDR: '10.0.0.0/8' })).rejects.toThrow(
      /VPC_IPAM_GCP_EMULATOR_PODS_CIDR: .*10\.0\.0\.0\/8/,
    );
    await expect(startDaemon({ ...embedded, GCP_COMPUTE_ENDPOINT: t.emu.url })).rejects.toThrow(
      /GCP_COMPUTE_ENDPOINT: cannot be set with VPC_IPAM_GCP_EMBEDDED_EMULATOR=true/,
    );
  });
});
