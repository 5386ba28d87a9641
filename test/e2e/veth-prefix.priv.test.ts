/**
 * AWS_VPC_K8S_CNI_VETHPREFIX and DISABLE_TCP_EARLY_DEMUX against the kernel: the real ipamd (sim cloud, netlink
 * plumbing) and the plugin's single executable wire Pods with prefix `eni`, named as the AWS CNI names them; the node's
 * netfilter rules match `-i eni+` (and the former `vpc+` while a Pod wired before the change is assigned); DEL
 * through ipamd and through the plugin's offline path removes them, and a Pod wired under the old prefix too.
 * Runs in a throwaway host netns (test/priv-setup.ts). Pod namespaces `vpcit-<owner>-veth-*`, container IDs
 * `veth<pid>-*`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostVethName } from '../../cni/contract/veth-name.js';
import { parseHostNetwork } from '../../ipamd/config.js';
import { NodeNetfilter } from '../../ipamd/netns/netfilter.js';
import { NodeNetworkSync } from '../../ipamd/netns/node-network.js';
import { NoopPlumber } from '../../ipamd/netns/plumber.js';
import type { NodeInventory } from '../../providers/types.js';
import { ChainRunner, type Attachment, type ConfList } from '../cni/chain-runner.js';
import {
  addNetns,
  deleteLinks,
  deleteNetnsWithPrefix,
  deleteRules,
  isRoot,
  linkNames,
  podNsPrefix,
  routes,
  runSubnet,
} from '../cni/netns-tools.js';
import { shimPlugin, type PluginCommand } from '../cni/plugin-process.js';
import { kill, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';
import { keptVethsGone } from '../helpers/kept-veths.js';

const root = isRoot();
if (!root) console.log('skipping test/e2e/veth-prefix.priv.test.ts: needs root (netns, veth, routes, iptables)');

const NS = podNsPrefix('veth');
const CID = `veth${process.pid}-`;
const { cidr: SUBNET, contains: inSubnet } = runSubnet(11);
const daemons: DaemonHandle[] = [];
const made: string[] = [];
let plugin: PluginCommand;

const daemonEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  VPC_IPAM_PLUMBING: 'on',
  VPC_IPAM_SIM_SUBNET_CIDR: SUBNET,
  VPC_IPAM_SIM_INSTANCE_TYPE: 'm5.4xlarge',
  VPC_IPAM_METRICS_ADDRESS: 'off',
  ...extra,
});

/** The entry ipamd's conflist writer makes with the prefix set: `vethPrefix`, the AWS CNI's field. */
function conflist(h: DaemonHandle, vethPrefix?: string): ConfList {
  const ours = { type: 'vpc-ipam', ipamdSocket: h.socket, logFile: path.join(h.dir, 'cni.log'), logLevel: 'debug' };
  return { cniVersion: '1.1.0', name: 'vpc-net', plugins: [vethPrefix ? { ...ours, vethPrefix } : ours] };
}
const runner = (c: ConfList) => new ChainRunner(c, () => plugin);

