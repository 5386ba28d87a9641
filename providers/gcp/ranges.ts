/**
 * @module gcp ranges
 * Pure functions over alias ranges and subnetwork ranges: which of nic0's
 * alias ranges are the pool's, the neutral view of the node, the desired
 * lists for a grow or a shrink, and secondary-range usage (free addresses
 * and free aligned blocks) for the monitor. No I/O.
 */
import { Address4 } from 'ip-address';
import type { AddressBlock, NetworkInterface, NodeInventory, Subnet } from '../types.js';
import type { AliasRange, GceInstance, GceSubnetwork } from './types.js';

export interface PoolRangePolicy {
  /** Secondary range Pods come from (GKE's `pods`). */
  podsRangeName: string;
  /** Length of one pool block (28 = /28). */
  blockPrefixLength: number;
}

interface Range {
  start: bigint;
  size: bigint;
}

/** Start and size of a CIDR (a bare address is a /32); undefined when it is not IPv4. */
export function rangeOf(cidr: string): Range | undefined {
  if (!Address4.isValid(cidr)) return undefined;
  const a = new Address4(cidr);
  return { start: a.startAddress().bigInt(), size: 1n << BigInt(32 - a.subnetMask) };
}

export function prefixLengthOf(cidr: string): number {
  return Address4.isValid(cidr) ? new Address4(cidr).subnetMask : -1;
}

/**
 * The pool's ranges are the node's alias ranges from the Pods range with the
 * configured block length. Anything else on nic0 (a /24 a node template
 * gave at creation, a VIP from the primary range) is someone else's: never
 * handed to Pods, always kept when nic0 is rewritten.
 */
export function isPoolRange(r: AliasRange, p: PoolRangePolicy): boolean {
  return r.subnetworkRangeName === p.podsRangeName && prefixLengthOf(r.ipCidrRange) === p.blockPrefixLength;
}

/** `https://…/projects/p/regions/r/subnetworks/s` → its project, region and name. */
export function parseSubnetworkUrl(url: string): { project: string; region: string; name: string } | undefined {
  const m = /projects\/([^/]+)\/regions\/([^/]+)\/subnetworks\/([^/?]+)/.exec(url);
  return m ? { project: m[1]!, region: m[2]!, name: m[3]! } : undefined;
}

export function lastSegment(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

/** The node as ipamd sees it: one interface, nic0, whose blocks are the pool's alias ranges. */
export function toInventory(inst: GceInstance, subnet: GceSubnetwork, mac: string, p: PoolRangePolicy): NodeInventory {
  const blocks: AddressBlock[] = inst.nic0.aliasIpRanges
    .filter((r) => isPoolRange(r, p))
    .map((r) => ({ cidr: r.ipCidrRange, kind: 'prefix' }));
  const nic: NetworkInterface = {
    id: inst.nic0.name,
    deviceIndex: 0,
    mac,
    subnetId: subnet.name,
    subnetCidr: subnet.ipCidrRange,
    primaryIp: inst.nic0.networkIP,
    securityGroups: [],
    blocks,
    tags: {},
  };
  return {
    instanceId: inst.name,
    instanceType: inst.machineType,
    zone: inst.zone,
    vpcId: lastSegment(inst.nic0.network),
    // Pods talk to every range of the subnetwork without SNAT.
    vpcCidrs: [subnet.ipCidrRange, ...subnet.secondaryIpRanges.map((r) => r.ipCidrRange)],
    interfaces: [nic],
  };
}

/** The reserved addresses of a primary range: network, gateway, second-to-last, broadcast. */
export function primaryReserved(cidr: string): string[] {
  const r = rangeOf(cidr)!;
  const at = (off: bigint) => `${Address4.fromBigInt(r.start + off).correctForm()}/32`;
  return [at(0n), at(1n), at(r.size - 2n), at(r.size - 1n)];
}

/**
 * Usage of a range given everything allocated in it: free addresses, and
 * aligned blocks of `prefixLength` with no address used (what GCE can still
 * carve a new alias range of that length from).
 */
export function rangeUsage(
  rangeCidr: string,
  used: string[],
  prefixLength: number,
): { size: number; free: number; freeBlocks: number } {
  const range = rangeOf(rangeCidr)!;
  const blockSize = 1n << BigInt(32 - prefixLength);
  const blocks = prefixLength >= prefixLengthOf(rangeCidr) ? Number(range.size / blockSize) : 0;
  const taken = new Uint8Array(blocks);
  let usedCount = 0n;
  for (const c of used) {
    const u = rangeOf(c);
    if (!u) continue;
    const lo = u.start > range.start ? u.start : range.start;
    const hi = u.start + u.size < range.start + range.size ? u.start + u.size : range.start + range.size;
    if (hi <= lo) continue;
    usedCount += hi - lo;
    for (let b = (lo - range.start) / blockSize; b * blockSize < hi - range.start && b < BigInt(blocks); b++)
      taken[Number(b)] = 1;
  }
  return {
    size: Number(range.size),
    free: Number(range.size - usedCount),
    freeBlocks: taken.reduce((n, t) => n + (t ? 0 : 1), 0),
  };
}

/**
 * The node subnetwork's ranges as neutral Subnets: the primary range (id = name) and each secondary range
 * (`name/range`).
 */
export function subnetsOf(subnet: GceSubnetwork, zone: string, vpcId: string, free: Map<string, number>): Subnet[] {
  const one = (id: string, cidr: string, tags: Record<string, string>): Subnet => ({
    id,
    cidr,
    zone,
    vpcId,
    availableAddresses: free.get(id) ?? 0,
    tags,
  });
  return [
    one(subnet.name, subnet.ipCidrRange, { 'gcp:range': 'primary' }),
    ...subnet.secondaryIpRanges.map((r) =>
      one(`${subnet.name}/${r.rangeName}`, r.ipCidrRange, { 'gcp:range': r.rangeName }),
    ),
  ];
}
