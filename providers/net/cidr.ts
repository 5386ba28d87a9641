/**
 * @module cidr
 * Block and address math for IPv4 and IPv6, all through `ip-address`: the one place that knows how many
 * addresses a prefix holds, which address sits at an offset and which offset an address has. A block is a
 * range (first address and size, as bigints), never a list of its addresses: an IPv6 /80 holds 2^48 of them.
 *
 * It lives under providers/ so that the providers and ipamd can both use it (providers/ imports nothing of
 * ipamd/).
 */
import { Address4, Address6 } from 'ip-address';
import { IpamError } from '../errors.js';

export type IpFamily = 4 | 6;

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

/** A parsed CIDR: the block's first address, its prefix length and how many addresses it holds. */
export interface Cidr {
  readonly family: IpFamily;
  /** The block's first address (host bits cleared). */
  readonly base: bigint;
  readonly prefixLength: number;
  /** 2^(address bits − prefixLength). */
  readonly size: bigint;
}

/** One address as a number of its family. */
export interface IpAddress {
  readonly family: IpFamily;
  readonly value: bigint;
}

/**
 * A string that is no CIDR or address of either family, or a block size a number cannot hold. Callers that
 * take operator input check with {@link tryParseCidr} first and raise their own ConfigError, so reaching this
 * means the code handed itself bad data.
 */
export class CidrError extends IpamError {
  constructor(
    readonly input: string,
    message: string,
  ) {
    super('INTERNAL', message);
  }
}

type Parsed = Address4 | Address6;

function parse(text: string): Parsed | undefined {
  // A zone (`fe80::1%eth0`) names a link, not an address a VPC hands out.
  if (typeof text !== 'string' || text.includes('%')) return undefined;
  try {
    if (Address4.isValid(text)) return new Address4(text);
    if (Address6.isValid(text)) return new Address6(text);
  } catch {
    // ip-address throws for some shapes isValid lets through; either way it is no address.
  }
  return undefined;
}

const familyOfParsed = (a: Parsed): IpFamily => (a instanceof Address4 ? 4 : 6);

/** Addresses in a block of `prefixLength` (a /28 holds 16n, an IPv6 /80 2n ** 48n). */
export function blockSize(family: IpFamily, prefixLength: number): bigint {
  const bits = BITS[family];
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > bits) {
    throw new CidrError(`/${prefixLength}`, `prefix length ${prefixLength} is not one of IPv${family} (0 to ${bits})`);
  }
  return 1n << BigInt(bits - prefixLength);
}

/**
 * {@link blockSize} as a number, for the counts the pool math keeps in numbers: every IPv4 block, IPv6 blocks
 * of /75 and longer. Throws rather than round for a block whose size a number cannot hold exactly.
 */
export function addressCount(family: IpFamily, prefixLength: number): number {
  const size = blockSize(family, prefixLength);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CidrError(`/${prefixLength}`, `an IPv${family} /${prefixLength} holds ${size} addresses, past a number`);
  }
  return Number(size);
}

/** Parses `a.b.c.d[/n]` or an IPv6 address `[/n]` (a bare address is a /32 or /128); undefined otherwise. */
export function tryParseCidr(text: string, opts: { strict?: boolean } = {}): Cidr | undefined {
  const a = parse(text);
  if (!a) return undefined;
  const family = familyOfParsed(a);
  const base = a.startAddress().bigInt();
  // Strict: host bits refused (`10.0.0.5/24`), as the clouds do for subnet and prefix CIDRs.
  if (opts.strict && base !== a.bigInt()) return undefined;
  return { family, base, prefixLength: a.subnetMask, size: blockSize(family, a.subnetMask) };
}

/** {@link tryParseCidr}, throwing a {@link CidrError} for text that is no CIDR. */
export function parseCidr(text: string, opts: { strict?: boolean } = {}): Cidr {
  const c = tryParseCidr(text, opts);
  if (!c) {
    const what = opts.strict ? 'an IPv4 or IPv6 CIDR without host bits' : 'an IPv4 or IPv6 CIDR';
    throw new CidrError(text, `${JSON.stringify(text)} is not ${what}`);
  }
  return c;
}

/** A bare address of either family (no prefix length); undefined for anything else. */
export function parseAddress(text: string): IpAddress | undefined {
  if (typeof text !== 'string' || text.includes('/')) return undefined;
  const a = parse(text);
  return a && { family: familyOfParsed(a), value: a.bigInt() };
}

/** Whether `text` is a CIDR whose address is its block's first (`10.0.0.0/24` yes, `10.0.0.5/24` no). */
export function isNetworkAddress(text: string): boolean {
  return tryParseCidr(text, { strict: true }) !== undefined;
}

/** The text form of an address: dotted quad, or RFC 5952 for IPv6 (`2001:db8::5`). */
export function formatAddress(family: IpFamily, value: bigint): string {
  return family === 4 ? Address4.fromBigInt(value).correctForm() : Address6.fromBigInt(value).correctForm();
}

/** `base/prefixLength` in text form. */
export function formatCidr(c: Cidr): string {
  return `${formatAddress(c.family, c.base)}/${c.prefixLength}`;
}

/** The address `offset` places after the block's first; throws past the block's end. */
export function addressAt(c: Cidr, offset: bigint): string {
  if (offset < 0n || offset >= c.size) {
    throw new CidrError(formatCidr(c), `offset ${offset} is outside ${formatCidr(c)} (${c.size} addresses)`);
  }
  return formatAddress(c.family, c.base + offset);
}

/** How far past the block's first address `ip` is; undefined when it is not in the block (or no address). */
export function offsetOf(c: Cidr, ip: string | IpAddress): bigint | undefined {
  const a = typeof ip === 'string' ? parseAddress(ip) : ip;
  if (!a || a.family !== c.family) return undefined;
  const offset = a.value - c.base;
  return offset >= 0n && offset < c.size ? offset : undefined;
}

/** Whether the block holds the address. Accepts texts or parsed forms; text that does not parse holds nothing. */
export function containsAddress(block: string | Cidr, ip: string | IpAddress): boolean {
  const c = typeof block === 'string' ? tryParseCidr(block) : block;
  return c !== undefined && offsetOf(c, ip) !== undefined;
}
