/**
 * Privileged end-to-end test of the in-place migration from aws-node (ipamd/adopt/): Pods wired by hand in the
 * AWS VPC CNI's exact formats (./adopt/aws-node-wiring.ts: veths, rules 512/1536, its iptables chains, its
 * ipam.json), their addresses on the node's ENIs in the AWS EC2 emulator (one tagged by aws-node as its own),
 * then our ipamd started with VPC_IPAM_ADOPT_AWS_NODE=true in this file's throwaway host namespace
 * (test/priv-setup.ts), which plays the node: its eth0 carries the primary ENI's MAC.
 * Checked: every adopted Pod keeps its address and answers (from the node and from another Pod) across the swap;
 * aws-node's chains give way to ours; DEL through our plugin of an adopted Pod removes its veth and rules and frees
 * the address; a new ADD gets no adopted address; a second start changes nothing; a refusal; the rollback file.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdoptionRefusedError } from '../../ipamd/adopt/errors.js';
import { parseAwsCheckpoint } from '../../ipamd/adopt/aws-checkpoint.js';
import { awsHostVethName } from '../../cni/contract/veth-name.js';
import type { AwsEmulator } from '../../providers/aws/emulator/server.js';
import { deleteNetnsWithPrefix, ip, isRoot, linkNames, ping, podNsPrefix, rules } from '../cni/netns-tools.js';
import { bundledPlugin, cniEnv, runPlugin, type PluginCommand } from '../cni/plugin-process.js';
import { startEmulator } from '../providers/aws/daemon-helpers.js';
import { startAdoptingDaemon, type AdoptingDaemon } from './adopt/adopt-daemon.js';
import {
  awsAllocation,
  awsRulesLeft,
  inPod,
  installAwsNetfilter,
  wireAwsPod,
  writeAwsNodeCheckpoint,
  type AwsPod,
} from './adopt/aws-node-wiring.js';
import { keptVethsGone } from '../helpers/kept-veths.js';

const run = promisify(execFile);
const root = isRoot();
if (!root) console.log('skipping test/e2e/adopt-aws-node.priv.test.ts: needs root (netns, veth, ip rules, iptables)');

const NS = podNsPrefix('adopt');
const dir = mkdtempSync(path.join(tmpdir(), 'adopt-'));
const awsFile = path.join(dir, 'aws-node', 'ipam.json');
const ENV = {
  VPC_IPAM_ADOPT_AWS_NODE: 'true',
  VPC_IPAM_AWS_NODE_CHECKPOINT: awsFile,
  AWS_VPC_K8S_CNI_VETHPREFIX: 'eni',
};
let emu: AwsEmulator;
let plugin: PluginCommand;
let ipamd: AdoptingDaemon | undefined;
const pods: AwsPod[] = [];
/** The address of a Pod aws-node left behind (allocation and rule, no veth). */
let gone = '';

