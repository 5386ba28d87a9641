/**
 * @module subnet space
 * Exact address accounting for one IPv4 subnet, from the CIDRs the cloud
 * says are in use: how many addresses are free, how many aligned prefix
 * blocks (AWS /28) could still be delegated, and the largest aligned free
 * block. Pure: CIDRs in, numbers out, no clock and no I/O.
 *
 * Why this exists: EC2's AvailableIpAddressCount says nothing about
 * alignment. A /24 with 200 free addresses scattered one per /28 has no /28
 * left, and prefix delegation fails with InsufficientCidrBlocks while the
 * console shows a "mostly empty" subnet (aws-vpc-cni.md §9.5).
 *
 * The computation works on merged intervals, never on one flag per address,
 * so a /8 costs the same as a /28: occupied = reserved ∪ used (overlaps and
 * duplicates count once), free runs are the gaps, and aligned blocks are
 * counted inside each gap with integer division.
 */
import { Address4 } from 'ip-address';
import { BadRequestError } from '../../providers/errors.js';
import type { ProviderName } from '../../providers/types.js';
import { addressCount } from '../../providers/net/cidr.js';

/** Addresses a cloud keeps for itself at the start and the end of every subnet. */
export interface ReservedRule {
  first: number;
  last: number;
}

/**
 * Per-cloud reserved addresses (cloud-apis.md):
 * - AWS: network, VPC router (.1), DNS (.2), future use (.3) and broadcast: first 4 + last 1;
 * - Azure: network, gateway (.1), two DNS (.2, .3) and broadcast: first 4 + last 1;
 * - GCP primary ranges: network, gateway (.1), second-to-last and broadcast: first 2 + last 2
 *   (secondary alias ranges reserve nothing: pass `{ first: 0, last: 0 }`).
 */
export const RESERVED_RULES: Readonly<Record<ProviderName, ReservedRule>> = Object.freeze({
  sim: { first: 4, last: 1 },
  aws: { first: 4, last: 1 },
  azure: { first: 4, last: 1 },
  gcp: { first: 2, last: 2 },
});

export interface SpaceOptions {
  reserved: ReservedRule;
  /** Length of one delegable block (28 on AWS). */
  prefixLength: number;
}

export interface FreeBlock {
  cidr: string;
  prefixLength: number;
  addresses: number;
}

export interface SubnetSpace {
  cidr: string;
  /** Addresses in the CIDR, reserved ones included (2^(32 − length)). */
  size: number;
  /** Addresses the cloud keeps (per {@link ReservedRule}). */
  reserved: number;
  /** size − reserved: what Pods, interfaces and reservations can ever use. */
  total: number;
  /** Usable addresses taken by interfaces, secondary IPs, prefixes and reservations (each counted once). */
  used: number;
  /** total − used. Matches EC2 AvailableIpAddressCount. */
  free: number;
  prefixLength: number;
  /** Aligned blocks of `prefixLength` with every address free. */
  freePrefixBlocks: number;
  /** The first of the largest aligned free blocks, or undefined when nothing is free. */
  largestFreeBlock: FreeBlock | undefined;
  /** Maximal runs of consecutive free addresses (1 for an empty subnet; more = more scattered). */
  freeRuns: number;
  /**
   * Share of free addresses that no free prefix block covers, 0..1: 0 when
   * every free address lies in a delegable block, 1 when none does. 0 when
   * nothing is free.
   */
  fragmentation: number;
  /** Used CIDRs that were partly or wholly outside the subnet (clipped; a sign of a confused caller). */
  outside: number;
}

type Interval = [start: number, end: number]; // [start, end), absolute IPv4 numbers

function parseV4(cidr: string, what: string): Address4 {
  if (typeof cidr === 'string') {
    try {
      return new Address4(cidr);
    } catch {
      // fall through to the error that names the value
    }
  }
  throw new BadRequestError(`${what} "${String(cidr)}" is not an IPv4 address or CIDR`);
}

/**
 * Parsed ranges of used CIDRs, kept across calls: `ip-address` takes ~15 µs
 * per parse, a busy /16 lists tens of thousands of addresses, and from one
 * pass to the next almost all of them are the same strings. Bounded: cleared
 * when it grows past a few busy subnets' worth.
 */
const RANGE_CACHE = new Map<string, Interval>();
const RANGE_CACHE_MAX = 1 << 18;

/** [start, end) of a CIDR or a bare address (a /32), as numbers. */
function rangeOf(cidr: string, what: string): Interval {
  // Shared tuples: callers never mutate them (merge() builds its own).
  const hit = RANGE_CACHE.get(cidr);
  if (hit) return hit;
  const a = parseV4(cidr, what);
  const size = addressCount(4, a.subnetMask);
  const n = Number(a.bigInt());
  // The block's first address: host bits cleared (a used entry may carry them, e.g. `10.0.1.7/28`).
  const start = n - (n % size);
  if (RANGE_CACHE.size >= RANGE_CACHE_MAX) RANGE_CACHE.clear();
  RANGE_CACHE.set(cidr, [start, start + size]);
  return [start, start + size];
}

