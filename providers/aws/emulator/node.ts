/**
 * @module emulated node
 * A ready-to-use AWS emulator with one node on it, as `vpc-ipamctl emulate`
 * and the daemon's embedded mode need it: a VPC, the node subnet, an empty
 * Pod subnet tagged `kubernetes.io/role/cni=1`, and an instance whose
 * primary interface is in the node subnet. With `stateFile` the cloud is
 * loaded from / saved to disk after every change, so it outlives the
 * process like a real cloud outlives a node's daemon.
 *
 * This is the emulate mode: unless told otherwise it is as unkind as EC2
 * ({@link EMULATE_REALISM}: asynchronous attach/detach, eventual
 * consistency, IMDS lagging 1-5 s, both wordings of "no room").
 */
import { Address4 } from 'ip-address';
import { ConfigError } from '../../errors.js';
import { TAG_CLUSTER } from '../../interface-tags.js';
import type { Tags } from '../../sim/model.js';
import { SimCloud } from '../../sim/cloud.js';
import { openSimCloud, saveSimCloud } from '../../sim/persist.js';
import { EMULATE_REALISM } from './realism.js';
import { AwsEmulator, type AwsEmulatorOptions } from './server.js';

export interface EmulatedNodeOptions extends Omit<AwsEmulatorOptions, 'cloud' | 'instanceId' | 'onMutate'> {
  instanceType: string;
  /** Node subnet, e.g. `10.0.0.0/24`. */
  subnetCidr: string;
  /** Default: the next block of the same size after `subnetCidr` (the one before, at the end of its /16). */
  podSubnetCidr?: string;
  /** Default: 10.0.0.0/16 when it holds the subnets, else the /16 around the node subnet. */
  vpcCidr?: string;
  zone?: string;
  /** Address-choice seed of a new cloud (default 1). */
  cloudSeed?: number;
  /** Load the cloud from here if it exists; save it here after every change. */
  stateFile?: string;
  /** Tag a new cloud's node as a cluster's node group would ({@link clusterNodeTags}). */
  clusterName?: string;
}

/**
 * The tags a node of cluster `name` carries from launch, which the scoped IAM policies of docs/aws.md rely on:
 * the instance `kubernetes.io/cluster/<name>=owned` (what EKS node groups put on their instances, and what the AWS
 * VPC CNI's scope-down policy, amazon-vpc-cni-k8s docs/iam-policy.md, conditions Attach/Detach/Modify on), and the
 * primary ENI `vpc-ipam.io/cluster-name=<name>`, from the launch template's `network-interface` TagSpecification.
 */
export function clusterNodeTags(name: string): { tags: Tags; primaryInterfaceTags: Tags } {
  return { tags: { [`kubernetes.io/cluster/${name}`]: 'owned' }, primaryInterfaceTags: { [TAG_CLUSTER]: name } };
}

function network(cidr: string, variable: string): Address4 {
  if (!Address4.isValid(cidr) || !cidr.includes('/'))
    throw new ConfigError(variable, `expected an IPv4 CIDR, got "${cidr}"`);
  const a = new Address4(cidr);
  if (a.startAddress().address !== a.addressMinusSuffix)
    throw new ConfigError(variable, `${cidr} is not a network address`);
  return a;
}

/** The block of the same size right after `cidr` (10.0.0.0/24 → 10.0.1.0/24). */
export function nextBlock(cidr: string): string {
  const a = network(cidr, 'subnet');
  const size = 1n << BigInt(32 - a.subnetMask);
  return `${Address4.fromBigInt(a.startAddress().bigInt() + size).address}/${a.subnetMask}`;
}

/** The block of the same size right before `cidr` (10.0.1.0/24 → 10.0.0.0/24). */
function previousBlock(cidr: string): string {
  const a = network(cidr, 'subnet');
  const size = 1n << BigInt(32 - a.subnetMask);
  return `${Address4.fromBigInt(a.startAddress().bigInt() - size).address}/${a.subnetMask}`;
}

/** The Pod subnet: the next block, or the previous one when the next leaves the /16 that holds the node subnet. */
function defaultPodSubnet(subnet: string): string {
  const next = nextBlock(subnet);
  const a = new Address4(subnet);
  if (a.subnetMask <= 16) {
    throw new ConfigError('subnet', `${subnet} leaves no room for the Pod subnet in a /16 VPC; use a /17 or smaller`);
  }
  const around = new Address4(`${a.addressMinusSuffix}/16`);
  return new Address4(next).isInSubnet(around) ? next : previousBlock(subnet);
}

function defaultVpc(subnet: string, pod: string): string {
  const contains = (outer: string, inner: string) => new Address4(inner).isInSubnet(new Address4(outer));
  if (contains('10.0.0.0/16', subnet) && contains('10.0.0.0/16', pod)) return '10.0.0.0/16';
  const a = new Address4(subnet);
  if (a.subnetMask < 16) throw new ConfigError('subnet', `${subnet} is larger than a /16, the largest EC2 VPC block`);
  return `${new Address4(`${a.addressMinusSuffix}/16`).startAddress().address}/16`;
}

/** Builds (or loads) the cloud and starts the emulator for its first instance. */
export async function startEmulatedNode(o: EmulatedNodeOptions): Promise<AwsEmulator> {
  network(o.subnetCidr, 'subnet');
  const podSubnetCidr = o.podSubnetCidr ?? defaultPodSubnet(o.subnetCidr);
  network(podSubnetCidr, 'pod subnet');
  const vpcCidr = o.vpcCidr ?? defaultVpc(o.subnetCidr, podSubnetCidr);
  // The cloud stamps its records on the emulator's clock, so a test's clock moves both.
  const clock = o.clock ?? { now: Date.now };
  const init = () => {
    const c = new SimCloud({ seed: o.cloudSeed ?? 1, clock, provider: 'aws' });
    c.seedNode({
      instanceType: o.instanceType,
      subnetCidr: o.subnetCidr,
      podSubnetCidr,
      vpcCidr,
      ...(o.zone ? { zone: o.zone } : {}),
      ...(o.clusterName ? clusterNodeTags(o.clusterName) : {}),
    });
    return c;
  };
  const cloud = o.stateFile ? openSimCloud(o.stateFile, init, { clock, provider: 'aws' }) : init();
  const instance = cloud.describeInstances()[0];
  if (!instance)
    throw new ConfigError('stateFile', `${o.stateFile} holds no instance; delete it to start a fresh emulated node`);
  const file = o.stateFile;
  return AwsEmulator.start({
    ...o,
    realism: { ...EMULATE_REALISM, ...o.realism },
    cloud,
    instanceId: instance.id,
    ...(file ? { onMutate: () => saveSimCloud(cloud, file) } : {}),
  });
}
