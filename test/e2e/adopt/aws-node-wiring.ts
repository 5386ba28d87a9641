/**
 * @module the AWS VPC CNI's host wiring, built by hand (privileged tests only)
 * A Pod as aws-node v1.23.1 leaves it (aws/amazon-vpc-cni-k8s @b52188387f2e):
 * - cmd/routed-eni-cni-plugin/driver/driver.go `createVethPairContext.run`: host veth
 *   `<prefix>` + sha1("ns.pod")[:11] (pkg/networkutils/names.go), Pod end `eth0` with `<ip>/32`, routes
 *   `169.254.1.1 dev eth0 scope link` and `default via 169.254.1.1`, a PERMANENT neighbour 169.254.1.1 → the
 *   host veth's MAC;
 * - `setupIPBasedContainerRouteRules`: `<ip> dev <veth> scope link` in main, `to <ip> lookup main` at 512 and,
 *   off the primary ENI, `from <ip> lookup <table>` at 1536 (table = device index + 1);
 * - pkg/networkutils/network.go and iptables_connmark.go: AWS-SNAT-CHAIN-0, AWS-CONNMARK-CHAIN-0, their jumps and
 *   the "AWS, primary ENI" / "AWS, CONNMARK" rules;
 * - its checkpoint, pkg/ipamd/datastore/data_store.go `CheckpointData`.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { awsHostVethName } from '../../../cni/contract/veth-name.js';
import { renderAwsCheckpoint, type AwsAllocation } from '../../../ipamd/adopt/aws-checkpoint.js';
import { addNetns, ip } from '../../cni/netns-tools.js';

const run = promisify(execFile);

export interface AwsPod {
  namespace: string;
  name: string;
  containerId: string;
  ip: string;
  /** 0: primary ENI, main table; n: table n + 1. */
  deviceIndex: number;
  netnsName: string;
  netns: string;
  hostIf: string;
}

export const inPod = (p: AwsPod, ...args: string[]) => run('ip', ['netns', 'exec', p.netnsName, ...args]);

export async function wireAwsPod(p: Omit<AwsPod, 'netns' | 'hostIf'>, prefix = 'eni'): Promise<AwsPod> {
  const pod: AwsPod = {
    ...p,
    netns: await addNetns(p.netnsName),
    hostIf: awsHostVethName(prefix, p.namespace, p.name),
  };
  await ip('link', 'add', pod.hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.netnsName);
  await ip('link', 'set', pod.hostIf, 'up');
  const mac = JSON.parse(await ip('-j', 'link', 'show', 'dev', pod.hostIf))[0].address as string;
  const podIp = (...a: string[]) => inPod(pod, 'ip', ...a);
  await podIp('link', 'set', 'lo', 'up');
  await podIp('link', 'set', 'eth0', 'up');
  await podIp('addr', 'add', `${p.ip}/32`, 'dev', 'eth0');
  await podIp('route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link');
  await podIp('route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0');
  await podIp('neigh', 'add', '169.254.1.1', 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent');
  await ip('route', 'replace', `${p.ip}/32`, 'dev', pod.hostIf, 'scope', 'link');
  await ip('rule', 'add', 'to', `${p.ip}/32`, 'lookup', 'main', 'priority', '512');
  if (p.deviceIndex > 0) {
    await ip('rule', 'add', 'from', `${p.ip}/32`, 'lookup', String(p.deviceIndex + 1), 'priority', '1536');
  }
  return pod;
}

export function awsAllocation(p: { namespace: string; name: string; containerId: string; ip: string }): AwsAllocation {
  return {
    networkName: 'aws-cni',
    containerID: p.containerId,
    ifName: 'eth0',
    ipv4: p.ip,
    allocationTimestamp: Date.now() * 1_000_000,
    metadata: { k8sPodNamespace: p.namespace, k8sPodName: p.name, interfacesCount: 1 },
  };
}

export function writeAwsNodeCheckpoint(file: string, allocations: AwsAllocation[]): void {
  writeFileSync(file, renderAwsCheckpoint(allocations));
}

/** aws-node's iptables rules on a node whose VPC is `vpcCidr` and primary address `primaryIp`. */
export async function installAwsNetfilter(vpcCidr: string, primaryIp: string, prefix = 'eni'): Promise<void> {
  const nat = [
    '*nat',
    ':AWS-SNAT-CHAIN-0 - [0:0]',
    ':AWS-CONNMARK-CHAIN-0 - [0:0]',
    `-A PREROUTING -i ${prefix}+ -m comment --comment "AWS, outbound connections" -j AWS-CONNMARK-CHAIN-0`,
    '-A PREROUTING -m comment --comment "AWS, CONNMARK" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
    '-A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0',
    `-A AWS-CONNMARK-CHAIN-0 -d ${vpcCidr} -m comment --comment "AWS CONNMARK CHAIN" -j RETURN`,
    '-A AWS-CONNMARK-CHAIN-0 -m comment --comment "AWS, CONNMARK" -j CONNMARK --set-xmark 0x80/0x80',
    `-A AWS-SNAT-CHAIN-0 -d ${vpcCidr} -m comment --comment "AWS SNAT CHAIN" -j RETURN`,
    '-A AWS-SNAT-CHAIN-0 ! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL ' +
      `-j SNAT --to-source ${primaryIp} --random-fully`,
    'COMMIT',
    '*mangle',
    '-A PREROUTING -i eth0 -m comment --comment "AWS, primary ENI" -m addrtype --dst-type LOCAL --limit-iface-in ' +
      '-j CONNMARK --set-xmark 0x80/0x80',
    `-A PREROUTING -i ${prefix}+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark ` +
      '--nfmask 0x80 --ctmask 0x80',
    'COMMIT',
    '',
  ].join('\n');
  await new Promise<void>((resolve, reject) => {
    const child = execFile('iptables-restore', ['--noflush'], (err) => (err ? reject(err) : resolve()));
    child.stdin!.end(nat);
  });
}

/** `table chain: comment` of every aws-node rule left, from iptables-save of both tables. */
export async function awsRulesLeft(): Promise<string[]> {
  const { stdout } = await run('iptables-save', []);
  return stdout.split('\n').filter((l) => /AWS-(SNAT|CONNMARK)-CHAIN|"AWS[, ]/.test(l));
}
