/**
 * Privileged end-to-end run on GCE (emulated): the real ipamd with the gcp
 * adapter and netlink plumbing, the built CNI plugin executed as a runtime
 * does, Pods in network namespaces. ADD grows nic0's alias ranges, each Pod
 * gets an address of one of them, traffic flows; DEL gives the addresses
 * back and the pool shrinks nic0 again. Needs root; skips with a reason
 * otherwise. Runs in a throwaway host netns (test/priv-setup.ts). Pod netns are
 * named `vpcit-<owner>-gc-*`, container IDs `gc<pid>-*`, and afterAll removes
 * them, their veths and rules even when a test failed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostVethName } from '../../cni/contract/veth-name.js';
import { containsAddress } from '../../providers/net/cidr.js';
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
import { cloudRanges, gce, type TestEmulator } from '../providers/gcp/helpers.js';
import { until } from '../helpers/eventually.js';
import { keptVethsGone } from '../helpers/kept-veths.js';

const root = isRoot();
if (!root) console.log('skipping test/e2e/gcp-cni.priv.test.ts: needs root (network namespaces, veth, ip rules)');

const NS = podNsPrefix('gc');
const CID = `gc${process.pid}-`;
// A Pods range no other test file uses, so rule cleanup cannot touch theirs.
const PODS = '10.44.96.0/24';
const inPods = (ip: string) => containsAddress(PODS, ip);
const containerIds = new Set<string>();
let t: TestEmulator;
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
    args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=gc;K8S_POD_NAME=pod-${n}`,
  };
}

const podIp = (r: Record<string, unknown>) => (r.ips as Array<{ address: string }>)[0]!.address.split('/')[0]!;

/** Polls `read` until `holds` (the deadline only guards a hang, under the test's own timeout). */
describe.skipIf(!root)('vpc-ipam CNI plugin on GCE (emulated, root)', () => {
  beforeAll(async () => {
    plugin = await bundledPlugin();
    t = await gce({ podsCidr: PODS });
    ipamd = await startDaemon({
      VPC_IPAM_PROVIDER: 'gcp',
      GCP_COMPUTE_ENDPOINT: t.emu.url,
      GCE_METADATA_HOST: t.emu.host,
      GCP_ACCESS_TOKEN: 'cni-e2e',
      VPC_IPAM_PLUMBING: 'on',
      VPC_IPAM_METRICS_ADDRESS: 'off',
      IP_COOLDOWN_PERIOD: '0',
      VPC_IPAM_SHRINK_INTERVAL_SECONDS: '0',
      VPC_IPAM_RECONCILE_INTERVAL_SECONDS: '1',
    });
    const conf: ConfList = {
      cniVersion: '1.0.0',
      name: 'vpc-net',
      plugins: [{ type: 'vpc-ipam', ipamdSocket: ipamd.socket, mtu: 1460, logFile: path.join(ipamd.dir, 'cni.log') }],
    };
    chain = new ChainRunner(conf, () => plugin);
  }, 180_000);

  afterAll(async () => {
    if (ipamd) await kill(ipamd, 'SIGKILL');
    await t?.emu.close();
    await deleteLinks([...containerIds].map((id) => hostVethName(id, 'eth0')));
    await deleteRules(inPods);
    await deleteNetnsWithPrefix(NS);
    if (ipamd) fs.rmSync(ipamd.dir, { recursive: true, force: true });
    if (plugin?.[1]) fs.rmSync(path.dirname(plugin[1]), { recursive: true, force: true });
  }, 60_000);

  it('ADD gives Pods addresses of nic0 alias ranges that route; DEL returns them and nic0 shrinks back', async () => {
    await until(
      () => getJson<{ total: number }>(ipamd, '/v1/pool'),
      (p) => p.total === 16,
    );
    // 20 Pods need two /28s, and WARM_PREFIX_TARGET=1 keeps a third unused.
    const pods = await Promise.all(Array.from({ length: 20 }, (_, i) => newPod(i)));
    const results: Array<Record<string, unknown>> = [];
    for (const p of pods) results.push((await chain.add(p)).result);
    const ips = results.map(podIp);
    expect(new Set(ips).size).toBe(20);
    for (const ip of ips) expect(inPods(ip), ip).toBe(true);
    const ranges = await until(
      () => cloudRanges(t),
      (r) => r.length === 3,
    );
    for (const ip of ips)
      expect(
        ranges.some((c) => containsAddress(c, ip)),
        `${ip} in an alias range of nic0`,
      ).toBe(true);
    expect(results[0]).toMatchObject({
      ips: [{ address: `${ips[0]}/32`, gateway: '169.254.1.1' }],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
    });
    for (const ip of [ips[0]!, ips[10]!, ips[19]!]) expect(await ping(ip), `ping ${ip}`).toBe(true);

    for (let i = 0; i < pods.length; i++) await chain.del(pods[i]!, results[i]!);
    await keptVethsGone(
      linkNames,
      pods.map((p) => hostVethName(p.containerId, 'eth0')),
    );
    const names = new Set(await linkNames());
    expect(pods.map((p) => hostVethName(p.containerId, 'eth0')).filter((n) => names.has(n))).toEqual([]);
    expect((await rules()).filter((r) => r.src && ips.includes(r.src))).toEqual([]);
    // Back to one unused /28: the other alias ranges are removed from nic0.
    await until(
      () => cloudRanges(t).length,
      (n) => n === 1,
    );
    const pool = await until(
      () => getJson<{ total: number; assigned: number }>(ipamd, '/v1/pool'),
      (p) => p.total === 16,
    );
    expect(pool.assigned).toBe(0);
  }, 120_000);
});
