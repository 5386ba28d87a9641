/**
 * @module datastore types
 * The node's address model: interfaces → blocks (a /32 secondary IP or a
 * delegated prefix, of either address family) → assignments. A block is a
 * range; its addresses are offsets from its first one, and only those that
 * are not free are recorded (see ./state.ts).
 *
 * An address is in exactly one state:
 * - assigned: held by an attachment, keyed like the CNI cache by
 *   (network name, container ID, interface name);
 * - cooling: released less than IP_COOLDOWN_PERIOD ago. It is NOT available:
 *   kube-proxy and NetworkPolicy agents may still route the old Pod's traffic
 *   to it (the AWS VPC CNI counts cooling IPs as free; its issue #2896);
 * - free: can be handed out now.
 */
import type { AttachmentKey, PodRef } from '../../cni/contract/protocol.js';
import type { BlockKind } from '../../providers/types.js';

export interface Assignment extends AttachmentKey {
  ip: string;
  interfaceId: string;
  blockCidr: string;
  pod: PodRef;
  /** Epoch ms. */
  assignedAt: number;
  /** Host veth name when it is not ours to compute (a Pod adopted from aws-node: ipamd/adopt/). */
  hostIf?: string;
}

/** Per-interface numbers the pool planner works from (current address mode only, unless said). */
export interface InterfaceView {
  id: string;
  deviceIndex: number;
  subnetId: string;
  primary: boolean;
  /** False for interfaces that must not host Pods (e.g. primary under custom networking). */
  usable: boolean;
  createdAt: number;
  /** Slots taken by blocks of any kind: each secondary IP or prefix uses one of the interface's IPv4 slots. */
  slotsUsed: number;
  /** Blocks of the current mode. */
  blocks: number;
  addresses: number;
  assigned: number;
  cooling: number;
  /** Current-mode blocks with nothing assigned and nothing cooling: safe to release. */
  freeBlocks: string[];
  /** Blocks of the other mode (after a mode switch) that are now empty: release them. */
  staleBlocks: string[];
  /** Addresses still assigned in blocks of the other mode (kept until their Pods go). */
  staleAssigned: number;
  /**
   * Prefix mode with the IP fallback on: secondary-IP blocks counted as usable
   * (their addresses are in `addresses`/`assigned`/`cooling`, not in `blocks`/`freeBlocks`).
   */
  fallbackIps?: number;
  /** Those of the fallback /32s with nothing assigned and nothing cooling. */
  freeFallbackIps?: string[];
}

export interface PoolSnapshot {
  now: number;
  mode: BlockKind;
  /** Addresses per block in the current mode (1 or 16). */
  blockSize: number;
  /** Current-mode addresses on usable interfaces. */
  total: number;
  assigned: number;
  cooling: number;
  /** total − assigned − cooling: what an ADD can get right now. */
  available: number;
  /** Earliest time a cooling address becomes free, if any. */
  nextCoolingExpiry: number | undefined;
  interfaces: InterfaceView[];
  /** ADDs waiting for an address right now (demand the pool must meet). */
  waiting: number;
}

export function keyString(k: AttachmentKey): string {
  return `${k.network}\u0000${k.containerId}\u0000${k.ifName}`;
}
