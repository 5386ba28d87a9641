/**
 * The real daemon (IpamDaemon, built by ipamd/setup/aws.ts) with the AWS
 * provider, talking to the EC2 + IMDSv2 emulator through @aws-sdk/client-ec2:
 * the warm pool grows and shrinks in both modes for the variable
 * combinations, switches mode on restart, survives fragmentation (sibling
 * subnet, then the /32 fallback), a 30 % throttling storm, a failed attach
 * and a restart with IMDS lagging EC2.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CloudUnavailableError } from '../../providers/errors.js';
import type { AwsEmulator } from '../../providers/aws/emulator/server.js';
import { awsDaemon, startEmulator, type AwsDaemon } from '../providers/aws/daemon-helpers.js';
import { ourInterfaces, until } from '../providers/aws/helpers.js';

const running: AwsDaemon[] = [];
const emulators: AwsEmulator[] = [];
afterEach(async () => {
  for (const d of running.splice(0)) await d.stop().catch(() => {});
  for (const e of emulators.splice(0)) await e.close();
});

async function start(
  env: Record<string, string>,
  emuOpts: Parameters<typeof startEmulator>[0] = {},
  emu?: AwsEmulator,
  checkpointer?: AwsDaemon['checkpointer'],
) {
  const e = emu ?? (await startEmulator(emuOpts));
  if (!emu) emulators.push(e);
  const d = await awsDaemon(env, { emu: e, checkpointer });
  running.push(d);
  return d;
}

const pool = (d: AwsDaemon) => d.daemon.snapshot();
const nodeNics = (d: AwsDaemon) => d.cloud.getInstance(d.emu.instanceId).interfaces;

/** One address in every aligned /28 of a 10.0.X.0/24 subnet taken by "another tenant". */
function fragment(d: { cloud: AwsDaemon['cloud'] }, subnetId: string, third: number): void {
  const used = new Set(d.cloud.subnetAllocations(subnetId).used);
  for (let b = 16; b < 240; b += 16) {
    const ip = [5, 6, 7, 8].map((o) => `10.0.${third}.${b + o}/32`).find((c) => !used.has(c))!;
    d.cloud.reserveCidr(subnetId, ip, { description: 'another tenant' });
  }
}

describe('aws daemon: warm pool in secondary-IP mode', () => {
  it('WARM_ENI_TARGET=1: fills the primary, attaches a tagged ENI when the first Pod lands', async () => {
    const d = await start({ CLUSTER_NAME: 'e2e' });
    expect([pool(d).total, pool(d).interfaces.length]).toEqual([9, 1]);
    await d.add('a');
    await until('a second ENI', () => pool(d).interfaces.length === 2 && pool(d).total === 18);
    const eni = nodeNics(d).find((n) => n.attachment!.deviceIndex === 1)!;
    expect(eni.tags).toMatchObject({ 'vpc-ipam.io/instance-id': d.emu.instanceId, 'vpc-ipam.io/cluster-name': 'e2e' });
    expect(eni.attachment!.deleteOnTermination).toBe(true);
    expect(eni.privateIps).toHaveLength(9);
    // The Pod subnet is tagged for Pods but the node subnet comes first.
    expect(eni.subnetId).toBe(nodeNics(d)[0]!.subnetId);
  });

  it(
    'WARM_ENI_TARGET=1: detaches and deletes the spare ENI once it is empty and past its minimum lifetime',
    { timeout: 120_000 },
    async () => {
      const d = await start({});
      await d.add('a');
      await until('a second ENI', () => pool(d).interfaces.length === 2);
      await d.del('a');
      // Interfaces live at least 60 s (attach churn is costly), so this waits in real time.
      await until('back to one ENI', () => pool(d).interfaces.length === 1, 100_000);
      expect(pool(d).total).toBe(9);
      await until('EC2 agrees', () => ourInterfaces(d.cloud).length === 0);
      expect(d.emu.counts()).toMatchObject({ DetachNetworkInterface: 1, DeleteNetworkInterface: 1 });
    },
  );

  it('WARM_IP_TARGET=3 + MINIMUM_IP_TARGET=6: grows to keep 3 free, shrinks back to the floor', async () => {
    const d = await start({ WARM_IP_TARGET: '3', MINIMUM_IP_TARGET: '6' });
    expect(pool(d).total).toBe(6);
    for (let i = 0; i < 12; i++) await d.add(`p${i}`);
    await until('3 free with 12 assigned', () => pool(d).available >= 3 && pool(d).assigned === 12);
    expect(pool(d).interfaces.length).toBe(2);
    for (let i = 0; i < 12; i++) await d.del(`p${i}`);
    await until('the pool back at the floor', () => pool(d).total === 6 && pool(d).assigned === 0);
    // What the daemon holds is what EC2 shows: 6 secondary IPs on the node.
    await until('EC2 agrees', () => nodeNics(d).reduce((n, i) => n + i.privateIps.length, 0) === 6);
  });
});

