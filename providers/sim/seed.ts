/**
 * @module sim seed
 * `SimCloud.seedNode`: the network a daemon needs before it can start, in
 * one call, for tests, the demo daemon and the emulators' fixtures.
 */
import type { Subnet, SubnetFilter } from '../types.js';
import type { Tags } from './model.js';
import type { CreateInstanceOptions } from './topology-ops.js';

/** What seeding needs of the cloud (SimCloud has it), declared here so seed.ts and cloud.ts form no cycle. */
export interface SeedableCloud {
  reseed(seed: number): void;
  describeVpcs(): Array<{ id: string; cidrs: string[] }>;
  createVpc(opts: { cidr: string; tags?: Tags }): { id: string };
  describeSubnets(filter?: SubnetFilter): Subnet[];
  createSubnet(opts: { vpcId: string; cidr: string; zone: string; tags?: Tags }): { id: string };
  createInstance(opts: CreateInstanceOptions): { id: string };
}

export interface SeedNodeOptions {
  /** Any type of the EC2 table (t3.medium, m5.large, …) or one defined with `defineInstanceType`. */
  instanceType: string;
  /** The node subnet, e.g. `10.0.1.0/24`. */
  subnetCidr: string;
  /** Default `10.0.0.0/16`; must contain the subnets. */
  vpcCidr?: string;
  /** Optional second, empty subnet for Pods, tagged `kubernetes.io/role/cni=1`. */
  podSubnetCidr?: string;
  /** Default `us-east-1a`. */
  zone?: string;
  /** Reseeds the cloud's address choice before anything is created. */
  seed?: number;
  /** Default: the VPC's default security group. */
  securityGroups?: string[];
  /** Tags of the instance (EKS node groups tag theirs `kubernetes.io/cluster/<name>=owned`). */
  tags?: Tags;
  /** Tags of its primary interface, as a launch template's `network-interface` TagSpecification puts them on. */
  primaryInterfaceTags?: Tags;
}

export const DEFAULT_VPC_CIDR = '10.0.0.0/16';
export const DEFAULT_ZONE = 'us-east-1a';
/** Tag that marks the Pod subnet, in the style of EKS subnet discovery tags. */
export const POD_SUBNET_TAG = 'kubernetes.io/role/cni';

function findOrCreateSubnet(cloud: SeedableCloud, vpcId: string, cidr: string, zone: string, tags: Tags): string {
  const existing = cloud.describeSubnets({ vpcId }).find((s) => s.cidr === cidr);
  if (existing) return existing.id;
  return cloud.createSubnet({ vpcId, cidr, zone, tags }).id;
}

/** See `SimCloud.seedNode`. */
export function seedNode(cloud: SeedableCloud, opts: SeedNodeOptions): string {
  if (opts.seed !== undefined) cloud.reseed(opts.seed);
  const vpcCidr = opts.vpcCidr ?? DEFAULT_VPC_CIDR;
  const zone = opts.zone ?? DEFAULT_ZONE;
  const vpc =
    cloud.describeVpcs().find((v) => v.cidrs.includes(vpcCidr)) ??
    cloud.createVpc({ cidr: vpcCidr, tags: { Name: 'sim-vpc' } });
  const subnetId = findOrCreateSubnet(cloud, vpc.id, opts.subnetCidr, zone, { Name: 'sim-nodes' });
  if (opts.podSubnetCidr !== undefined) {
    findOrCreateSubnet(cloud, vpc.id, opts.podSubnetCidr, zone, { Name: 'sim-pods', [POD_SUBNET_TAG]: '1' });
  }
  const launch: CreateInstanceOptions = { instanceType: opts.instanceType, subnetId };
  if (opts.securityGroups) launch.securityGroups = opts.securityGroups;
  if (opts.tags) launch.tags = opts.tags;
  if (opts.primaryInterfaceTags) launch.primaryInterfaceTags = opts.primaryInterfaceTags;
  return cloud.createInstance(launch).id;
}