function merge(intervals: Interval[]): Interval[] {
  const sorted = intervals.filter(([s, e]) => e > s).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  // `out` holds fresh tuples: the inputs may be cached ranges shared across calls.
  const out: Interval[] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** Aligned blocks of `size` entirely inside [a, b). */
export function alignedBlocksIn(a: number, b: number, size: number): number {
  return Math.max(0, Math.floor(b / size) - Math.ceil(a / size));
}

/**
 * Largest aligned power-of-two block inside [a, b): greedy walk from a, each step the biggest aligned block that fits.
 */
function largestAlignedIn(a: number, b: number): { start: number; size: number } | undefined {
  let best: { start: number; size: number } | undefined;
  let x = a;
  while (x < b) {
    let size = 1;
    // Grow while x stays aligned to the doubled size and the doubled block still fits.
    while (x % (size * 2) === 0 && x + size * 2 <= b) size *= 2;
    if (!best || size > best.size) best = { start: x, size };
    x += size;
  }
  return best;
}

function cidrAt(start: number, size: number): string {
  return `${Address4.fromBigInt(BigInt(start)).correctForm()}/${32 - Math.log2(size)}`;
}

/**
 * Accounts for a subnet. `used` may contain the cloud-reserved addresses
 * (the sim's allocations do), overlapping CIDRs and bare addresses; each
 * address counts once. Throws BadRequestError naming the bad value when the
 * subnet or a used entry is not IPv4, the subnet has host bits set, or the
 * subnet is too small for its reserved addresses.
 */
export function analyzeSubnet(cidr: string, used: readonly string[], opts: SpaceOptions): SubnetSpace {
  const net = parseV4(cidr, 'subnet CIDR');
  if (net.startAddress().bigInt() !== net.bigInt()) {
    throw new BadRequestError(
      `subnet CIDR "${cidr}" has host bits set (network is ${net.startAddress().correctForm()}/${net.subnetMask})`,
    );
  }
  const { first, last } = opts.reserved;
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last < 0) {
    throw new BadRequestError(`reserved rule must be two whole numbers >= 0, got first=${first} last=${last}`);
  }
  if (!Number.isInteger(opts.prefixLength) || opts.prefixLength < 0 || opts.prefixLength > 32) {
    throw new BadRequestError(`prefix length must be 0..32, got ${opts.prefixLength}`);
  }
  const [base, end] = rangeOf(cidr, 'subnet CIDR');
  const size = end - base;
  if (first + last >= size)
    throw new BadRequestError(
      `subnet ${cidr} has ${size} addresses, not more than the ${first + last} the cloud reserves`,
    );

  const occupied: Interval[] = [
    [base, base + first],
    [end - last, end],
  ];
  let outside = 0;
  for (const u of used) {
    const [s, e] = rangeOf(u, 'used CIDR');
    if (s < base || e > end) outside++;
    const cs = Math.max(s, base);
    const ce = Math.min(e, end);
    if (ce > cs) occupied.push([cs, ce]);
  }
  const merged = merge(occupied);
  const occupiedCount = merged.reduce((n, [s, e]) => n + (e - s), 0);
  const reserved = first + last;
  const free = size - occupiedCount;

  // Free runs are the gaps between occupied intervals.
  const gaps: Interval[] = [];
  let cursor = base;
  for (const [s, e] of merged) {
    if (s > cursor) gaps.push([cursor, s]);
    cursor = Math.max(cursor, e);
  }
  if (cursor < end) gaps.push([cursor, end]);

  const blockSize = addressCount(4, opts.prefixLength);
  // A block longer than the subnet can never be delegated from it.
  const blocksFit = opts.prefixLength >= net.subnetMask;
  let freePrefixBlocks = 0;
  let largest: { start: number; size: number } | undefined;
  for (const [a, b] of gaps) {
    if (blocksFit) freePrefixBlocks += alignedBlocksIn(a, b, blockSize);
    const l = largestAlignedIn(a, b);
    if (l && (!largest || l.size > largest.size)) largest = l;
  }
  return {
    cidr: `${net.startAddress().correctForm()}/${net.subnetMask}`,
    size,
    reserved,
    total: size - reserved,
    used: size - reserved - free,
    free,
    prefixLength: opts.prefixLength,
    freePrefixBlocks,
    largestFreeBlock: largest
      ? {
          cidr: cidrAt(largest.start, largest.size),
          prefixLength: 32 - Math.log2(largest.size),
          addresses: largest.size,
        }
      : undefined,
    freeRuns: gaps.length,
    fragmentation: free === 0 ? 0 : (free - freePrefixBlocks * blockSize) / free,
    outside,
  };
}

/**
 * Aligned blocks of `prefixLength` in an empty subnet that do not touch a
 * reserved address: the most prefixes the subnet can ever hold.
 */
export function maxPrefixBlocks(cidr: string, opts: SpaceOptions): number {
  return analyzeSubnet(cidr, [], opts).freePrefixBlocks;
}