describe('aws daemon: warm pool in prefix-delegation mode', () => {
  it('WARM_PREFIX_TARGET=1: one /28 at start, grows by /28s, gives the unused ones back', async () => {
    const d = await start({ ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' });
    expect([pool(d).mode, pool(d).total]).toEqual(['prefix', 16]);
    for (let i = 0; i < 20; i++) await d.add(`p${i}`);
    await until('a free /28 beyond the 20 Pods', () => pool(d).available >= 16);
    expect(pool(d).total % 16).toBe(0);
    for (let i = 0; i < 20; i++) await d.del(`p${i}`);
    await until('one /28 left', () => pool(d).total === 16);
    await until('EC2 agrees', () => nodeNics(d).flatMap((n) => n.prefixes).length === 1);
  });

  it('WARM_IP_TARGET=5 + MINIMUM_IP_TARGET=20: counted in addresses, held in whole /28s', async () => {
    const d = await start({ ENABLE_PREFIX_DELEGATION: 'true', WARM_IP_TARGET: '5', MINIMUM_IP_TARGET: '20' });
    expect(pool(d).total).toBe(32);
    for (let i = 0; i < 30; i++) await d.add(`p${i}`);
    await until('5 free with 30 assigned', () => pool(d).available >= 5 && pool(d).assigned === 30);
    expect(pool(d).total).toBe(48);
    for (let i = 0; i < 30; i++) await d.del(`p${i}`);
    await until('back to the floor', () => pool(d).total === 32);
  });

  it('switching secondary IPs → prefixes on restart keeps running Pods and drains the old /32s', async () => {
    const d1 = await start({ WARM_IP_TARGET: '2' });
    const old = { a: await d1.add('a'), b: await d1.add('b') };
    await d1.stop();
    running.splice(running.indexOf(d1), 1);
    // Restarted at once, inside EC2's consistency window after d1's last assign: a NotFound about the primary
    // ENI must be retried, not read as "gone" (which would leave the old /32s assigned in EC2).
    const d2 = await start({ ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' }, {}, d1.emu, d1.checkpointer);
    const held = new Map(d2.daemon.datastore.list().map((a) => [a.containerId, a.ip]));
    expect(held).toEqual(new Map(Object.entries(old)));
    const c = await d2.add('c');
    expect(
      nodeNics(d2)
        .flatMap((n) => n.prefixes)
        .some((p) => c.startsWith(p.split('.').slice(0, 3).join('.'))),
    ).toBe(true);
    await until('free old /32s released', () => nodeNics(d2).flatMap((n) => n.privateIps).length === 2);
    await d2.del('a');
    await d2.del('b');
    await until('all old /32s released', () => nodeNics(d2).flatMap((n) => n.privateIps).length === 0);
  });
});

describe('aws daemon: prefix exhaustion', () => {
  it('a fragmented node subnet sends the next ENI to the tagged Pod subnet, with /28s', async () => {
    const emu = await startEmulator();
    emulators.push(emu);
    const nodeSubnet = emu.cloud.getInstance(emu.instanceId).subnetId;
    fragment(emu, nodeSubnet, 1);
    const d = await start({ ENABLE_PREFIX_DELEGATION: 'true' }, {}, emu);
    await until('a /28 on an ENI in the Pod subnet', () => pool(d).total >= 16);
    const eni = nodeNics(d).find((n) => n.attachment!.deviceIndex === 1)!;
    expect(eni.subnetId).not.toBe(nodeSubnet);
    expect(eni.prefixes).toHaveLength(1);
    expect(d.daemon.datastore.fallbackIps).toBe(false);
    expect(emu.requests.filter((r) => r.code === 'InsufficientCidrBlocks')).toHaveLength(1);
  });

  it(
    'no /28 anywhere (EC2 saying InvalidParameterValue): PREFIX_FALLBACK_TO_IPS=true serves Pods from ' + '/32s',
    async () => {
      const emu = await startEmulator({ realism: { capacityWording: 'generic' } });
      emulators.push(emu);
      for (const s of emu.cloud.describeSubnets()) fragment(emu, s.id, Number(s.cidr.split('.')[2]));
      const d = await start({ ENABLE_PREFIX_DELEGATION: 'true', PREFIX_FALLBACK_TO_IPS: 'true' }, {}, emu);
      const ips = [];
      for (let i = 0; i < 10; i++) ips.push(await d.add(`p${i}`));
      expect(new Set(ips).size).toBe(10);
      const secondaries = new Set(nodeNics(d).flatMap((n) => n.privateIps));
      for (const ip of ips) expect(secondaries.has(ip)).toBe(true);
      expect(pool(d).mode).toBe('prefix');
      expect(d.daemon.reconciler.growthBlocked).toBeUndefined();
      expect(emu.requests.some((r) => r.code === 'InvalidParameterValue')).toBe(true);
    },
  );

  it('no /28 anywhere and no fallback: growth pauses, the ADD fails naming the cause', async () => {
    const emu = await startEmulator();
    emulators.push(emu);
    for (const s of emu.cloud.describeSubnets()) fragment(emu, s.id, Number(s.cidr.split('.')[2]));
    const d = await start({ ENABLE_PREFIX_DELEGATION: 'true', VPC_IPAM_ADD_WAIT_SECONDS: '2' }, {}, emu);
    await until('growth paused', () => d.daemon.reconciler.growthBlocked);
    const err: unknown = await d.add('a').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'POOL_EXHAUSTED' });
    // The code EC2 gave (its emulator words "no room" both ways), never one the core made up.
    const named = /growth paused: (\w+): no free prefix block in any candidate subnet/.exec(
      (err as Error).message,
    )?.[1];
    expect(['InsufficientCidrBlocks', 'InvalidParameterValue']).toContain(named);
    expect(emu.requests.some((r) => r.code === named)).toBe(true);
    expect(ourInterfaces(d.cloud)).toEqual([]); // the refused creates left nothing behind
  });
});

describe('aws daemon: custom networking', () => {
  it('puts Pod ENIs only in the configured subnet with its groups, and no Pods on the primary', async () => {
    const emu = await startEmulator({ groups: ['sg-0bada55'] }); // POD_SECURITY_GROUPS exists in the VPC
    emulators.push(emu);
    const podSubnet = emu.cloud.describeSubnets({ tags: { 'kubernetes.io/role/cni': '1' } })[0]!;
    const d = await start(
      {
        AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true',
        POD_SUBNET_IDS: podSubnet.id,
        POD_SECURITY_GROUPS: 'sg-0bada55',
        WARM_IP_TARGET: '3',
      },
      {},
      emu,
    );
    await until('an ENI in the Pod subnet', () => pool(d).interfaces.length === 2 && pool(d).available >= 3);
    const ip = await d.add('a');
    expect(ip.startsWith('10.0.2.')).toBe(true);
    const eni = nodeNics(d).find((n) => n.attachment!.deviceIndex === 1)!;
    expect(eni).toMatchObject({ subnetId: podSubnet.id, securityGroups: ['sg-0bada55'] });
    expect(nodeNics(d)[0]!.privateIps).toEqual([]); // the primary holds nothing for Pods
    expect(pool(d).interfaces[0]!.usable).toBe(false);
  });
});

describe('aws daemon: failures', () => {
  it(
    'a 30 % RequestLimitExceeded storm: the pool converges, every call is bounded, nothing is ' + 'duplicated',
    async () => {
      const emu = await startEmulator({ throttleRatio: 0.3, seed: 11 });
      emulators.push(emu);
      const d = await start({ WARM_IP_TARGET: '4', MINIMUM_IP_TARGET: '8' }, {}, emu);
      // Three waves of 20 Pods arriving and leaving: growth, shrink, ENI creation, all under throttling.
      for (let wave = 0; wave < 3; wave++) {
        for (let i = 0; i < 20; i++) await d.add(`w${wave}-${i}`);
        await until('4 free with 20 assigned', () => pool(d).available >= 4 && pool(d).assigned === 20, 60_000);
        for (let i = 0; i < 20; i++) await d.del(`w${wave}-${i}`);
        await until('back to the floor', () => pool(d).total <= 8 + 4 && pool(d).assigned === 0, 60_000);
      }
      for (let i = 0; i < 20; i++) await d.add(`p${i}`);
      await until('4 free with 20 assigned', () => pool(d).available >= 4 && pool(d).assigned === 20, 60_000);
      const reqs = emu.requests;
      const ok = reqs.filter((r) => r.status === 200).length;
      const throttled = reqs.filter((r) => r.code === 'RequestLimitExceeded').length;
      const perInvocation = new Map<string, number>();
      for (const r of reqs)
        if (r.invocationId) perInvocation.set(r.invocationId, (perInvocation.get(r.invocationId) ?? 0) + 1);
      console.log(
        `throttle storm: ${reqs.length} EC2 requests, ${ok} succeeded, ${throttled} throttled, ` +
          `${perInvocation.size} SDK calls, max ${Math.max(...perInvocation.values())} attempts per call`,
      );
      // Bound 1: the SDK never retries past AWS_MAX_ATTEMPTS=2 (CloudCaller adds its own, separately bounded, retries).
      expect(Math.max(...perInvocation.values())).toBeLessThanOrEqual(2);
      // Bound 2: every failure was the storm or EC2 not seeing a just-changed ENI yet (eventual consistency),
      // and requests per success stay near 1/(1-0.3) ≈ 1.43: a retry loop that multiplied attempts would blow past 2.
      const notYet = reqs.filter((r) => r.code === 'InvalidNetworkInterfaceID.NotFound').length;
      expect(ok + throttled + notYet).toBe(reqs.length);
      expect(reqs.length / ok).toBeLessThan(2);
      // No duplicated or leaked work: every ENI created and not deleted (shrinks may delete an emptied ENI
      // once it is past its minimum lifetime) is attached to the node and known to the daemon.
      const created = reqs.filter((r) => r.action === 'CreateNetworkInterface' && r.status === 200).length;
      const deleted = reqs.filter((r) => r.action === 'DeleteNetworkInterface' && r.status === 200).length;
      expect(created).toBeGreaterThan(0);
      expect(ourInterfaces(d.cloud)).toHaveLength(created - deleted);
      expect(pool(d).interfaces).toHaveLength(created - deleted + 1);
    },
  );

  it('an attach that fails mid-creation leaves no ENI behind, and the retry succeeds', async () => {
    const emu = await startEmulator();
    emulators.push(emu);
    const d = await start({ WARM_IP_TARGET: '2', MINIMUM_IP_TARGET: '9' }, {}, emu);
    emu.faults.failNext(
      'AttachNetworkInterface',
      2,
      (a) =>
        new CloudUnavailableError({ provider: 'aws', operation: a, cloudCode: 'InternalError', message: 'injected' }),
    );
    for (let i = 0; i < 9; i++) await d.add(`p${i}`);
    await until('a second ENI', () => pool(d).interfaces.length === 2 && pool(d).available >= 2);
    expect(emu.requests.filter((r) => r.action === 'CreateNetworkInterface' && r.status === 200)).toHaveLength(2);
    expect(emu.requests.filter((r) => r.action === 'DeleteNetworkInterface' && r.status === 200)).toHaveLength(1);
    expect(ourInterfaces(d.cloud).map((n) => n.status)).toEqual(['in-use']);
  });

  it('a restart with IMDS lagging EC2 (stale after reboot) removes nothing in use', async () => {
    const emu = await startEmulator();
    emulators.push(emu);
    const beforeGrowth = emu.imds.currentView();
    const d1 = await start({ WARM_IP_TARGET: '1' }, {}, emu);
    const ips = new Map<string, string>();
    for (let i = 0; i < 12; i++) ips.set(`p${i}`, await d1.add(`p${i}`));
    await until('the second ENI in use', () => pool(d1).interfaces.length === 2 && pool(d1).available >= 1);
    await d1.stop();
    running.splice(running.indexOf(d1), 1);
    emu.imds.pin(beforeGrowth); // IMDS shows the node as it was: primary only, no secondaries
    const mark = emu.requests.length;
    const d2 = await start({ WARM_IP_TARGET: '1' }, {}, emu, d1.checkpointer);
    expect(new Map(d2.daemon.datastore.list().map((a) => [a.containerId, a.ip]))).toEqual(ips);
    expect(d2.daemon.datastore.orphaned()).toEqual([]);
    expect(d2.provider.stats.imdsBehind).toBeGreaterThanOrEqual(1);
    await d2.daemon.reconciler.tick();
    const since = emu.requests.slice(mark).map((r) => r.action);
    for (const removal of ['DetachNetworkInterface', 'DeleteNetworkInterface', 'UnassignPrivateIpAddresses'])
      expect(since).not.toContain(removal);
    expect(nodeNics(d2)).toHaveLength(2);
    const held = new Set(nodeNics(d2).flatMap((n) => n.privateIps));
    for (const ip of ips.values()) expect(held.has(ip)).toBe(true);
  });
});
