/**
 * @module sim address helpers
 * The few IPv4 shapes the simulated cloud needs, all through `ip-address`:
 * parsing and validating CIDRs, and converting between dotted addresses and
 * the BigInt offsets `ip-address` gives us. Nothing here formats or splits
 * address strings by hand.
 */
import { Address4 } from 'ip-address';
import { addressCount } from '../net/cidr.js';

/** A parsed IPv4 block: first address as a BigInt and its length. */
export interface Block {
  start: bigint;
  prefixLength: number;
  /** Number of addresses (2^(32 - prefixLength)). */
  size: number;
}

/** Parses `a.b.c.d` or `a.b.c.d/n`; returns undefined when it is not IPv4. */
export function tryParse(cidrOrIp: string): Address4 | undefined {
  if (typeof cidrOrIp !== 'string' || !Address4.isValid(cidrOrIp)) return undefined;
  try {
    return new Address4(cidrOrIp);
  } catch {
    return undefined;
  }
}

/**
 * The block a CIDR denotes. `strict` rejects host bits (`10.0.0.5/24`), as
 * EC2 does for subnet and prefix CIDRs; a bare address is a /32.
 */
export function parseBlock(cidrOrIp: string, strict = true): Block | undefined {
  const a = tryParse(cidrOrIp);
  if (!a) return undefined;
  const start = a.startAddress().bigInt();
  if (strict && start !== a.bigInt()) return undefined;
  return { start, prefixLength: a.subnetMask, size: addressCount(4, a.subnetMask) };
}

/** Dotted form of an address given as a BigInt. */
export function ipOf(n: bigint): string {
  return Address4.fromBigInt(n).correctForm();
}

/** CIDR form (`10.0.1.16/28`) of the block starting at `start`. */
export function cidrOf(start: bigint, prefixLength: number): string {
  return `${ipOf(start)}/${prefixLength}`;
}

/** Canonical CIDR form: `10.0.1.7` → `10.0.1.7/32`, `10.0.1.0/24` unchanged. */
export function canonicalCidr(cidrOrIp: string): string | undefined {
  const b = parseBlock(cidrOrIp);
  return b ? cidrOf(b.start, b.prefixLength) : undefined;
}

/** Canonical dotted address of a bare IP or a `/32`; undefined otherwise. */
export function canonicalIp(ipOrSlash32: string): string | undefined {
  const b = parseBlock(ipOrSlash32);
  return b && b.prefixLength === 32 ? ipOf(b.start) : undefined;
}

export function blockContains(outer: Block, inner: Block): boolean {
  return inner.start >= outer.start && inner.start + BigInt(inner.size) <= outer.start + BigInt(outer.size);
}

export function blocksOverlap(a: Block, b: Block): boolean {
  return a.start < b.start + BigInt(b.size) && b.start < a.start + BigInt(a.size);
}

/** Sort key for addresses and CIDRs: numeric, then shorter prefix first. */
export function compareCidrs(a: string, b: string): number {
  const x = parseBlock(a, false);
  const y = parseBlock(b, false);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  if (x.start !== y.start) return x.start < y.start ? -1 : 1;
  return x.prefixLength - y.prefixLength;
}
