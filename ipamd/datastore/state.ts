/**
 * @module datastore state
 * The datastore's internal records (an interface, its blocks, their allocation state) and how one interface
 * reads in a {@link PoolSnapshot}: counted by kind, with its free, stale and fallback blocks. Kept apart from the
 * datastore's mutations so the read model is one pure function.
 *
 * A block is a range, never a list of its addresses: an IPv6 /80 prefix holds 2^48 of them. What it records is
 * the addresses that are not free, by offset from its first address; every other offset is free.
 */
import { offsetOf, parseAddress, type Cidr } from '../../providers/net/cidr.js';
import type { BlockKind, NetworkInterface } from '../../providers/types.js';
import type { Assignment, InterfaceView } from './types.js';

export interface BlockState {
  cidr: string;
  kind: BlockKind;
  iface: InterfaceState;
  range: Cidr;
  /** Held addresses, by offset from the block's first address. */
  assigned: Map<bigint, Assignment>;
  /** Cooling addresses, by offset. Expired entries go on the next look. */
  cooling: Map<bigint, Cooldown>;
}

export interface Cooldown {
  /** When the address becomes free (epoch ms). */
  until: number;
  /** The address in text, kept so the checkpoint written on every change need not format it again. */
  ip: string;
}

export interface InterfaceState {
  nic: NetworkInterface;
  usable: boolean;
  createdAt: number;
  blocks: Map<string, BlockState>;
  assigned: number;
}

/** One held address: the record the datastore keeps per attachment key. */
export interface Binding extends AddressSlot {
  assignment: Assignment;
}

/** One address of one block. */
export interface AddressSlot {
  block: BlockState;
  offset: bigint;
}

/** The block holding `ip` and its offset there; undefined when none of `blocks` holds it. */
export function locateAddress(blocks: Iterable<BlockState>, ip: string): AddressSlot | undefined {
  const addr = parseAddress(ip);
  if (!addr) return undefined;
  for (const block of blocks) {
    const offset = offsetOf(block.range, addr);
    if (offset !== undefined) return { block, offset };
  }
  return undefined;
}

/** The block's running cooldowns, lowest address first (as when blocks were lists of addresses). */
export function coolingOf(b: BlockState, now: number): Array<{ ip: string; until: number }> {
  if (expireCooling(b, now) === 0) return [];
  const offsets = [...b.cooling.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  return offsets.map((o) => {
    const c = b.cooling.get(o)!;
    return { ip: c.ip, until: c.until };
  });
}

export interface ViewContext {
  /** The pool's block kind: blocks of the other kind are stale (a mode switch is draining them). */
  mode: BlockKind;
  /** A secondary-IP block serving as fallback capacity in prefix mode. */
  isFallback(b: BlockState): boolean;
  now: number;
}

/** Drops the cooldowns of `b` that have ended by `now`; returns how many are still running. */
export function expireCooling(b: BlockState, now: number): number {
  for (const [offset, c] of b.cooling) if (c.until <= now) b.cooling.delete(offset);
  return b.cooling.size;
}

/** Whether the address at `offset` is cooling down at `now` (clearing a cooldown that has ended). */
export function isCoolingAt(b: BlockState, offset: bigint, now: number): boolean {
  const until = b.cooling.get(offset)?.until;
  if (until === undefined) return false;
  if (until <= now) {
    b.cooling.delete(offset);
    return false;
  }
  return true;
}

/** Whether some address of the block is neither held nor cooling (without looking at each). */
export function hasRoom(b: BlockState): boolean {
  return BigInt(b.assigned.size) < b.range.size;
}

/** One interface as the snapshot shows it, and the earliest end of a cooldown on it. */
export function interfaceView(
  i: InterfaceState,
  ctx: ViewContext,
): { view: InterfaceView; nextCoolingExpiry?: number } {
  let nextCoolingExpiry: number | undefined;
  const v: InterfaceView = {
    id: i.nic.id,
    deviceIndex: i.nic.deviceIndex,
    subnetId: i.nic.subnetId,
    primary: i.nic.deviceIndex === 0,
    usable: i.usable,
    createdAt: i.createdAt,
    slotsUsed: i.blocks.size,
    blocks: 0,
    addresses: 0,
    assigned: 0,
    cooling: 0,
    freeBlocks: [],
    staleBlocks: [],
    staleAssigned: 0,
  };
  for (const b of i.blocks.values()) {
    const blockCooling = expireCooling(b, ctx.now);
    for (const c of b.cooling.values()) nextCoolingExpiry = Math.min(nextCoolingExpiry ?? Infinity, c.until);
    const blockAssigned = b.assigned.size;
    const empty = blockAssigned === 0 && blockCooling === 0;
    // Counts stay numbers: exact for every IPv4 block and for IPv6 blocks up to 2^53 addresses (a /75).
    const size = Number(b.range.size);
    if (ctx.isFallback(b)) {
      v.fallbackIps = (v.fallbackIps ?? 0) + 1;
      if (empty) (v.freeFallbackIps ??= []).push(b.cidr);
      v.addresses += size;
      v.assigned += blockAssigned;
      v.cooling += blockCooling;
      continue;
    }
    if (b.kind !== ctx.mode) {
      v.staleAssigned += blockAssigned;
      if (empty) v.staleBlocks.push(b.cidr);
      continue;
    }
    v.blocks++;
    v.addresses += size;
    v.assigned += blockAssigned;
    v.cooling += blockCooling;
    if (empty) v.freeBlocks.push(b.cidr);
  }
  return { view: v, ...(nextCoolingExpiry !== undefined ? { nextCoolingExpiry } : {}) };
}
