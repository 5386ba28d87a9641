/**
 * @module gce emulator seed
 * A GKE-style node in a {@link SimCloud}, in one call: a network, a
 * subnetwork with a primary range (node IPs) and a `pods` secondary range,
 * and an instance whose nic0 takes its address from the primary range. The
 * GCE names live in the sim records' `Name` tags, so the same cloud can be
 * saved, reloaded and served again under the same names.
 */
import { ConfigError } from '../../errors.js';
import { cidrOf, parseBlock } from '../../sim/addr.js';
import { SimCloud, type SimReservedCounts } from '../../sim/index.js';
import type { InstanceLimits } from '../../types.js';

/** GCE reserves the network, gateway, second-to-last and broadcast addresses of a primary range; none in secondary. */
export const GCE_RESERVED: SimReservedCounts = { first: 2, last: 2 };

/**
 * Alias IP ranges one network interface may carry. The VPC quotas page
 * (docs.cloud.google.com/vpc/docs/quota, Limits, Per instance): "Maximum
 * number of alias IP ranges per network interface: 150 [...] Google Cloud
 * does not consider the size of the alias IP range's netmask", so a /32 and
 * a /20 count the same. Older versions of configure-alias-ip-ranges said 1,
 * later 10 ("A VM instance virtual interface can have up to 10"). There
 * is no separate per-VM number: a VM has as many NICs as its machine type
 * allows, each with its own 150 (the emulator models nic0 only).
 */
export const GCE_MAX_ALIAS_RANGES_PER_NIC = 150;

/**
 * The per-network quota on alias ranges of every NIC in a VPC network (same
 * page, Quotas, Per network, "IP aliases per VPC network"). Its default is
 * per project, shown in the console, not published; "When per-network limits
 * are exceeded, you see QUOTA_EXCEEDED errors with the internal quota names."
 */
export const GCE_ALIASES_PER_NETWORK_QUOTA = 'ALIASES_PER_NETWORK_GLOBAL';

export interface GceSeedOptions {
  instanceName?: string;
  /** Any name; its limits are those of every GCE machine type here (see {@link gceMachineType}). */
  machineType?: string;
  zone?: string;
  networkName?: string;
  subnetName?: string;
  /** Primary range of the subnetwork (node IPs). */
  primaryCidr?: string;
  podsRangeName?: string;
  podsCidr?: string;
  /** Extra secondary ranges, e.g. `{ services: '10.8.0.0/20' }`. */
  extraRanges?: Record<string, string>;
  /** Reseeds address choice first (same seed, same addresses). */
  seed?: number;
}

export const GCE_SEED_DEFAULTS = {
  instanceName: 'gke-node-1',
  machineType: 'e2-standard-4',
  zone: 'us-central1-a',
  networkName: 'vpc1',
  subnetName: 'nodes',
  primaryCidr: '10.128.0.0/20',
  podsRangeName: 'pods',
  podsCidr: '10.4.0.0/14',
} as const;

/**
 * Limits of a GCE machine type as the sim models it: only nic0 (GCE cannot
 * attach interfaces to a running VM), no secondary IPs (GCE has alias
 * ranges instead), up to {@link GCE_MAX_ALIAS_RANGES_PER_NIC} alias ranges.
 */
export function gceMachineType(name: string): InstanceLimits {
  return {
    instanceType: name,
    maxInterfaces: 1,
    ipv4PerInterface: 1 + GCE_MAX_ALIAS_RANGES_PER_NIC,
    supportsIps: false,
    supportsPrefixes: true,
    prefixLength: 28,
    canCreateInterfaces: false,
  };
}

/** A new, empty cloud with GCE's reserved addresses and the `gcp` error flavour. */
export function newGceCloud(opts: { seed?: number; clock?: { now(): number } } = {}): SimCloud {
  const clock = opts.clock ? { clock: opts.clock } : {};
  return new SimCloud({ seed: opts.seed ?? 1, provider: 'gcp', subnetReserved: GCE_RESERVED, ...clock });
}

/** The /16 holding a primary range: the sim's VPC needs a CIDR (a GCE network has none). */
function vpcCidrFor(primaryCidr: string): string {
  const b = parseBlock(primaryCidr);
  if (!b) throw new ConfigError('primaryCidr', `expected an IPv4 network CIDR, got "${primaryCidr}"`);
  return cidrOf((b.start >> 16n) << 16n, 16);
}

/**
 * Adds a node (and, when missing, its network, subnetwork and secondary
 * ranges) to `cloud`; returns the sim instance id. Calling it again with
 * another instance name adds a second node to the same subnetwork.
 */
export function seedGceNode(cloud: SimCloud, options: GceSeedOptions = {}): string {
  const o = { ...GCE_SEED_DEFAULTS, ...options };
  if (o.seed !== undefined) cloud.reseed(o.seed);
  const existing = cloud.describeInstances().find((i) => i.tags.Name === o.instanceName);
  if (existing) return existing.id;
  if (!cloud.instanceLimits(o.machineType)) cloud.defineInstanceType(gceMachineType(o.machineType));
  const vpc =
    cloud.describeVpcs().find((v) => v.tags.Name === o.networkName) ??
    cloud.createVpc({ cidr: vpcCidrFor(o.primaryCidr), tags: { Name: o.networkName } });
  const subnet =
    cloud.describeSubnets({ vpcId: vpc.id }).find((s) => s.tags.Name === o.subnetName) ??
    cloud.createSubnet({ vpcId: vpc.id, cidr: o.primaryCidr, zone: o.zone, tags: { Name: o.subnetName } });
  const ranges = { [o.podsRangeName]: o.podsCidr, ...(o.extraRanges ?? {}) };
  const have = new Set(cloud.describeSecondaryRanges(subnet.id).map((r) => r.name));
  for (const [name, cidr] of Object.entries(ranges)) {
    if (!have.has(name)) cloud.createSecondaryRange({ subnetId: subnet.id, name, cidr });
  }
  return cloud.createInstance({ instanceType: o.machineType, subnetId: subnet.id, tags: { Name: o.instanceName } }).id;
}