let seq = 0;
async function newPod(): Promise<Attachment & { name: string }> {
  const n = seq++;
  made.push(`${CID}${n}`);
  const name = `web-${n}`;
  return {
    containerId: `${CID}${n}`,
    netns: await addNetns(`${NS}${n}`),
    ifName: 'eth0',
    args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=${name};K8S_POD_UID=uid-${n}`,
    name,
  };
}
/** Computed here, not by the code under test: the AWS CNI's `eni` + sha1("e2e.<name>")[:11]. */
const awsName = (name: string) => `eni${createHash('sha1').update(`e2e.${name}`).digest('hex').slice(0, 11)}`;
const hostIfOf = (result: Record<string, unknown>) =>
  (result.interfaces as Array<{ name: string; sandbox?: string }>).find((i) => !i.sandbox)!.name;
const podIp = (result: Record<string, unknown>) =>
  (result.ips as Array<{ address: string }>)[0]!.address.split('/')[0]!;
/** The host veth exists and routes the Pod's address. */
const wiredOn = async (hostIf: string, result: Record<string, unknown>) =>
  (await linkNames()).includes(hostIf) && (await routes()).some((r) => r.dst === podIp(result) && r.dev === hostIf);
const iptablesS = (table: string) => execFileSync('iptables', ['-w', '5', '-t', table, '-S'], { encoding: 'utf8' });

describe.skipIf(!root)('host veth prefix eni (root)', () => {
  let eni: DaemonHandle;

  beforeAll(async () => {
    // The single executable: its offline DEL loads netlink's native addon, which a bare bundle cannot.
    plugin = await shimPlugin(); // what the runtime execs
    eni = await startDaemon(daemonEnv({ AWS_VPC_K8S_CNI_VETHPREFIX: 'eni' }));
    daemons.push(eni);
  }, 180_000);

  afterAll(async () => {
    for (const h of daemons) await kill(h, 'SIGKILL');
    const names = await linkNames();
    await deleteLinks(names.filter((n) => /^(eni|vpc)[0-9a-f]{11}$/.test(n)));
    await deleteRules(inSubnet);
    await deleteNetnsWithPrefix(NS);
    for (const h of daemons) fs.rmSync(h.dir, { recursive: true, force: true });
  }, 60_000);

  it('names the host veth eni + sha1(namespace.name), as the AWS CNI; DEL through ipamd removes it', async () => {
    const chain = runner(conflist(eni, 'eni'));
    const pod = await newPod();
    const { result } = await chain.add(pod);
    const hostIf = hostIfOf(result);
    expect(hostIf).toBe(awsName(pod.name));
    expect(await wiredOn(hostIf, result)).toBe(true);
    await chain.del(pod, result);
    await keptVethsGone(linkNames, [hostIf]);
    expect(await linkNames()).not.toContain(hostIf);
  }, 60_000);

  it('a late DEL of an old sandbox leaves the veth of the recreated Pod (same name) alone', async () => {
    const chain = runner(conflist(eni, 'eni'));
    const first = await newPod();
    const { result: r1 } = await chain.add(first);
    // A StatefulSet Pod recreated: same namespace and name, a new sandbox, before the old one's DEL.
    const second = { ...(await newPod()), args: first.args!, name: first.name };
    const { result: r2 } = await chain.add(second);
    const hostIf = hostIfOf(r2);
    expect(hostIf).toBe(hostIfOf(r1));
    await chain.del(first, r1);
    expect(await wiredOn(hostIf, r2)).toBe(true);
    await chain.del(second, r2);
    await keptVethsGone(linkNames, [hostIf]);
    expect(await linkNames()).not.toContain(hostIf);
  }, 60_000);

  it('node netfilter matches -i eni+, and -i vpc+ while a Pod wired before the change is assigned', async () => {
    const node: NodeInventory = {
      instanceId: 'i-veth',
      instanceType: 'm5.large',
      zone: 'z',
      vpcId: 'vpc-1',
      vpcCidrs: ['10.0.0.0/8'],
      interfaces: [
        {
          id: 'eni-0',
          deviceIndex: 0,
          mac: '02:00:00:00:00:01',
          subnetId: 's',
          subnetCidr: SUBNET,
          primaryIp: '198.51.100.2',
          securityGroups: [],
          blocks: [],
          tags: {},
        },
      ],
    };
    const old = { containerId: `${CID}old`, ifName: 'eth0', pod: { namespace: 'e2e', name: 'old' } };
    const oldVeth = hostVethName(old.containerId, old.ifName);
    execFileSync('ip', ['link', 'add', oldVeth, 'type', 'veth', 'peer', 'name', `${oldVeth.slice(0, 12)}p`]);
    const assigned = [old];
    // The throwaway host's uplink is eth0 (test/priv-setup.ts): NodePort support needs its name.
    const plumber = Object.assign(new NoopPlumber(), {
      setUpNodeRouting: async () => ({ primaryIf: 'eth0', changed: [] }),
    });
    const netfilter = new NodeNetfilter({ mode: 'auto' });
    const sync = new NodeNetworkSync({
      plumber,
      netfilter,
      settings: parseHostNetwork({ AWS_VPC_K8S_CNI_VETHPREFIX: 'eni', DISABLE_TCP_EARLY_DEMUX: 'true' }),
      log: { info: () => {}, warn: () => {}, error: () => {} },
      now: () => 0,
      assigned: () => assigned,
    });
    try {
      await sync.ensure(node);
      expect(sync.state().problems).toEqual([]);
      let mangle = iptablesS('mangle');
      expect(mangle).toMatch(/-A VPC-IPAM-NODEPORT -i eni\+ .*--restore-mark/);
      expect(mangle).toMatch(/-A VPC-IPAM-NODEPORT -i vpc\+ .*--restore-mark/);
      // Our nat chain matches no input interface (the AWS CNI's nat connmark chain is not ours to copy).
      expect(iptablesS('nat')).not.toMatch(/-i vpc\+/);
      // Sync reads: /proc/sys/net is this thread's namespace, the throwaway host's.
      expect(fs.readFileSync('/proc/sys/net/ipv4/tcp_early_demux', 'utf8').trim()).toBe('0');

      assigned.pop();
      await sync.ensure(node);
      mangle = iptablesS('mangle');
      expect(mangle).toMatch(/-i eni\+/);
      expect(mangle).not.toMatch(/-i vpc\+/);
      await sync.ensure(node);
      expect(iptablesS('mangle').match(/-i eni\+/g)).toHaveLength(1);
    } finally {
      await sync.remove();
      fs.writeFileSync('/proc/sys/net/ipv4/tcp_early_demux', '1\n');
      await deleteLinks([oldVeth]);
    }
  }, 60_000);

  it('a Pod wired before the prefix changed is still torn down by DEL after the restart', async () => {
    const before = await startDaemon(daemonEnv());
    daemons.push(before);
    const pod = await newPod();
    const { result } = await runner(conflist(before)).add(pod);
    const oldIf = hostIfOf(result);
    expect(oldIf).toBe(hostVethName(pod.containerId, 'eth0'));
    await kill(before, 'SIGTERM');
    // The same state directory (checkpoint) and environment, but for the prefix.
    const after = await startDaemon({}, { ...before, env: { ...before.env, AWS_VPC_K8S_CNI_VETHPREFIX: 'eni' } });
    daemons.push(after);
    // No prevResult: ipamd alone has to find the veth, whose name it no longer computes.
    await runner(conflist(after, 'eni')).del(pod);
    expect((await routes()).some((r) => r.dst === podIp(result))).toBe(false);
    await keptVethsGone(linkNames, [oldIf]);
    expect(await linkNames()).not.toContain(oldIf);
  }, 120_000);

  it("the plugin's offline DEL (ipamd down) removes an eni veth too", async () => {
    const h = await startDaemon(daemonEnv({ AWS_VPC_K8S_CNI_VETHPREFIX: 'eni' }));
    daemons.push(h);
    const chain = runner(conflist(h, 'eni'));
    const pod = await newPod();
    const { result } = await chain.add(pod);
    const hostIf = hostIfOf(result);
    expect(hostIf).toBe(awsName(pod.name));
    await kill(h, 'SIGKILL');
    const [del] = await chain.del(pod, result);
    expect(del!.code).toBe(0);
    expect(await linkNames()).not.toContain(hostIf);
    const spool = path.join(path.dirname(h.socket), 'pending-release');
    expect(fs.readdirSync(spool)).toEqual([`vpc-net__${pod.containerId}__eth0.json`]);
  }, 120_000);
});
