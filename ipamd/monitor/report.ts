/**
 * @module subnet report
 * One row of the headroom table: a subnet's space (exact, from the cloud's
 * allocations), where the node side holds its addresses, the trend, and the
 * headroom at the current pool settings. Pure; the monitor supplies inputs.
 *
 * Headroom formulas (docs/capacity.md, "Headroom"):
 *
 *   capacity      = free addresses                      (ip mode)
 *                 = free prefix blocks × block size     (prefix mode: a Pod needs an address in a delegable block)
 *   headroomPods  = max(0, capacity + held − warmReserve)
 *   headroomNodes = floor(capacityFree / newNode)       (when the new-node footprint is known)
 *
 * `held` are addresses already in node pools and not serving a Pod: they can
 * take Pods on those nodes. `warmReserve` is the sum of the nodes' warm
 * targets: addresses the pools keep free whatever happens, so no Pod gets
 * them while the settings stay. `newNode` is what a new node takes at zero
 * Pods (its primary interface address plus its warm pool; in prefix mode its
 * blocks plus one block per primary, the worst case of a /32 landing in an
 * otherwise free /28).
 */
import type { Subnet } from '../../providers/types.js';
import type { Trend } from './forecast.js';
import type { SubnetUsage } from './pool-usage.js';
import type { SubnetSpace } from './subnet-space.js';
import { addressCount } from '../../providers/net/cidr.js';

export type AddressMode = 'ip' | 'prefix';

/** What a node that joins with no Pods takes from the subnet. */
export interface NewNodeCost {
  /** Subnet addresses (pool + interface primaries). */
  addresses: number;
  /** Prefix blocks (prefix mode) including one per interface primary, worst case. */
  blocks: number;
}

export interface SubnetReport {
  subnetId: string;
  zone: string;
  cidr: string;
  vpcId: string;
  /** Epoch ms of the cloud read these numbers come from. */
  sampledAt: number;
  /** Set when the last read failed; the numbers are from `sampledAt`. */
  error?: string;
  mode: AddressMode;
  /** Usable addresses (CIDR size − reserved). */
  total: number;
  reserved: number;
  used: number;
  free: number;
  /** Undefined when the provider cannot list a subnet's allocations (only its free count). */
  freePrefixBlocks?: number;
  prefixLength: number;
  largestFreeBlock?: { cidr: string; prefixLength: number; addresses: number };
  fragmentation?: number;
  freeRuns?: number;
  /** Addresses in node pools not assigned to Pods (warm + cooling). */
  held: number;
  assigned: number;
  nodes: number;
  warmReserve: number;
  /** Addresses per second; positive = being consumed. Undefined until the window has enough samples. */
  consumptionPerSecond?: number;
  /** Seconds until the subnet cannot serve the mode in use (see {@link buildReport}). */
  etaSeconds?: number;
  addressEtaSeconds?: number;
  prefixBlockConsumptionPerSecond?: number;
  prefixBlockEtaSeconds?: number;
  headroomPods: number;
  headroomNodes?: number;
}

export interface ReportInput {
  subnet: Subnet;
  sampledAt: number;
  mode: AddressMode;
  prefixLength: number;
  /** From the allocations; when missing, only `subnet.availableAddresses` is known. */
  space?: SubnetSpace;
  /** Used when `space` is missing: total usable addresses from CIDR size and reserved rule. */
  fallbackTotal?: { total: number; reserved: number };
  usage?: SubnetUsage;
  addressTrend?: Trend;
  blockTrend?: Trend;
  newNode?: NewNodeCost;
}

export function buildReport(i: ReportInput): SubnetReport {
  const blockSize = addressCount(4, i.prefixLength);
  const free = i.space?.free ?? i.subnet.availableAddresses;
  const total = i.space?.total ?? i.fallbackTotal?.total ?? free;
  const reserved = i.space?.reserved ?? i.fallbackTotal?.reserved ?? 0;
  const u = i.usage ?? { total: 0, assigned: 0, held: 0, nodes: 0, warmReserve: 0 };
  const freeBlocks = i.space?.freePrefixBlocks;
  const capacity = i.mode === 'prefix' ? (freeBlocks ?? Math.floor(free / blockSize)) * blockSize : free;
  const r: SubnetReport = {
    subnetId: i.subnet.id,
    zone: i.subnet.zone,
    cidr: i.subnet.cidr,
    vpcId: i.subnet.vpcId,
    sampledAt: i.sampledAt,
    mode: i.mode,
    total,
    reserved,
    used: total - free,
    free,
    prefixLength: i.prefixLength,
    held: u.held,
    assigned: u.assigned,
    nodes: u.nodes,
    warmReserve: u.warmReserve,
    headroomPods: Math.max(0, capacity + u.held - u.warmReserve),
  };
  if (i.space) {
    r.freePrefixBlocks = i.space.freePrefixBlocks;
    if (i.space.largestFreeBlock) r.largestFreeBlock = { ...i.space.largestFreeBlock };
    r.fragmentation = i.space.fragmentation;
    r.freeRuns = i.space.freeRuns;
  }
  if (i.addressTrend) {
    r.consumptionPerSecond = i.addressTrend.ratePerSecond;
    r.addressEtaSeconds = i.addressTrend.etaSeconds;
    r.etaSeconds = i.addressTrend.etaSeconds;
  }
  if (i.blockTrend) {
    r.prefixBlockConsumptionPerSecond = i.blockTrend.ratePerSecond;
    r.prefixBlockEtaSeconds = i.blockTrend.etaSeconds;
    // In prefix mode the subnet is exhausted when the first of addresses and /28s runs out.
    if (i.mode === 'prefix') r.etaSeconds = Math.min(r.etaSeconds ?? Infinity, i.blockTrend.etaSeconds);
  }
  if (i.newNode) {
    const perNode = i.mode === 'prefix' ? i.newNode.blocks : i.newNode.addresses;
    const room = i.mode === 'prefix' ? (freeBlocks ?? Math.floor(free / blockSize)) : free;
    r.headroomNodes = perNode > 0 ? Math.floor(room / perNode) : undefined;
  }
  return r;
}
