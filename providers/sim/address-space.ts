/**
 * @module subnet address space
 * Which addresses of one subnet are taken, and how the cloud picks new ones.
 *
 * One byte per address keeps this simple and fast enough for any subnet EC2
 * allows (/16 at most: 64 KiB). The space holds no ownership: the cloud
 * model keeps who owns what, and rebuilds a space from its records after a
 * load, so the two can never disagree on disk.
 *
 * Choices are uniformly random among eligible candidates, drawn from the
 * cloud's seeded {@link Prng}. Random choice (rather than lowest-first) is
 * what makes a long-lived subnet fragment the way real ones do: a /28 needs
 * sixteen aligned free addresses, and scattered /32s break them up.
 */
import { cidrOf, ipOf, parseBlock, type Block } from './addr.js';
import type { Prng } from './prng.js';
import { addressCount } from '../net/cidr.js';

/**
 * How a subnet CIDR reservation restricts automatic choice.
 * - `blocked`: taken by something outside the simulation (another tenant, a
 *   load balancer); counts as used. Tests use it to craft fragmentation.
 * - `explicit`: EC2 `ReservationType=explicit`; only requests that name
 *   addresses may use it.
 * - `prefix`: EC2 `ReservationType=prefix`; automatic /32s avoid it and
 *   automatic prefixes come from it first.
 */
export type ReservationType = 'blocked' | 'explicit' | 'prefix';

const FREE = 0;
const CLOUD_RESERVED = 1;
const USED = 2;

const RESV_NONE = 0;
const RESV_EXPLICIT = 1;
const RESV_PREFIX = 2;

/** EC2 reserves the first four addresses and the last one of every subnet (cloud-apis.md §1.6). */
export const EC2_RESERVED = { first: 4, last: 1 } as const;

export class SubnetSpace {
  readonly block: Block;
  private readonly state: Uint8Array;
  private readonly resv: Uint8Array;
  private free: number;

  constructor(
    readonly cidr: string,
    reserved: { first: number; last: number } = EC2_RESERVED,
  ) {
    const b = parseBlock(cidr);
    if (!b) throw new RangeError(`not a network CIDR: ${cidr}`);
    if (b.size < reserved.first + reserved.last + 1) throw new RangeError(`subnet ${cidr} is too small`);
    this.block = b;
    this.state = new Uint8Array(b.size);
    this.resv = new Uint8Array(b.size);
    for (let i = 0; i < reserved.first; i++) this.state[i] = CLOUD_RESERVED;
    for (let i = b.size - reserved.last; i < b.size; i++) this.state[i] = CLOUD_RESERVED;
    this.free = b.size - reserved.first - reserved.last;
  }

  /** Addresses neither cloud-reserved nor used (EC2 AvailableIpAddressCount). */
  freeCount(): number {
    return this.free;
  }

  /** Offset range of a block inside this subnet, or undefined when it is not entirely inside. */
  rangeOf(b: Block): { start: number; size: number } | undefined {
    const off = b.start - this.block.start;
    if (off < 0n || off + BigInt(b.size) > BigInt(this.block.size)) return undefined;
    return { start: Number(off), size: b.size };
  }

  /** True when every address of the range is free (not cloud-reserved, not used). */
  isFree(start: number, size: number): boolean {
    for (let i = start; i < start + size; i++) if (this.state[i] !== FREE) return false;
    return true;
  }

  isCloudReserved(offset: number): boolean {
    return this.state[offset] === CLOUD_RESERVED;
  }

  /** Marks a free range used. The caller has checked {@link isFree}. */
  take(start: number, size: number): void {
    for (let i = start; i < start + size; i++) {
      if (this.state[i] !== FREE) throw new Error(`sim invariant: ${ipOf(this.addr(i))} is not free`);
      this.state[i] = USED;
    }
    this.free -= size;
  }

  /** Returns a used range to the pool. Cloud-reserved addresses stay reserved. */
  release(start: number, size: number): void {
    for (let i = start; i < start + size; i++) {
      if (this.state[i] === USED) {
        this.state[i] = FREE;
        this.free += 1;
      }
    }
  }

