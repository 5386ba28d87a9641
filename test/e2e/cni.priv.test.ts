/**
 * Privileged end-to-end run of the CNI plugin: the real ipamd (sim cloud,
 * netlink plumbing on) and the built shim (with the single executable beside it), executed exactly as a
 * runtime does, in a conflist chained with Debian's portmap and bandwidth.
 * Needs root (netns, veth, rules, iptables); skips with a reason otherwise.
 * Runs in a throwaway host netns (test/priv-setup.ts). Every Pod netns is named
 * `vpcit-<owner>-cni-*` and every container ID `e2e<pid>-*`, and afterAll
 * removes them, their veths and rules even when a test failed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostVethName } from '../../cni/contract/veth-name.js';
import { ChainRunner, type Attachment, type ConfList } from '../cni/chain-runner.js';
import {
  addNetns,
  deleteLinks,
  deleteNetnsWithPrefix,
  deleteRules,
  isRoot,
  linkNames,
  listNetns,
  ping,
  podNsPrefix,
  routes,
  rules,
  runSubnet,
} from '../cni/netns-tools.js';
import { cniEnv, runPlugin, shimPlugin, type PluginCommand } from '../cni/plugin-process.js';
import { getJson, kill, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';
import { keptVethsGone } from '../helpers/kept-veths.js';

const root = isRoot();
if (!root) console.log('skipping test/e2e/cni.priv.test.ts: needs root (network namespaces, veth, ip rules, iptables)');
const haveDebianPlugins = fs.existsSync('/usr/lib/cni/portmap') && fs.existsSync('/usr/lib/cni/bandwidth');
if (root && !haveDebianPlugins)
  console.log('cni.priv: /usr/lib/cni/{portmap,bandwidth} missing: apt-get install containernetworking-plugins');

const NS = podNsPrefix('cni');
const CID = `e2e${process.pid}-`;
const { cidr: SUBNET, contains: inSubnet } = runSubnet();
const daemons: DaemonHandle[] = [];
const containerIds = new Set<string>();
/** Attachments ADDed and not yet DELeted, so afterAll can run the chain's DEL (portmap rules, bandwidth ifb). */
const live = new Map<string, { chain: ChainRunner; pod: Attachment; result: Record<string, unknown> }>();
let plugin: PluginCommand;
let ipamd: DaemonHandle;

const daemonEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  VPC_IPAM_PLUMBING: 'on',
  VPC_IPAM_SIM_SUBNET_CIDR: SUBNET,
  VPC_IPAM_SIM_INSTANCE_TYPE: 'm5.4xlarge',
  VPC_IPAM_METRICS_ADDRESS: 'off',
  ...extra,
});

function conflist(h: DaemonHandle, version = '1.0.0', chained = true): ConfList {
  const ours = {
    type: 'vpc-ipam',
    ipamdSocket: h.socket,
    mtu: 9001,
    logFile: path.join(h.dir, 'cni.log'),
    logLevel: 'debug',
    dns: { nameservers: ['10.100.0.10'], search: ['svc.cluster.local'] },
  };
  return {
    cniVersion: version,
    name: 'vpc-net',
    plugins: chained
      ? [
          ours,
          { type: 'portmap', capabilities: { portMappings: true }, snat: true },
          { type: 'bandwidth', capabilities: { bandwidth: true } },
        ]
      : [ours],
  };
}
const runner = (c: ConfList) => new ChainRunner(c, (type) => (type === 'vpc-ipam' ? plugin : [`/usr/lib/cni/${type}`]));

/** ADD through the chain, remembering the attachment for cleanup. */
async function addPod(chain: ChainRunner, pod: Attachment): Promise<Record<string, unknown>> {
  const { result } = await chain.add(pod);
  live.set(pod.containerId, { chain, pod, result });
  return result;
}
async function delPod(chain: ChainRunner, pod: Attachment, result?: Record<string, unknown>): Promise<void> {
  await chain.del(pod, result);
  live.delete(pod.containerId);
}

