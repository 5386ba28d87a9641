/**
 * @module free-address search
 * Which free address an ADD gets. Bin-packed: the fullest interface, then the fullest block, then the lowest
 * address. Empty interfaces and prefixes can then be released after churn (the AWS VPC CNI picks at random and
 * cannot shrink). Blocks are ranges (./state.ts), so the search never lists a block's addresses.
 */
import type { BlockKind, NetworkInterface } from '../../providers/types.js';
import { hasRoom, isCoolingAt, type AddressSlot, type BlockState, type InterfaceState } from './state.js';

export interface FreeSearch {
  /** The pool's block kind: only its blocks, and fallback blocks, hand out addresses. */
  mode: BlockKind;
  isFallback(b: BlockState): boolean;
  /** Whether Pods may get addresses of this interface now (its host link may not be ready yet). */
  handOutFrom(nic: NetworkInterface): boolean;
  now: number;
}

/** The address an ADD gets now, or undefined when every address is held, cooling or held back. */
export function pickFree(interfaces: Iterable<InterfaceState>, s: FreeSearch): AddressSlot | undefined {
  const ifaces = [...interfaces]
    .filter((i) => i.usable && s.handOutFrom(i.nic))
    .sort((a, b) => b.assigned - a.assigned || a.nic.deviceIndex - b.nic.deviceIndex);
  for (const i of ifaces) {
    // Fallback /32s come after the mode's blocks, so they empty first and can drain.
    const blocks = [...i.blocks.values()]
      .filter((b) => (b.kind === s.mode || s.isFallback(b)) && hasRoom(b))
      .sort(
        (a, b) =>
          Number(a.kind !== s.mode) - Number(b.kind !== s.mode) ||
          b.assigned.size - a.assigned.size ||
          (a.cidr < b.cidr ? -1 : 1),
      );
    for (const block of blocks) {
      const offset = firstFreeOffset(block, s.now);
      if (offset !== undefined) return { block, offset };
    }
  }
  return undefined;
}

/** The lowest offset neither held nor cooling; it looks at most at those recorded plus one. */
function firstFreeOffset(b: BlockState, now: number): bigint | undefined {
  for (let o = 0n; o < b.range.size; o++) if (!b.assigned.has(o) && !isCoolingAt(b, o, now)) return o;
  return undefined;
}
