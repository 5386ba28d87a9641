/**
 * Privileged end-to-end run on Azure (emulated): the real ipamd with the
 * azure adapter and netlink plumbing, the built CNI plugin executed as a
 * runtime does, Pods in network namespaces. ADD grows the NIC's
 * ipConfigurations, the Pod gets one of them, traffic flows; DEL gives it
 * back and the pool shrinks the NIC again. With AZURE_POD_SUBNET_ID, Pods
 * get addresses of the VM's second NIC (created with the VM in the Pod
 * subnet): its host link (found by MAC) gets route table 2 and the Pods'
 * from-rules point there. Needs root; skips with a reason otherwise. Runs
 * in a throwaway host netns (test/priv-setup.ts). Pod netns are named
 * `vpcit-<owner>-az-*`, container IDs `az<pid>-*`, and afterAll removes
 * them, their veths and rules even when a test failed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostVethName } from '../../cni/contract/veth-name.js';
import type { AzureEmulator } from '../../providers/azure/emulator/index.js';
import { ChainRunner, type Attachment, type ConfList } from '../cni/chain-runner.js';
import {
  addNetns,
  ip,
  ipJson,
  deleteLinks,
  deleteNetnsWithPrefix,
  deleteRules,
  isRoot,
  linkNames,
  ping,
  podNsPrefix,
  rules,
} from '../cni/netns-tools.js';
import { bundledPlugin, type PluginCommand } from '../cni/plugin-process.js';
import { getJson, kill, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';
import { cloudIpconfigs, emulator, PODS_ID, withPodNic } from '../providers/azure/helpers.js';
import { until } from '../helpers/eventually.js';
import { keptVethsGone } from '../helpers/kept-veths.js';

const root = isRoot();
if (!root) console.log('skipping test/e2e/azure-cni.priv.test.ts: needs root (network namespaces, veth, ip rules)');

const NS = podNsPrefix('az');
const CID = `az${process.pid}-`;
// A subnet no other test file uses, so rule cleanup cannot touch theirs.
const SUBNET = '10.240.96.0/24';
const inSubnet = (ip: string) => ip.startsWith('10.240.96.');
const containerIds = new Set<string>();
let emu: AzureEmulator;
let ipamd: DaemonHandle;
let plugin: PluginCommand;
let chain: ChainRunner;

async function newPod(n: number): Promise<Attachment> {
  const containerId = `${CID}${n}`;
  containerIds.add(containerId);
  return {
    containerId,
    netns: await addNetns(`${NS}${n}`),
    ifName: 'eth0',
    args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=az;K8S_POD_NAME=pod-${n}`,
  };
}

const podIp = (r: Record<string, unknown>) => (r.ips as Array<{ address: string }>)[0]!.address.split('/')[0]!;
const cloudIps = () => [...cloudIpconfigs(emu).values()].filter((c) => c.state === 'Succeeded').map((c) => c.ip);

/** Polls `read` until `holds` (the deadline only guards a hang, under the test's own timeout). */
/** ipamd with netlink plumbing against `e`, and a CNI chain of the bundled plugin that talks to it. */
async function plumbedDaemon(e: AzureEmulator, bundle: PluginCommand, extra: Record<string, string> = {}) {
  const daemon = await startDaemon({
    VPC_IPAM_PROVIDER: 'azure',
    AZURE_ARM_ENDPOINT: e.url,
    AZURE_IMDS_ENDPOINT: e.url,
    AZURE_LRO_POLL_INTERVAL_MS: '20',
    VPC_IPAM_PLUMBING: 'on',
    VPC_IPAM_METRICS_ADDRESS: 'off',
    WARM_IP_TARGET: '2',
    IP_COOLDOWN_PERIOD: '0',
    VPC_IPAM_SHRINK_INTERVAL_SECONDS: '0',
    VPC_IPAM_RECONCILE_INTERVAL_SECONDS: '1',
    ...extra,
  });
  const logFile = path.join(daemon.dir, 'cni.log');
  const plugins = [{ type: 'vpc-ipam', ipamdSocket: daemon.socket, mtu: 1500, logFile }];
  const conf: ConfList = { cniVersion: '1.0.0', name: 'vpc-net', plugins };
  return { daemon, chain: new ChainRunner(conf, () => bundle) };
}

/** Removes what a block made, even when a test failed: daemon, emulator, veths, rules, namespaces, bundle. */
interface Made {
  daemon?: DaemonHandle;
  emu?: AzureEmulator;
  bundle?: PluginCommand;
  /** Pod addresses whose rules are ours. */
  match: (a: string) => boolean;
}

async function cleanUp(o: Made) {
  if (o.daemon) await kill(o.daemon, 'SIGKILL');
  await o.emu?.close();
  await deleteLinks([...containerIds].map((id) => hostVethName(id, 'eth0')));
  await deleteRules(o.match);
  await deleteNetnsWithPrefix(NS);
  if (o.daemon) fs.rmSync(o.daemon.dir, { recursive: true, force: true });
  if (o.bundle?.[1]) fs.rmSync(path.dirname(o.bundle[1]), { recursive: true, force: true });
}