let seq = 0;
async function newPod(): Promise<Attachment> {
  const n = seq++;
  const containerId = `${CID}${n}`;
  containerIds.add(containerId);
  return {
    containerId,
    netns: await addNetns(`${NS}${n}`),
    ifName: 'eth0',
    args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=pod-${n};K8S_POD_UID=uid-${n}`,
    capabilityArgs: {
      portMappings: [{ hostPort: 30000 + n, containerPort: 80, protocol: 'tcp' }],
      bandwidth: {
        ingressRate: 100_000_000,
        ingressBurst: 10_000_000,
        egressRate: 100_000_000,
        egressBurst: 10_000_000,
      },
    },
  };
}
const podIp = (result: Record<string, unknown>) =>
  (result.ips as Array<{ address: string }>)[0]!.address.split('/')[0]!;
const assignments = async (h: DaemonHandle) =>
  (await getJson<{ assignments: Array<{ containerId: string; ip: string }> }>(h, '/v1/assignments')).assignments.filter(
    (a) => a.containerId.startsWith(CID),
  );

async function leftovers(ids: string[]): Promise<string[]> {
  const out: string[] = [];
  // Routes and rules are gone when DEL answers; the host veths may still be waiting for their grace.
  for (const r of await routes())
    if (r.dev?.startsWith('vpc') && ids.some((id) => hostVethName(id, 'eth0') === r.dev))
      out.push(`route ${r.dst} dev ${r.dev}`);
  for (const r of await rules())
    if (r.priority === 1536 && r.src && inSubnet(r.src)) out.push(`rule from ${r.src} lookup ${r.table}`);
  await keptVethsGone(
    linkNames,
    ids.map((id) => hostVethName(id, 'eth0')),
  );
  const names = new Set(await linkNames());
  const links = ids
    .map((id) => hostVethName(id, 'eth0'))
    .filter((n) => names.has(n))
    .map((n) => `link ${n}`);
  return [...links, ...out];
}

describe.skipIf(!root || !haveDebianPlugins)('vpc-ipam CNI plugin end to end (root)', () => {
  beforeAll(async () => {
    plugin = await shimPlugin(); // what the runtime execs: the shim, ipamd running the verb
    ipamd = await startDaemon(daemonEnv());
    daemons.push(ipamd);
  }, 180_000);

  afterAll(async () => {
    for (const { chain, pod, result } of live.values()) await chain.del(pod, result).catch(() => undefined);
    for (const h of daemons) await kill(h, 'SIGKILL');
    await deleteLinks([...containerIds].map((id) => hostVethName(id, 'eth0')));
    await deleteRules(inSubnet);
    await deleteNetnsWithPrefix(NS);
    for (const h of daemons) fs.rmSync(h.dir, { recursive: true, force: true });
  }, 60_000);

  it(
    'wires Pods through a portmap+bandwidth chain: unique sim-subnet IPs, ping, CHECK, DEL twice, nothing ' + 'left',
    async () => {
      const chain = runner(conflist(ipamd));
      const bwpBefore = (await linkNames()).filter((n) => n.startsWith('bwp'));
      const pods = [await newPod(), await newPod(), await newPod()];
      const results = [];
      for (const p of pods) results.push(await addPod(chain, p));
      const ips = results.map(podIp);
      expect(new Set(ips).size).toBe(3);
      for (const ip of ips) expect(inSubnet(ip), ip).toBe(true);
      const r0 = results[0]!;
      const ifs = r0.interfaces as Array<{ name: string }>;
      // bandwidth appends its ifb device after ours: proof it found our host veth in prevResult.
      expect(ifs[2]?.name).toMatch(/^bwp/);
      expect({ ...r0, interfaces: ifs.slice(0, 2) }).toMatchObject({
        cniVersion: '1.0.0',
        interfaces: [
          {
            name: hostVethName(pods[0]!.containerId, 'eth0'),
            mac: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/),
          },
          { name: 'eth0', sandbox: pods[0]!.netns, mac: expect.any(String) },
        ],
        ips: [{ address: `${ips[0]}/32`, gateway: '169.254.1.1', interface: 1 }],
        routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
        dns: { nameservers: ['10.100.0.10'], search: ['svc.cluster.local'] },
      });
      for (const ip of ips) expect(await ping(ip), `ping ${ip}`).toBe(true);
      // CHECK without portmap: Debian's portmap 1.1.1 fails CHECK on IPv4-only Pods
      // ("could not check ipv6 dnat"), a bug of that plugin, not of the chain.
      const c = conflist(ipamd);
      const checker = runner({ ...c, plugins: c.plugins.filter((p) => p.type !== 'portmap') });
      for (let i = 0; i < pods.length; i++) await checker.check(pods[i]!, results[i]!);
      expect((await assignments(ipamd)).map((a) => a.ip).sort()).toEqual([...ips].sort());

      for (let i = 0; i < pods.length; i++) {
        await delPod(chain, pods[i]!, results[i]!);
        await delPod(chain, pods[i]!, results[i]!);
      }
      expect(await leftovers(pods.map((p) => p.containerId))).toEqual([]);
      expect((await linkNames()).filter((n) => n.startsWith('bwp'))).toEqual(bwpBefore);
      expect(await assignments(ipamd)).toEqual([]);
    },
  );

  it(
    'speaks 1.1.0 on its own: interface MTUs in the result, STATUS ready, GC releases what is not ' + 'listed',
    async () => {
      const chain = runner(conflist(ipamd, '1.1.0', false));
      const pods = [await newPod(), await newPod(), await newPod()];
      const results = [];
      for (const p of pods) results.push(await addPod(chain, p));
      expect((results[0]!.interfaces as Array<{ mtu?: number }>).every((i) => i.mtu === 9001)).toBe(true);
      const [status] = await chain.status();
      expect(status!.code, status!.stdout).toBe(0);
      expect(status!.stdout).toBe('');

      const [gc] = await chain.gc([{ containerID: pods[0]!.containerId, ifname: 'eth0' }]);
      expect(gc!.code, gc!.stdout).toBe(0);
      expect((await assignments(ipamd)).map((a) => a.containerId)).toEqual([pods[0]!.containerId]);
      expect(await leftovers([pods[1]!.containerId, pods[2]!.containerId])).toEqual([]);
      expect(await ping(podIp(results[0]!))).toBe(true);
      live.delete(pods[1]!.containerId);
      live.delete(pods[2]!.containerId);
      await delPod(chain, pods[0]!, results[0]!);
      expect(await assignments(ipamd)).toEqual([]);
    },
  );

  it('keeps the pool consistent through 50 concurrent ADDs then 50 concurrent DELs', async () => {
    const chain = runner(conflist(ipamd, '1.1.0', false));
    const pods = await Promise.all(Array.from({ length: 50 }, () => newPod()));
    const results = await Promise.all(pods.map((p) => addPod(chain, p)));
    const ips = results.map(podIp);
    expect(new Set(ips).size).toBe(50);
    const held = await assignments(ipamd);
    expect(held).toHaveLength(50);
    expect(new Set(held.map((a) => a.ip))).toEqual(new Set(ips));
    // Beyond the first interface's addresses, Pods sit on a secondary interface: policy rule per Pod.
    const ours = (await rules()).filter((r) => r.priority === 1536 && r.src && ips.includes(r.src));
    expect(ours.length).toBeGreaterThan(0);
    for (const r of ours) expect(Number(r.table)).toBeGreaterThanOrEqual(2);
    const sample = [ips[0]!, ips[24]!, ips[49]!];
    for (const ip of sample) expect(await ping(ip), `ping ${ip}`).toBe(true);

    await Promise.all(pods.map((p, i) => delPod(chain, p, results[i]!)));
    expect(await assignments(ipamd)).toEqual([]);
    expect(await leftovers(pods.map((p) => p.containerId))).toEqual([]);
    const pool = await getJson<{ assigned: number; total: number; available: number }>(ipamd, '/v1/pool');
    expect(pool.assigned).toBe(0);
    expect(pool.available + (pool as unknown as { cooling: number }).cooling).toBe(pool.total);
    // ~100 plugin processes of ~0.1 s CPU each on 2 shared cores: generous on purpose.
  }, 240_000);

  it('DEL with ipamd down tears the host side down, spools the release, and ipamd replays it', async () => {
    const h = await startDaemon(daemonEnv());
    daemons.push(h);
    const chain = runner(conflist(h, '1.1.0', false));
    const pod = await newPod();
    const result = await addPod(chain, pod);
    await kill(h, 'SIGKILL');
    const [del] = await chain.del(pod, result);
    expect(del!.code).toBe(0);
    live.delete(pod.containerId);
    expect(await leftovers([pod.containerId])).toEqual([]);
    const spool = path.join(path.dirname(h.socket), 'pending-release');
    expect(fs.readdirSync(spool)).toEqual([`vpc-net__${pod.containerId}__eth0.json`]);
    // A second DEL while still down is fine too.
    expect((await chain.del(pod, result))[0]!.code).toBe(0);

    const back = await startDaemon({}, h);
    daemons.push(back);
    expect(await assignments(back)).toEqual([]);
    expect(fs.readdirSync(spool)).toEqual([]);
  }, 90_000);

  it('STATUS is 50 when ipamd is unreachable or its pool is empty and cannot grow; ADD is then 11', async () => {
    const h = await startDaemon(
      daemonEnv({ VPC_IPAM_SIM_INSTANCE_TYPE: 't3.nano', MAX_ENI: '1', VPC_IPAM_ADD_WAIT_SECONDS: '1' }),
    );
    daemons.push(h);
    const chain = runner(conflist(h, '1.1.0', false));
    const added: Array<[Attachment, Record<string, unknown>]> = [];
    let exhausted: Record<string, unknown> | undefined;
    for (let i = 0; i < 8 && !exhausted; i++) {
      const pod = await newPod();
      const run = await runPlugin(
        plugin,
        cniEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: pod.containerId, CNI_NETNS: pod.netns, CNI_IFNAME: 'eth0' }),
        {
          ...conflist(h, '1.1.0', false).plugins[0],
          cniVersion: '1.1.0',
          name: 'vpc-net',
          addWaitMs: 500,
        },
      );
      if (run.code === 0) {
        added.push([pod, run.json!]);
        live.set(pod.containerId, { chain, pod, result: run.json! });
      } else exhausted = run.json;
    }
    expect(exhausted).toMatchObject({ code: 11 });
    const [status] = await chain.status();
    expect(status!.json).toMatchObject({
      cniVersion: '1.1.0',
      code: 50,
      msg: expect.any(String),
      details: expect.stringContaining('not ready'),
    });
    for (const [p, r] of added) await delPod(chain, p, r);
    expect((await chain.status())[0]!.code).toBe(0);
    await kill(h, 'SIGKILL');
    const [down] = await chain.status();
    expect(down!.json).toMatchObject({ code: 50 });
  }, 90_000);

  it('the single executable ignores NODE_OPTIONS and NODE_EXTRA_CA_CERTS', async () => {
    const env = {
      ...cniEnv({ CNI_COMMAND: 'VERSION' }),
      NODE_OPTIONS: '--require /nonexistent/preload.cjs',
      NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem',
    };
    const r = await runPlugin(plugin, env, '{"cniVersion":"1.1.0"}');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] });
  });

  it('left no namespace of its own behind except the ones afterAll removes', async () => {
    expect((await listNetns(NS)).length).toBe(seq);
  });
});