  /** Applies (or with `undefined`, clears) an `explicit`/`prefix` reservation mark. */
  mark(start: number, size: number, type: 'explicit' | 'prefix' | undefined): void {
    const v = type === 'explicit' ? RESV_EXPLICIT : type === 'prefix' ? RESV_PREFIX : RESV_NONE;
    this.resv.fill(v, start, start + size);
  }

  /**
   * Chooses `count` addresses for automatic assignment, uniformly at random
   * among the free ones outside reservations. Returns their offsets in
   * ascending order without taking them, or undefined when there are not enough.
   */
  chooseRandomIps(count: number, prng: Prng): number[] | undefined {
    const candidates: number[] = [];
    for (let i = 0; i < this.block.size; i++)
      if (this.state[i] === FREE && this.resv[i] === RESV_NONE) candidates.push(i);
    return pickK(candidates, count, prng)?.sort((x, y) => x - y);
  }

  /**
   * Aligned blocks of `prefixLength` whose every address is free and which
   * overlap no `explicit` reservation. Blocks touching the cloud-reserved
   * addresses (the subnet's first and last /28 on EC2) never qualify.
   */
  freeAlignedBlocks(prefixLength: number): { preferred: number[]; other: number[] } {
    const size = addressCount(4, prefixLength);
    const preferred: number[] = [];
    const other: number[] = [];
    if (prefixLength < this.block.prefixLength) return { preferred, other };
    for (let s = 0; s + size <= this.block.size; s += size) {
      let ok = true;
      let inPrefixResv = true;
      for (let i = s; i < s + size; i++) {
        if (this.state[i] !== FREE || this.resv[i] === RESV_EXPLICIT) {
          ok = false;
          break;
        }
        if (this.resv[i] !== RESV_PREFIX) inPrefixResv = false;
      }
      if (ok) (inPrefixResv ? preferred : other).push(s);
    }
    return { preferred, other };
  }

  /** Number of aligned, entirely free blocks of `prefixLength` the cloud could delegate. */
  countFreeBlocks(prefixLength: number): number {
    const { preferred, other } = this.freeAlignedBlocks(prefixLength);
    return preferred.length + other.length;
  }

  /**
   * Chooses `count` aligned free blocks, from `prefix` reservations first (as
   * EC2 does, per amazon-vpc-cni-k8s#2749), randomly within each tier.
   * Returns their start offsets in ascending order without taking them, or
   * undefined when there are not enough.
   */
  chooseRandomBlocks(count: number, prefixLength: number, prng: Prng): number[] | undefined {
    const { preferred, other } = this.freeAlignedBlocks(prefixLength);
    if (preferred.length + other.length < count) return undefined;
    const fromPreferred = pickK(preferred, Math.min(count, preferred.length), prng) ?? [];
    const fromOther = pickK(other, count - fromPreferred.length, prng) ?? [];
    return [...fromPreferred, ...fromOther].sort((x, y) => x - y);
  }

  /** Dotted address at an offset. */
  ipAt(offset: number): string {
    return ipOf(this.addr(offset));
  }

  /** CIDR of the block of `prefixLength` starting at an offset. */
  cidrAt(offset: number, prefixLength: number): string {
    return cidrOf(this.addr(offset), prefixLength);
  }

  /** The cloud-reserved addresses, as /32 CIDRs. */
  cloudReservedCidrs(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.block.size; i++) if (this.state[i] === CLOUD_RESERVED) out.push(cidrOf(this.addr(i), 32));
    return out;
  }

  private addr(offset: number): bigint {
    return this.block.start + BigInt(offset);
  }
}

/** `k` distinct items chosen uniformly (partial Fisher–Yates on a copy), or undefined when k > n. */
function pickK(items: readonly number[], k: number, prng: Prng): number[] | undefined {
  if (k > items.length) return undefined;
  const a = items.slice();
  for (let i = 0; i < k; i++) {
    const j = i + prng.int(a.length - i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, k);
}