const held = () => new Map(ipamd!.daemon.datastore.list().map((a) => [a.ip, a]));
const cni = (command: string, p: { containerId: string; netns: string; namespace: string; name: string }) =>
  runPlugin(
    plugin,
    cniEnv({
      CNI_COMMAND: command,
      CNI_CONTAINERID: p.containerId,
      CNI_NETNS: p.netns,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${p.namespace};K8S_POD_NAME=${p.name}`,
    }),
    { cniVersion: '1.0.0', name: 'vpc-ipam', type: 'vpc-ipam', ipamdSocket: ipamd!.socket, mtu: 9001 },
  );
const podPing = async (from: AwsPod, to: string) =>
  inPod(from, 'ping', '-c', '1', '-W', '1', '-q', to).then(
    () => true,
    () => false,
  );
const awsFileNow = () => parseAwsCheckpoint(readFileSync(awsFile, 'utf8'), awsFile);

beforeAll(async () => {
  if (!root) return;
  plugin = await bundledPlugin();
  emu = await startEmulator({ strict: false });
  const cloud = emu.cloud;
  const inst = cloud.getInstance(emu.instanceId);
  const primary = inst.interfaces.find((n) => n.attachment?.deviceIndex === 0)!;
  const subnet = cloud.getSubnet(primary.subnetId);
  const free = (n: number) => {
    const used = new Set(cloud.subnetAllocations(subnet.id).used);
    const base = subnet.cidr.split('.').slice(0, 3).join('.');
    return Array.from({ length: 200 }, (_, i) => `${base}.${i + 40}`)
      .filter((a) => !used.has(`${a}/32`))
      .slice(0, n);
  };
  const [a, b, c, d, e] = free(5) as [string, string, string, string, string];
  gone = e;
  // aws-node's addresses: three secondary IPs on the primary ENI, one on an ENI it created and tagged.
  cloud.assignPrivateIps(primary.id, { ips: [a, b, c, gone] });
  const eni = cloud.createInterface({
    subnetId: subnet.id,
    description: `aws-K8S-${emu.instanceId}`,
    tags: { 'node.k8s.amazonaws.com/instance_id': emu.instanceId, 'cluster.k8s.amazonaws.com/name': 'e2e' },
    secondaryIps: { ips: [d] },
  });
  cloud.attachInterface(eni.id, emu.instanceId, 1);
  // The node: the primary ENI's MAC on eth0, so our SNAT and NodePort rules find the primary interface.
  await ip('link', 'set', 'eth0', 'down');
  await ip('link', 'set', 'eth0', 'address', primary.mac);
  await ip('link', 'set', 'eth0', 'up');
  await ip('route', 'replace', 'default', 'via', '198.51.100.1', 'dev', 'eth0');
  await run('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  const specs = [
    { name: 'web-0', ip: a, deviceIndex: 0 },
    { name: 'web-1', ip: b, deviceIndex: 0 },
    { name: 'db-0', ip: c, deviceIndex: 0 },
    { name: 'cache-0', ip: d, deviceIndex: 1 },
  ];
  for (const [i, s] of specs.entries()) {
    pods.push(await wireAwsPod({ ...s, namespace: 'shop', containerId: `aws${i}`, netnsName: `${NS}${i}` }));
  }
  // A Pod aws-node forgot to clean up after: its allocation and its 512 rule, no veth.
  await ip('rule', 'add', 'to', `${gone}/32`, 'lookup', 'main', 'priority', '512');
  const stale = awsAllocation({ namespace: 'shop', name: 'gone-0', containerId: 'awsgone', ip: gone });
  await run('mkdir', ['-p', path.dirname(awsFile)]);
  writeAwsNodeCheckpoint(awsFile, [...pods.map(awsAllocation), stale]);
  await installAwsNetfilter(cloud.getVpc(inst.vpcId).cidrs[0]!, primary.primaryIp);
  for (const p of pods) expect(await ping(p.ip)).toBe(true);
}, 120_000);

afterAll(async () => {
  await ipamd?.stop().catch(() => {});
  await emu?.close();
  await deleteNetnsWithPrefix(NS);
});

describe.skipIf(!root)('adopting an aws-node node (root)', () => {
  it('adopts every Pod with its identity, keeps it reachable, and replaces the AWS chains with ours', async () => {
    ipamd = await startAdoptingDaemon(emu, dir, ENV);
    const mine = held();
    for (const p of pods) {
      expect(mine.get(p.ip)).toMatchObject({
        network: 'vpc-ipam',
        containerId: p.containerId,
        ifName: 'eth0',
        pod: { namespace: 'shop', name: p.name },
        hostIf: p.hostIf,
      });
      expect(await ping(p.ip)).toBe(true);
    }
    expect(await podPing(pods[0]!, pods[3]!.ip)).toBe(true);
    expect(await podPing(pods[3]!, pods[1]!.ip)).toBe(true);
    expect(await awsRulesLeft()).toEqual([]);
    const { stdout } = await run('iptables-save', ['-t', 'nat']);
    expect(stdout).toContain('-j VPC-IPAM-SNAT');
    // The stale allocation is dropped as aws-node drops it, and its rule pruned.
    expect((await rules()).filter((r) => r.priority === 512).map((r) => r.dst)).not.toContain(gone);
    expect(
      awsFileNow()
        .allocations.map((e) => e.containerID)
        .sort(),
    ).toEqual(['aws0', 'aws1', 'aws2', 'aws3']);
  });

  it('a new ADD gets a fresh address, and the rollback file lists it with the adopted ones', async () => {
    const netns = `/var/run/netns/${NS}new`;
    await ip('netns', 'add', `${NS}new`);
    const r = await cni('ADD', { containerId: 'ours0', netns, namespace: 'shop', name: 'new-0' });
    expect(r.code, r.stderr).toBe(0);
    const got = (r.json!.ips as Array<{ address: string }>)[0]!.address.split('/')[0]!;
    expect(pods.map((p) => p.ip)).not.toContain(got);
    expect(await ping(got)).toBe(true);
    const entry = awsFileNow().allocations.find((e) => e.containerID === 'ours0');
    expect(entry).toMatchObject({ networkName: 'aws-cni', ifName: 'eth0', ipv4: got });
    expect(entry!.metadata).toMatchObject({ k8sPodNamespace: 'shop', k8sPodName: 'new-0' });
  });

  it('DEL of an adopted Pod through our plugin removes its veth and rules and frees its address', async () => {
    const p = pods[1]!;
    const r = await cni('DEL', p);
    expect(r.code, r.stderr).toBe(0);
    await keptVethsGone(linkNames, [p.hostIf]);
    expect(await linkNames()).not.toContain(p.hostIf);
    const left = (await rules()).filter((x) => x.src === p.ip || x.dst === p.ip);
    expect(left).toEqual([]);
    expect(held().has(p.ip)).toBe(false);
    expect(awsFileNow().allocations.map((e) => e.containerID)).not.toContain(p.containerId);
    pods.splice(1, 1);
  });

  it('a second start with adoption on changes nothing', async () => {
    const before = [...held().values()].map((a) => `${a.containerId} ${a.ip} ${a.hostIf ?? ''}`).sort();
    const file = readFileSync(awsFile, 'utf8');
    await ipamd!.stop();
    ipamd = await startAdoptingDaemon(emu, dir, ENV);
    expect([...held().values()].map((a) => `${a.containerId} ${a.ip} ${a.hostIf ?? ''}`).sort()).toEqual(before);
    expect(parseAwsCheckpoint(readFileSync(awsFile, 'utf8'), awsFile)).toEqual(parseAwsCheckpoint(file, awsFile));
    for (const p of pods) expect(await ping(p.ip)).toBe(true);
  });

  it('rollback: aws-node finds every Pod in its file, each with a veth of its naming and its rules', async () => {
    const links = await linkNames();
    const all = await rules();
    for (const e of awsFileNow().allocations) {
      expect(links).toContain(awsHostVethName('eni', e.metadata.k8sPodNamespace!, e.metadata.k8sPodName!));
      expect(all).toContainEqual(expect.objectContaining({ priority: 512, dst: e.ipv4 }));
    }
  });

  it('refuses to adopt a checkpoint it cannot account for, naming the item, and changes nothing', async () => {
    await ipamd!.stop();
    ipamd = undefined;
    const before = readFileSync(awsFile, 'utf8');
    const [x, y] = [pods[0]!, pods[2]!];
    writeAwsNodeCheckpoint(awsFile, [awsAllocation(x), awsAllocation({ ...y, ip: x.ip })]);
    const refused = await startAdoptingDaemon(emu, mkdtempSync(path.join(tmpdir(), 'adopt-fresh-')), ENV).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(AdoptionRefusedError);
    expect((refused as AdoptionRefusedError).refusal).toBe('duplicate-ip');
    expect((refused as Error).message).toContain(`${y.containerId}/eth0 ${x.ip}`);
    writeAwsNodeCheckpoint(awsFile, parseAwsCheckpoint(before, awsFile).allocations);
    for (const p of pods) expect(await ping(p.ip)).toBe(true);
  });
});