describe.skipIf(!root)('vpc-ipam CNI plugin on Azure (emulated, root)', () => {
  beforeAll(async () => {
    plugin = await bundledPlugin();
    emu = await emulator({ subnetCidr: SUBNET });
    ({ daemon: ipamd, chain } = await plumbedDaemon(emu, plugin));
  }, 180_000);

  afterAll(() => cleanUp({ daemon: ipamd, emu, bundle: plugin, match: inSubnet }), 60_000);

  it('ADD gives Pods NIC ipConfiguration addresses that route; DEL returns them and the NIC shrinks back', async () => {
    await until(
      () => getJson<{ total: number }>(ipamd, '/v1/pool'),
      (p) => p.total === 2,
    );
    const pods = await Promise.all([0, 1, 2, 3].map(newPod));
    const results: Array<Record<string, unknown>> = [];
    for (const p of pods) results.push((await chain.add(p)).result);
    const ips = results.map(podIp);
    expect(new Set(ips).size).toBe(4);
    for (const ip of ips) expect(inSubnet(ip), ip).toBe(true);
    // Every Pod address is a succeeded ipConfiguration of the node's NIC.
    for (const ip of ips) expect(cloudIps()).toContain(ip);
    expect(results[0]).toMatchObject({
      ips: [{ address: `${ips[0]}/32`, gateway: '169.254.1.1' }],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
    });
    for (const ip of ips) expect(await ping(ip), `ping ${ip}`).toBe(true);
    // The pool refills its warm addresses on the NIC: 4 in use + 2 warm.
    await until(
      () => cloudIps().length,
      (n) => n === 6,
    );

    for (let i = 0; i < pods.length; i++) await chain.del(pods[i]!, results[i]!);
    await keptVethsGone(
      linkNames,
      pods.map((p) => hostVethName(p.containerId, 'eth0')),
    );
    const names = new Set(await linkNames());
    expect(pods.map((p) => hostVethName(p.containerId, 'eth0')).filter((n) => names.has(n))).toEqual([]);
    expect((await rules()).filter((r) => r.src && ips.includes(r.src))).toEqual([]);
    // Back to WARM_IP_TARGET: the NIC gives the freed ipConfigurations back to the subnet.
    await until(
      () => cloudIps().length,
      (n) => n === 2,
    );
    const pool = await until(
      () => getJson<{ total: number; assigned: number }>(ipamd, '/v1/pool'),
      (p) => p.total === 2,
    );
    expect(pool.assigned).toBe(0);
  }, 120_000);
});

describe.skipIf(!root)('vpc-ipam CNI plugin on Azure with a Pod NIC (emulated, root)', () => {
  // Subnets of their own (see SUBNET above), and the host's second link, which carries the Pod NIC's MAC.
  const POD_SUBNET = '10.240.98.0/24';
  const inPods = (a: string) => a.startsWith('10.240.98.');
  const LINK = `vpcaz${process.pid % 100000}`;
  let podEmu: AzureEmulator;
  let d: DaemonHandle;
  let podChain: ChainRunner;
  let podPlugin: PluginCommand;

  beforeAll(async () => {
    // A bundle of its own: the block above removes its bundle when it ends.
    podPlugin = await bundledPlugin();
    podEmu = await emulator({ subnetCidr: '10.240.97.0/24', ...withPodNic(POD_SUBNET) });
    const mac = podEmu.world.nic('node1-pod-nic')!.mac;
    await ip('link', 'add', LINK, 'address', mac, 'type', 'veth', 'peer', 'name', `${LINK}p`);
    await ip('link', 'set', `${LINK}p`, 'up');
    ({ daemon: d, chain: podChain } = await plumbedDaemon(podEmu, podPlugin, { AZURE_POD_SUBNET_ID: PODS_ID }));
  }, 180_000);

  afterAll(async () => {
    await cleanUp({ daemon: d, emu: podEmu, bundle: podPlugin, match: inPods });
    await deleteLinks([LINK]);
  }, 60_000);

  it('gives Pods addresses of the Pod NIC, routed through its table 2 on the link with its MAC', async () => {
    type Links = { hostLinks: Array<{ deviceIndex: number; routeTable: number; state: string; mac: string }> };
    const configured = (v: Links) => v.hostLinks.some((l) => l.state === 'configured');
    const { hostLinks } = await until(() => getJson<Links>(d, '/v1/nics'), configured);
    const mac = podEmu.world.nic('node1-pod-nic')!.mac;
    expect(hostLinks).toEqual([expect.objectContaining({ deviceIndex: 1, routeTable: 2, mac })]);
    const table2 = await ipJson<Array<{ dst: string; gateway?: string; dev?: string }>>('route', 'show', 'table', '2');
    expect(table2).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.240.98.1', dev: LINK }));
    const pod = await newPod(10);
    const result = (await podChain.add(pod)).result;
    const addr = podIp(result);
    expect(inPods(addr), addr).toBe(true);
    expect([...cloudIpconfigs(podEmu, 'node1-pod-nic').values()].map((c) => c.ip)).toContain(addr);
    expect(cloudIpconfigs(podEmu, 'node1-nic').size).toBe(0);
    const fromPod = (await rules()).filter((r) => r.src === addr);
    expect(fromPod).toEqual([expect.objectContaining({ priority: 1536, table: '2' })]);
    expect(await ping(addr), `ping ${addr}`).toBe(true);
    await podChain.del(pod, result);
    expect((await rules()).filter((r) => r.src === addr)).toEqual([]);
  }, 120_000);
});
