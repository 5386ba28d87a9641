/**
 * The real daemon process with the azure adapter against the Azure emulator
 * (ARM + IMDS, served by this test process so it can inject faults and look
 * at the cloud): pool growth and shrink, the azure-batch policy, subnet
 * full, throttling with Retry-After, concurrent writers (412/409), a failed
 * long-running operation, and a SIGKILL restart. After each scenario the
 * daemon's pool must equal the cloud's succeeded ipConfigurations exactly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type Response } from '../../cni/contract/protocol.js';
import { callIpamd } from '../../cni/contract/socket-client.js';
import { CloudUnavailableError, ThrottledError } from '../../providers/errors.js';
import type { AzureEmulator } from '../../providers/azure/emulator/index.js';
import { getJson, kill, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';
import { startDone } from '../helpers/start-done.js';
import { cloudIpconfigs, emulator, NODES_ID, PODS_ID, subnetFree, withPodNic } from '../providers/azure/helpers.js';
import { until } from '../helpers/eventually.js';

let emu: AzureEmulator | undefined;
const daemons: DaemonHandle[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) await kill(d, 'SIGKILL');
  await emu?.close();
  emu = undefined;
});

function azureEnv(e: AzureEmulator, extra: Record<string, string> = {}): Record<string, string> {
  return {
    VPC_IPAM_PROVIDER: 'azure',
    AZURE_ARM_ENDPOINT: e.url,
    AZURE_IMDS_ENDPOINT: e.url,
    AZURE_LRO_POLL_INTERVAL_MS: '20',
    VPC_IPAM_RECONCILE_INTERVAL_SECONDS: '1',
    VPC_IPAM_SHRINK_INTERVAL_SECONDS: '0',
    IP_COOLDOWN_PERIOD: '0',
    VPC_IPAM_CLOUD_MAX_ATTEMPTS: '8',
    ...extra,
  };
}

async function daemon(e: AzureEmulator, extra: Record<string, string> = {}): Promise<DaemonHandle> {
  const h = await startDaemon(azureEnv(e, extra));
  daemons.push(h);
  return h;
}

interface NicView {
  id: string;
  blocks: Array<{ cidr: string }>;
}

async function poolIps(h: DaemonHandle): Promise<string[]> {
  const { interfaces } = await getJson<{ interfaces: NicView[] }>(h, '/v1/nics');
  return interfaces.flatMap((i) => i.blocks.map((b) => b.cidr.replace('/32', ''))).sort();
}

function cloudIps(e: AzureEmulator): string[] {
  return [...cloudIpconfigs(e).values()]
    .filter((c) => c.state === 'Succeeded')
    .map((c) => c.ip)
    .sort();
}

/** Polls `read` until `holds` (the deadline only guards a hang, under the test's own timeout). */
const pool = (h: DaemonHandle) =>
  getJson<{
    total: number;
    assigned: number;
    available: number;
    growthBlocked: { reason: string } | null;
    policy: { name: string; explain: string };
  }>(h, '/v1/pool');

async function add(h: DaemonHandle, id: string): Promise<Response> {
  return callIpamd(h.socket, {
    v: PROTOCOL_VERSION,
    op: 'add',
    network: 'vpc-ipam',
    containerId: id,
    ifName: 'eth0',
    waitMs: 20_000,
  });
}
async function del(h: DaemonHandle, id: string): Promise<Response> {
  return callIpamd(h.socket, { v: PROTOCOL_VERSION, op: 'del', network: 'vpc-ipam', containerId: id, ifName: 'eth0' });
}

