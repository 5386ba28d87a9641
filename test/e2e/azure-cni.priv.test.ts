/**
 * Privileged end-to-end run on Azure (emulated): the real ipamd with the
 * azure adapter and netlink plumbing, the built CNI plugin executed as a
 * runtime does, Pods in network namespaces. ADD grows the NIC's
 * ipConfigurations, the Pod gets one of them, traffic flows; DEL gives it
 * back and the pool shrinks the NIC again. Needs root; skips with a reason
 * otherwise. Runs in a throwaway host netns (test/priv-setup.ts). Pod netns are
 * named `vpcit-<owner>-az-*`, container IDs `az<pid>-*`, and afterAll removes
 * them, their veths and rules even when a test failed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostVethName } from '../../ipamd/netns/plumber.js';
import type { AzureEmulator } from '../../providers/azure/emulator/index.js';
import { ChainRunner, type Attachment, type ConfList } from '../cni/chain-runner.js';
import {
  addNetns,
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
import { cloudIpconfigs, emulator } from '../providers/azure/helpers.js';

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
  return { containerId, netns: await addNetns(`${NS}${n}`), ifName: 'eth0', args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=az;K8S_POD_NAME=pod-${n}` };
}

const podIp = (r: Record<string, unknown>) => (r.ips as Array<{ address: string }>)[0]!.address.split('/')[0]!;
const cloudIps = () => [...cloudIpconfigs(emu).values()].filter((c) => c.state === 'Succeeded').map((c) => c.ip);

async function until<T>(what: () => Promise<T> | T, pred: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await what();
    if (pred(v)) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!root)('vpc-ipam CNI plugin on Azure (emulated, root)', () => {
  beforeAll(async () => {
    plugin = await bundledPlugin();
    emu = await emulator({ subnetCidr: SUBNET });
    ipamd = await startDaemon({
      VPC_IPAM_PROVIDER: 'azure',
      AZURE_ARM_ENDPOINT: emu.url,
      AZURE_IMDS_ENDPOINT: emu.url,
      AZURE_LRO_POLL_INTERVAL_MS: '20',
      VPC_IPAM_PLUMBING: 'on',
      VPC_IPAM_METRICS_ADDRESS: 'off',
      WARM_IP_TARGET: '2',
      IP_COOLDOWN_PERIOD: '0',
      VPC_IPAM_SHRINK_INTERVAL_SECONDS: '0',
      VPC_IPAM_RECONCILE_INTERVAL_SECONDS: '1',
    });
    const conf: ConfList = { cniVersion: '1.0.0', name: 'vpc-net', plugins: [{ type: 'vpc-ipam', ipamdSocket: ipamd.socket, mtu: 1500, logFile: path.join(ipamd.dir, 'cni.log') }] };
    chain = new ChainRunner(conf, () => plugin);
  }, 180_000);

  afterAll(async () => {
    if (ipamd) await kill(ipamd, 'SIGKILL');
    await emu?.close();
    await deleteLinks([...containerIds].map((id) => hostVethName(id, 'eth0')));
    await deleteRules(inSubnet);
    await deleteNetnsWithPrefix(NS);
    if (ipamd) fs.rmSync(ipamd.dir, { recursive: true, force: true });
    if (plugin?.[1]) fs.rmSync(path.dirname(plugin[1]), { recursive: true, force: true });
  }, 60_000);

  it('ADD gives Pods NIC ipConfiguration addresses that route; DEL returns them and the NIC shrinks back', async () => {
    await until(() => getJson<{ total: number }>(ipamd, '/v1/pool'), (p) => p.total === 2);
    const pods = await Promise.all([0, 1, 2, 3].map(newPod));
    const results: Array<Record<string, unknown>> = [];
    for (const p of pods) results.push((await chain.add(p)).result);
    const ips = results.map(podIp);
    expect(new Set(ips).size).toBe(4);
    for (const ip of ips) expect(inSubnet(ip), ip).toBe(true);
    // Every Pod address is a succeeded ipConfiguration of the node's NIC.
    for (const ip of ips) expect(cloudIps()).toContain(ip);
    expect(results[0]).toMatchObject({ ips: [{ address: `${ips[0]}/32`, gateway: '169.254.1.1' }], routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }] });
    for (const ip of ips) expect(await ping(ip), `ping ${ip}`).toBe(true);
    // The pool refills its warm addresses on the NIC: 4 in use + 2 warm.
    await until(() => cloudIps().length, (n) => n === 6);

    for (let i = 0; i < pods.length; i++) await chain.del(pods[i]!, results[i]!);
    const names = new Set(await linkNames());
    expect(pods.map((p) => hostVethName(p.containerId, 'eth0')).filter((n) => names.has(n))).toEqual([]);
    expect((await rules()).filter((r) => r.src && ips.includes(r.src))).toEqual([]);
    // Back to WARM_IP_TARGET: the NIC gives the freed ipConfigurations back to the subnet.
    await until(() => cloudIps().length, (n) => n === 2);
    const pool = await until(() => getJson<{ total: number; assigned: number }>(ipamd, '/v1/pool'), (p) => p.total === 2);
    expect(pool.assigned).toBe(0);
  }, 120_000);
});
