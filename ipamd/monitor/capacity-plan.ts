/**
 * @module capacity plan
 * Subnet sizing before launch (`vpc-ipamctl plan`): how many nodes and Pods
 * fit in a subnet at given pool settings, and what subnet a target needs.
 * IPAM is hard to change on a live cluster, so this is worth doing first.
 * Pure: the per-node numbers come from {@link nodeFootprint} (the real
 * planner), the subnet's from {@link analyzeSubnet}.
 *
 * Secondary-IP mode is exact: a node at P Pods takes
 * `footprint(P).subnetAddresses` (pool plus one primary per interface), so
 * `nodes = floor(usable / that)`.
 *
 * Prefix mode depends on where the interfaces' primary /32s land, since one
 * /32 in an otherwise free /28 makes it undelegable (aws-vpc-cni.md §9.5):
 * - best case (a `prefix` CIDR reservation keeps /32s out of the prefix
 *   space; primaries pack into the reserved-edge blocks first, then into
 *   whole /28s given up to them): N·b + ceil(max(0, N·i − edge)/16) ≤ B;
 * - worst case (every primary breaks its own /28): N·(b + i) ≤ B;
 * with b prefixes and i Pod-subnet interfaces per node, B the delegable /28s
 * and `edge` the free addresses of the /28s that touch reserved addresses.
 * The random placement EC2 really does lies in between; `placement-sim.ts`
 * plays it out on the sim cloud.
 */
import { nodeFootprint, type FootprintInput, type NodeFootprint } from './node-footprint.js';
import { analyzeSubnet, type ReservedRule } from './subnet-space.js';
import { addressCount } from '../../providers/net/cidr.js';

export interface PlanInput {
  subnetCidr: string;
  reserved: ReservedRule;
  prefixLength: number;
  footprint: FootprintInput;
  podsPerNode: number;
  /** Target node count for sizing. */
  nodes?: number;
}

export interface Fit {
  nodes: number;
  pods: number;
}

export interface PlanResult {
  /** The node at 0 Pods (its warm-pool overhead) and at the target Pod count. */
  empty: NodeFootprint;
  full: NodeFootprint;
  subnet: { cidr: string; total: number; prefixBlocks: number; edgeFree: number };
  /** ip mode: exact. prefix mode: best and worst case. */
  fit: { exact?: Fit; best?: Fit; worst?: Fit };
  /** For `nodes`: the longest prefix length (smallest subnet) that fits, per case. */
  need?: { nodes: number; exact?: number; best?: number; worst?: number };
}

interface Space {
  total: number;
  blocks: number;
  edgeFree: number;
}

function spaceOf(cidr: string, reserved: ReservedRule, prefixLength: number): Space {
  const s = analyzeSubnet(cidr, [], { reserved, prefixLength });
  const blockSize = addressCount(4, prefixLength);
  return { total: s.total, blocks: s.freePrefixBlocks, edgeFree: s.free - s.freePrefixBlocks * blockSize };
}

/** Largest n with ok(n), for ok monotone decreasing in n; 0 when even 1 does not fit. */
function maxN(ok: (n: number) => boolean, upper: number): number {
  let lo = 0;
  let hi = Math.max(0, upper);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function fits(mode: 'exact' | 'best' | 'worst', n: number, f: NodeFootprint, sp: Space, blockSize: number): boolean {
  if (mode === 'exact') return n * f.subnetAddresses <= sp.total;
  const b = f.blocks;
  const i = f.subnetInterfaces;
  if (mode === 'worst') return n * (b + i) <= sp.blocks;
  const spill = Math.max(0, n * i - sp.edgeFree);
  return n * b + Math.ceil(spill / blockSize) <= sp.blocks;
}

/** Longest prefix length from `from` down to /8 whose subnet holds `nodes` nodes in this case. */
function smallestSubnet(
  mode: 'exact' | 'best' | 'worst',
  nodes: number,
  f: NodeFootprint,
  input: PlanInput,
  blockSize: number,
): number | undefined {
  for (let len = Math.min(28, input.prefixLength); len >= 8; len--) {
    const sp = spaceOf(`10.0.0.0/${len}`, input.reserved, input.prefixLength);
    if (fits(mode, nodes, f, sp, blockSize)) return len;
  }
  return undefined;
}

export function planCapacity(input: PlanInput): PlanResult {
  const fp = input.footprint;
  const blockSize = fp.mode === 'prefix' ? addressCount(4, input.prefixLength) : 1;
  const empty = nodeFootprint(fp, 0);
  const full = nodeFootprint(fp, input.podsPerNode);
  const sp = spaceOf(input.subnetCidr, input.reserved, input.prefixLength);
  const cases: Array<'exact' | 'best' | 'worst'> = fp.mode === 'prefix' ? ['best', 'worst'] : ['exact'];
  const fit: PlanResult['fit'] = {};
  for (const c of cases) {
    const n = maxN((k) => fits(c, k, full, sp, blockSize), sp.total);
    fit[c] = { nodes: n, pods: n * full.pods };
  }
  const out: PlanResult = {
    empty,
    full,
    subnet: {
      cidr: analyzeSubnet(input.subnetCidr, [], input).cidr,
      total: sp.total,
      prefixBlocks: sp.blocks,
      edgeFree: sp.edgeFree,
    },
    fit,
  };
  if (input.nodes !== undefined) {
    const need: NonNullable<PlanResult['need']> = { nodes: input.nodes };
    for (const c of cases) {
      const len = smallestSubnet(c, input.nodes, full, input, blockSize);
      if (len !== undefined) need[c] = len;
    }
    out.need = need;
  }
  return out;
}
