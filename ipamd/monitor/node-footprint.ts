/**
 * @module node footprint
 * How many subnet addresses one node takes at given pool settings and Pod
 * count. Rather than a second copy of the warm-pool rules (which would drift
 * from the real ones), it runs the daemon's own pure planner on a synthetic
 * snapshot: start with the primary interface and no blocks, place the Pods,
 * apply the planner's growth actions, repeat until the planner is content.
 * That is exactly how a fresh node's pool grows, so the result is the pool
 * a node of that type really holds: WARM_ENI_TARGET rounding to whole
 * interfaces, WARM_IP_TARGET/MINIMUM_IP_TARGET, WARM_PREFIX_TARGET in /28s.
 */
import type { BlockKind } from '../../providers/types.js';
import type { WarmTargets } from '../config.js';
import type { InterfaceView, PoolSnapshot } from '../datastore/types.js';
import { planPool, type PoolLimits } from '../pool/planner.js';

export interface FootprintInput {
  limits: PoolLimits;
  targets: WarmTargets;
  mode: BlockKind;
  /** Addresses per block: 1 for IPs, 16 for an AWS /28. */
  blockSize: number;
  /** Custom networking: the primary interface hosts no Pods and sits in another subnet. */
  primaryUnusable?: boolean;
}

export interface NodeFootprint {
  /** Pods placed (capped at capacity). */
  pods: number;
  /** Pods asked for that did not fit on the node. */
  unplaced: number;
  interfaces: number;
  /** Secondary IPs or prefixes held. */
  blocks: number;
  /** Pod-usable addresses in the pool (blocks × blockSize). */
  addresses: number;
  /** addresses − pods: the warm pool at this Pod count. */
  warm: number;
  /** Pod subnet addresses taken: the pool plus each Pod-subnet interface's own primary address. */
  subnetAddresses: number;
  /** Pod-subnet interfaces (each has a primary /32 that can break a /28). */
  subnetInterfaces: number;
  /** Most Pod addresses the node could ever hold at these limits. */
  capacity: number;
}

interface SimNic {
  id: string;
  deviceIndex: number;
  usable: boolean;
  blocks: number;
}

function view(n: SimNic, assigned: number, blockSize: number): InterfaceView {
  const usedBlocks = Math.ceil(assigned / blockSize);
  return {
    id: n.id,
    deviceIndex: n.deviceIndex,
    subnetId: 'subnet-plan',
    primary: n.deviceIndex === 0,
    usable: n.usable,
    createdAt: 0,
    slotsUsed: n.blocks,
    blocks: n.blocks,
    addresses: n.blocks * blockSize,
    assigned,
    cooling: 0,
    freeBlocks: Array.from({ length: n.blocks - usedBlocks }, (_, k) => `${n.id}-free-${k}`),
    staleBlocks: [],
    staleAssigned: 0,
  };
}

function snapshotOf(nics: SimNic[], pods: number, input: FootprintInput): PoolSnapshot {
  let left = pods;
  // Bin-packed like the datastore: lowest device index first.
  const views = nics.map((n) => {
    const cap = n.usable ? n.blocks * input.blockSize : 0;
    const a = Math.min(cap, left);
    left -= a;
    return view(n, a, input.blockSize);
  });
  const total = views.filter((v) => v.usable).reduce((s, v) => s + v.addresses, 0);
  const assigned = pods - left;
  return {
    now: 1e12,
    mode: input.mode,
    blockSize: input.blockSize,
    total,
    assigned,
    cooling: 0,
    available: total - assigned,
    nextCoolingExpiry: undefined,
    interfaces: views,
    waiting: left,
  };
}

/** The pool one node holds with `pods` Pods, grown by the planner from an empty primary interface. */
export function nodeFootprint(input: FootprintInput, pods: number): NodeFootprint {
  if (!Number.isInteger(pods) || pods < 0) throw new RangeError(`pods must be a whole number >= 0, got ${pods}`);
  const L = input.limits;
  const usableInterfaces = input.primaryUnusable ? L.maxInterfaces - 1 : L.maxInterfaces;
  const capacity = Math.max(0, usableInterfaces) * L.slotsPerInterface * input.blockSize;
  const placed = Math.min(pods, capacity);
  const nics: SimNic[] = [{ id: 'if-0', deviceIndex: 0, usable: !input.primaryUnusable, blocks: 0 }];
  // Each growth round adds at least one block or one interface, so this bound is never reached in practice.
  const maxRounds = L.maxInterfaces * (L.slotsPerInterface + 2) + 4;
  for (let round = 0; round < maxRounds; round++) {
    const s = snapshotOf(nics, placed, input);
    const plan = planPool(s, input.targets, L, { shrinkIntervalMs: Infinity, minInterfaceLifetimeMs: Infinity });
    let grew = false;
    for (const a of plan.actions) {
      if (a.kind === 'assign') {
        const n = nics.find((x) => x.id === a.interfaceId)!;
        const add = Math.min(a.count, L.slotsPerInterface - n.blocks);
        if (add > 0) {
          n.blocks += add;
          grew = true;
        }
      } else if (a.kind === 'createInterface' && nics.length < L.maxInterfaces) {
        nics.push({
          id: `if-${nics.length}`,
          deviceIndex: nics.length,
          usable: true,
          blocks: Math.min(a.count, L.slotsPerInterface),
        });
        grew = true;
      }
    }
    if (!grew) break;
  }
  const blocks = nics.filter((n) => n.usable).reduce((s, n) => s + n.blocks, 0);
  const addresses = blocks * input.blockSize;
  const subnetInterfaces = nics.length - (input.primaryUnusable ? 1 : 0);
  return {
    pods: placed,
    unplaced: pods - placed,
    interfaces: nics.length,
    blocks,
    addresses,
    warm: addresses - placed,
    subnetAddresses: addresses + subnetInterfaces,
    subnetInterfaces,
    capacity,
  };
}
