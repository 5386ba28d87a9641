/**
 * @module azure subnet math
 * Azure reserves five addresses in every subnet: the network address, `.1`
 * (gateway), `.2` and `.3` (Azure DNS) and the broadcast address
 * (cloud-apis.md §4.5). A /29 therefore has 3 usable addresses.
 */
import { Address4 } from 'ip-address';
import { addressCount } from '../net/cidr.js';

export const AZURE_RESERVED_PER_SUBNET = 5;

function bounds(cidr: string): { start: bigint; size: number } | undefined {
  if (!Address4.isValid(cidr) || !cidr.includes('/')) return undefined;
  const a = new Address4(cidr);
  return { start: a.startAddress().bigInt(), size: addressCount(4, a.subnetMask) };
}

/** Addresses Pods can never get in this subnet. 0 for an unparsable CIDR. */
export function subnetUsable(cidr: string): number {
  const b = bounds(cidr);
  return b ? Math.max(0, b.size - AZURE_RESERVED_PER_SUBNET) : 0;
}

/** The five reserved addresses as /32 CIDRs (fewer for subnets smaller than /29). */
export function reservedCidrs(cidr: string): string[] {
  const b = bounds(cidr);
  if (!b) return [];
  const offsets = new Set([0, 1, 2, 3, b.size - 1].filter((o) => o >= 0 && o < b.size));
  return [...offsets].sort((x, y) => x - y).map((o) => `${Address4.fromBigInt(b.start + BigInt(o)).address}/32`);
}