describe('vpc-ipamd on Azure (emulated)', () => {
  it('grows the NIC for Pods and shrinks it back, the pool always equal to the cloud', async () => {
    emu = await emulator();
    const h = await daemon(emu, { WARM_IP_TARGET: '3' });
    await until(
      () => pool(h),
      (p) => p.total === 3,
    );
    expect(await poolIps(h)).toEqual(cloudIps(emu));
    const ips: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await add(h, `pod${i}`);
      expect(r.ok).toBe(true);
      if (r.ok && 'allocation' in r) {
        expect(r.allocation).toMatchObject({
          prefixLength: 32,
          subnetCidr: '10.240.0.0/24',
          vpcCidrs: ['10.240.0.0/16'],
          routeTable: 0,
        });
        ips.push(r.allocation.ip);
      }
    }
    expect(new Set(ips).size).toBe(5);
    await until(
      () => pool(h),
      (p) => p.total === 8 && p.available === 3,
    );
    expect(await poolIps(h)).toEqual(cloudIps(emu));
    expect(ips.every((ip) => cloudIps(emu!).includes(ip))).toBe(true);
    for (let i = 0; i < 5; i++) expect((await del(h, `pod${i}`)).ok).toBe(true);
    await until(
      () => pool(h),
      (p) => p.total === 3,
    );
    await until(
      () => cloudIps(emu!),
      (c) => c.length === 3,
    );
    expect(await poolIps(h)).toEqual(cloudIps(emu));
  });

  it('with AZURE_POD_SUBNET_ID gives Pods addresses of the VM NIC in that subnet, routed by its table', async () => {
    emu = await emulator(withPodNic());
    const h = await daemon(emu, { WARM_IP_TARGET: '2', AZURE_POD_SUBNET_ID: PODS_ID });
    await until(
      () => pool(h),
      (p) => p.total === 2,
    );
    const r = await add(h, 'pod-a');
    expect(r.ok && 'allocation' in r).toBe(true);
    // Device index 1: route table 2, the Pod subnet's CIDR; the address is one of the Pod NIC's.
    if (r.ok && 'allocation' in r) {
      expect(r.allocation).toMatchObject({ prefixLength: 32, subnetCidr: '10.240.16.0/24', routeTable: 2 });
    }
    await until(
      () => pool(h),
      (p) => p.total === 3 && p.available === 2,
    );
    const succeeded = [...cloudIpconfigs(emu, 'node1-pod-nic').values()].filter((c) => c.state === 'Succeeded');
    const pod = succeeded.map((c) => c.ip).sort();
    expect(await poolIps(h)).toEqual(pod);
    expect(cloudIpconfigs(emu, 'node1-nic').size).toBe(0);
  });

  it('refuses to start with AZURE_POD_SUBNET_ID and no NIC there, saying what the node pool must provide', async () => {
    emu = await emulator({ podSubnet: { name: 'pods', cidr: '10.240.16.0/24' } });
    const start = startDaemon(azureEnv(emu, { AZURE_POD_SUBNET_ID: PODS_ID }));
    await expect(start).rejects.toThrow(/AZURE_POD_SUBNET_ID: no NIC of .* second NIC in the Pod subnet/);
    expect(emu.calls().PutNetworkInterface).toBeUndefined();
  });

  it('sizes the pool in batches with WARM_POOL_POLICY=azure-batch', async () => {
    emu = await emulator();
    const h = await daemon(emu, {
      WARM_POOL_POLICY: 'azure-batch',
      AZURE_IP_BATCH_SIZE: '4',
      AZURE_REQUEST_THRESHOLD_PERCENT: '50',
      AZURE_RELEASE_THRESHOLD_PERCENT: '150',
    });
    const first = await until(
      () => pool(h),
      (p) => p.total === 4,
    );
    expect(first.policy.name).toBe('azure-batch');
    for (let i = 0; i < 3; i++) expect((await add(h, `b${i}`)).ok).toBe(true);
    // free 1 < minFree 2 → the next multiple of 4.
    await until(
      () => pool(h),
      (p) => p.total === 8,
    );
    for (let i = 0; i < 3; i++) expect((await del(h, `b${i}`)).ok).toBe(true);
    // free 8 >= maxFree 6 → one batch back. The pool drops the batch before its NIC write is accepted
    // (no Pod may take an address being released), so the cloud follows a moment later.
    await until(
      () => pool(h),
      (p) => p.total === 4,
    );
    await until(
      () => cloudIps(emu!),
      (c) => c.length === 4,
    );
    expect(await poolIps(h)).toEqual(cloudIps(emu));
  });

  it('stops growing on SubnetIsFull, allocates nothing, and says why', async () => {
    emu = await emulator({ subnetCidr: '10.240.0.0/28' }, { lro: { asyncAllocationErrors: true } });
    const free = subnetFree(emu);
    const h = await daemon(emu, { WARM_IP_TARGET: '20' });
    const p = await until(
      () => pool(h),
      (x) => x.growthBlocked !== null,
    );
    expect(p.growthBlocked!.reason).toMatch(/^SubnetIsFull: .*does not have enough capacity for 20 IP addresses/);
    expect(p.total).toBe(0);
    expect(subnetFree(emu)).toBe(free);
    const r = await callIpamd(h.socket, {
      v: PROTOCOL_VERSION,
      op: 'add',
      network: 'vpc-ipam',
      containerId: 'x',
      ifName: 'eth0',
      waitMs: 100,
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('POOL_EXHAUSTED');
  });

  it('honours Retry-After on 429 and still fills the pool', async () => {
    emu = await emulator({}, { retryAfterMs: 1000 });
    const throttled = () =>
      new ThrottledError({
        provider: 'azure',
        operation: 'PutNetworkInterface',
        cloudCode: 'TooManyRequests',
        message: 'Too many requests',
      });
    emu.faults.failNext('PutNetworkInterface', 2, throttled);
    const h = await daemon(emu, { WARM_IP_TARGET: '2' });
    await until(
      () => pool(h),
      (p) => p.total === 2,
    );
    const puts = emu.log().filter((e) => e.action === 'PutNetworkInterface');
    expect(puts.map((e) => e.status)).toEqual([429, 429, 200]);
    // Each retry came no sooner than the server asked (lower bounds, not speed checks).
    expect(puts[1]!.at - puts[0]!.at).toBeGreaterThanOrEqual(990);
    expect(puts[2]!.at - puts[1]!.at).toBeGreaterThanOrEqual(990);
    const metrics = await (await fetch(`http://${h.metrics}/metrics`)).text();
    expect(metrics).toMatch(/vpc_ipam_cloud_calls_total\{operation="assignAddresses",result="TooManyRequests"\} 2/);
    expect(await poolIps(h)).toEqual(cloudIps(emu));
  });

  it('resolves concurrent writers (412 etag, 409 in progress) without losing or duplicating an address', async () => {
    // The other writer's slow operation ends by itself after 3 s (nobody polls it); ours are short.
    emu = await emulator();
    // No resync while the other writer is active: every NIC read below is the one before our PUT.
    let h = await daemon(emu, { WARM_IP_TARGET: '2', VPC_IPAM_RESYNC_INTERVAL_SECONDS: '3600' });
    await until(
      () => pool(h),
      (p) => p.total === 2,
    );
    let writes = 0;
    emu.afterNicRead = (name) => {
      const nic = emu!.world.nic(name)!;
      if (writes >= 2 || emu!.world.pending(nic)) return;
      // The slow write only once our PUT has met the quick one's 412: an earlier read (the daemon reads the
      // NIC for other reasons too) would let it run out before our next PUT, and no 409 would be seen.
      const saw412 = emu!.log().some((e) => e.action === 'PutNetworkInterface' && e.status === 412);
      if (writes === 1 && !saw412) return;
      writes++;
      const current = emu!.world.ipConfigs(nic).map((c) => ({
        name: c.name,
        properties: { primary: c.primary, subnet: { id: NODES_ID }, privateIPAddress: c.ip },
      }));
      const body = {
        properties: {
          ipConfigurations: [...current, { name: `other-${writes}`, properties: { subnet: { id: NODES_ID } } }],
        },
      };
      // Between our GET and our PUT: first a quick write that changes the etag (→ 412),
      // then a slow one still running when we PUT (→ 409).
      emu!.operations.put(nic, body, undefined, writes === 1 ? 'sync' : 'async', 3000);
    };
    for (let i = 0; i < 2; i++) expect((await add(h, `c${i}`)).ok).toBe(true);
    await until(
      () => pool(h),
      (p) => p.total === 4 && p.available === 2,
    );
    const statuses = emu
      .log()
      .filter((e) => e.action === 'PutNetworkInterface')
      .map((e) => e.status);
    expect(statuses.indexOf(412)).toBeGreaterThan(0);
    expect(statuses.indexOf(409)).toBeGreaterThan(statuses.indexOf(412));
    expect(statuses[statuses.length - 1]).toBe(200);
    const cloud = await until(
      () => cloudIps(emu!),
      (c) => c.length === 6,
    );
    expect(new Set(cloud).size).toBe(6);
    const mine = await poolIps(h);
    const theirs = ['other-1', 'other-2'].map((n) => cloudIpconfigs(emu!).get(n)!.ip);
    expect([...mine, ...theirs].sort()).toEqual(cloud);
    // A restarted daemon reads the NIC as it is: every address once, the other writer's included.
    await kill(h, 'SIGTERM');
    h = await startDaemon({}, h);
    daemons.push(h);
    await startDone(h); // ready comes from the node cache; the cloud's view follows (issue 17)
    expect(await poolIps(h)).toEqual(cloudIps(emu));
  });

  it('leaves nothing half-done when a long-running operation fails, then succeeds on retry', async () => {
    emu = await emulator();
    const free = subnetFree(emu);
    const seen: Array<{ status: string; ipconfigs: number; free: number }> = [];
    emu.operations.onOperationDone = (op) =>
      seen.push({ status: op.status, ipconfigs: cloudIpconfigs(emu!).size, free: subnetFree(emu!) });
    emu.faults.failNext(
      'CompleteOperation',
      1,
      () =>
        new CloudUnavailableError({
          provider: 'azure',
          operation: 'CompleteOperation',
          cloudCode: 'NetworkingInternalOperationError',
          message: 'An unexpected error occurred.',
        }),
    );
    const h = await daemon(emu, { WARM_IP_TARGET: '3' });
    await until(
      () => pool(h),
      (p) => p.total === 3,
    );
    expect(seen[0]).toEqual({ status: 'Failed', ipconfigs: 0, free });
    expect(seen[seen.length - 1]).toEqual({ status: 'Succeeded', ipconfigs: 3, free: free - 3 });
    expect(await poolIps(h)).toEqual(cloudIps(emu));
    const metrics = await (await fetch(`http://${h.metrics}/metrics`)).text();
    expect(metrics).toMatch(
      /vpc_ipam_cloud_calls_total\{operation="assignAddresses",result="NetworkingInternalOperationError"\} 1/,
    );
  });

  it('after SIGKILL restarts with the same assignments and a pool equal to the cloud', async () => {
    emu = await emulator();
    let h = await daemon(emu, { WARM_IP_TARGET: '2' });
    const got = new Map<string, string>();
    for (let i = 0; i < 4; i++) {
      const r = await add(h, `k${i}`);
      if (r.ok && 'allocation' in r) got.set(`k${i}`, r.allocation.ip);
    }
    await until(
      () => pool(h),
      (p) => p.total === 6,
    );
    await kill(h, 'SIGKILL');
    h = await startDaemon({}, h);
    daemons.push(h);
    const { assignments } = await getJson<{ assignments: Array<{ containerId: string; ip: string }> }>(
      h,
      '/v1/assignments',
    );
    expect(new Map(assignments.map((a) => [a.containerId, a.ip]))).toEqual(got);
    expect(await poolIps(h)).toEqual(cloudIps(emu));
    const again = await add(h, 'k0');
    expect(again.ok && 'allocation' in again && again.allocation.ip).toBe(got.get('k0'));
  });
});
