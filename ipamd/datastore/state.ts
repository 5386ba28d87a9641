/**
 * @module datastore state
 * The datastore's internal records (an interface, its blocks, their addresses, with back links for O(1)
 * release) and how one interface reads in a {@link PoolSnapshot}: counted by kind, with its free, stale and
 * fallback blocks. Kept apart from the datastore's mutations so the read model is one pure function.
 */
import type { BlockKind, NetworkInterface } from '../../providers/types.js';
import type { Assignment, InterfaceView } from './types.js';

export interface AddressState {
  ip: string;
  block: BlockState;
  assignment?: Assignment;
  coolingUntil?: number;
}

export interface BlockState {
  cidr: string;
  kind: BlockKind;
  iface: InterfaceState;
  addresses: AddressState[];
  assigned: number;
}

export interface InterfaceState {
  nic: NetworkInterface;
  usable: boolean;
  createdAt: number;
  blocks: Map<string, BlockState>;
  assigned: number;
}

export interface ViewContext {
  /** The pool's block kind: blocks of the other kind are stale (a mode switch is draining them). */
  mode: BlockKind;
  /** A secondary-IP block serving as fallback capacity in prefix mode. */
  isFallback(b: BlockState): boolean;
  /** Whether the address is cooling down now (it may clear an expired cooldown as it looks). */
  isCooling(a: AddressState): boolean;
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
    let blockCooling = 0;
    for (const a of b.addresses) {
      if (ctx.isCooling(a)) {
        blockCooling++;
        nextCoolingExpiry = Math.min(nextCoolingExpiry ?? Infinity, a.coolingUntil!);
      }
    }
    if (ctx.isFallback(b)) {
      v.fallbackIps = (v.fallbackIps ?? 0) + 1;
      if (b.assigned === 0 && blockCooling === 0) (v.freeFallbackIps ??= []).push(b.cidr);
      v.addresses += b.addresses.length;
      v.assigned += b.assigned;
      v.cooling += blockCooling;
      continue;
    }
    if (b.kind !== ctx.mode) {
      v.staleAssigned += b.assigned;
      if (b.assigned === 0 && blockCooling === 0) v.staleBlocks.push(b.cidr);
      continue;
    }
    v.blocks++;
    v.addresses += b.addresses.length;
    v.assigned += b.assigned;
    v.cooling += blockCooling;
    if (b.assigned === 0 && blockCooling === 0) v.freeBlocks.push(b.cidr);
  }
  return { view: v, ...(nextCoolingExpiry !== undefined ? { nextCoolingExpiry } : {}) };
}
