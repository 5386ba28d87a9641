/**
 * @module cidr helpers
 * Thin wrappers over `ip-address` for the few shapes ipamd needs; no
 * hand-rolled address arithmetic anywhere else.
 */
import { Address4 } from 'ip-address';

/** Every address of a block, lowest first (`/32` → one, `/28` → sixteen). */
export function addressesOf(cidr: string): string[] {
  const a = new Address4(cidr);
  const start = a.startAddress().bigInt();
  const size = 1n << BigInt(32 - a.subnetMask);
  const out: string[] = [];
  for (let i = 0n; i < size; i++) out.push(Address4.fromBigInt(start + i).address);
  return out;
}

/** The address part of `10.0.0.7/32` (or of a bare address). */
export function addressPart(cidrOrIp: string): string {
  return new Address4(cidrOrIp).addressMinusSuffix;
}

export function isIpv4(ip: string): boolean {
  return Address4.isValid(ip) && !ip.includes('/');
}

export function containsAddress(cidr: string, ip: string): boolean {
  return new Address4(ip).isInSubnet(new Address4(cidr));
}

/** Block size in addresses for a prefix length. */
export function blockSize(prefixLength: number): number {
  return 2 ** (32 - prefixLength);
}
