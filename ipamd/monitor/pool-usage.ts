/**
 * @module pool usage
 * Where subnet addresses sit on the node side: in node warm pools, or
 * assigned to Pods. The cloud cannot tell the two apart (a warm secondary IP
 * and a Pod's IP look the same to DescribeNetworkInterfaces), so the monitor
 * asks a {@link PoolUsageSource}:
 *
 * - in ipamd, {@link DatastoreUsageSource} reads the daemon's own datastore;
 * - in the cluster monitor, the Kubernetes integration reads each node's
 *   NodeAddressPool (ipamd/k8s/address-pool-source.ts), and during the
 *   upgrade window the older {@link POOL_USAGE_ANNOTATION} Node annotation,
 *   both written by that node's ipamd from {@link usageFromSnapshot}, and
 *   checks either with {@link checkNodePoolUsage};
 * - {@link ListUsageSource} takes a fixed or computed list (tests, simulations).
 */
import { z } from 'zod';
import { BadRequestError } from '../../providers/errors.js';
import type { PoolSnapshot } from '../datastore/types.js';

/** One node's pool, restricted to one subnet. A node with interfaces in two subnets yields two. */
export interface NodePoolUsage {
  /** Node name (or instance id outside Kubernetes). */
  node: string;
  subnetId: string;
  /** Addresses in the node's pool from this subnet: assigned, free and cooling. */
  total: number;
  /** Of those, assigned to Pods. */
  assigned: number;
  /**
   * Addresses the node keeps free at its pool settings when it has no Pods
   * (its warm target, see `node-footprint.ts`). Counted against headroom.
   */
  warmTarget?: number;
  mode?: 'ip' | 'prefix';
  /** When the node observed this (epoch ms). */
  observedAt?: number;
}

/** Supplies the current per-node usage. Called once per monitor pass; may do I/O but no cloud calls. */
export interface PoolUsageSource {
  usage(): Promise<NodePoolUsage[]>;
}

/** Per-subnet sums over nodes. */
export interface SubnetUsage {
  /** Addresses in node pools (assigned included). */
  total: number;
  assigned: number;
  /** total − assigned: held in warm pools (free or cooling), not serving a Pod. */
  held: number;
  /** Distinct nodes with a pool in this subnet. */
  nodes: number;
  /** Sum of the nodes' warm targets (nodes without one count 0). */
  warmReserve: number;
}

/** Node annotation that carries a node's {@link NodePoolUsage} list as JSON (deprecated: NodeAddressPool). */
export const POOL_USAGE_ANNOTATION = 'vpc-ipam.io/pool-usage';

const count = z.number().int().min(0);
const usageSchema = z
  .object({
    node: z.string().min(1),
    subnetId: z.string().min(1),
    total: count,
    assigned: count,
    warmTarget: count.optional(),
    mode: z.enum(['ip', 'prefix']).optional(),
    observedAt: z.number().int().min(0).optional(),
  })
  .strict()
  .refine((u) => u.assigned <= u.total, { message: 'assigned exceeds total' });

/**
 * Parses and checks an annotation value (a JSON array of {@link NodePoolUsage}).
 * Throws BadRequestError naming the node and what was wrong.
 */
export function parseNodePoolUsage(json: string, node: string): NodePoolUsage[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new BadRequestError(`node ${node}: ${POOL_USAGE_ANNOTATION} is not JSON: ${(err as Error).message}`);
  }
  return checkNodePoolUsage(raw, node);
}

/**
 * Checks a decoded list, whatever carried it (the annotation, or a NodeAddressPool's status turned into
 * this shape): the same rules for both, so neither source is trusted more. `what` names the source.
 */
export function checkNodePoolUsage(raw: unknown, node: string, what = POOL_USAGE_ANNOTATION): NodePoolUsage[] {
  const r = z.array(usageSchema).safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new BadRequestError(`node ${node}: ${what} invalid at ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  const foreign = r.data.find((u) => u.node !== node);
  if (foreign) throw new BadRequestError(`node ${node}: ${what} describes another node (${foreign.node})`);
  return r.data;
}

/** One entry per subnet the node's usable interfaces are in, from a datastore snapshot. */
export function usageFromSnapshot(node: string, s: PoolSnapshot, warmTarget?: number): NodePoolUsage[] {
  const bySubnet = new Map<string, NodePoolUsage>();
  for (const i of s.interfaces) {
    if (!i.usable) continue;
    const u = bySubnet.get(i.subnetId) ?? {
      node,
      subnetId: i.subnetId,
      total: 0,
      assigned: 0,
      mode: s.mode,
      observedAt: s.now,
    };
    u.total += i.addresses;
    u.assigned += i.assigned;
    bySubnet.set(i.subnetId, u);
  }
  const out = [...bySubnet.values()].sort((a, b) => (a.subnetId < b.subnetId ? -1 : 1));
  // The warm target is per node: charge it once, to the subnet that holds most of the pool.
  if (warmTarget !== undefined && out.length > 0) {
    const main = out.reduce((a, b) => (b.total > a.total ? b : a));
    main.warmTarget = warmTarget;
  }
  return out;
}

/** The daemon's own node, read from its datastore at each pass. */
export class DatastoreUsageSource implements PoolUsageSource {
  constructor(
    private readonly node: () => string,
    private readonly snapshot: () => PoolSnapshot,
    private readonly warmTarget: () => number | undefined,
  ) {}
  async usage(): Promise<NodePoolUsage[]> {
    return usageFromSnapshot(this.node(), this.snapshot(), this.warmTarget());
  }
}

/** A fixed list, or a function returning the current list (the Kubernetes integration's Node cache). */
export class ListUsageSource implements PoolUsageSource {
  constructor(
    private readonly list:
      readonly NodePoolUsage[] | (() => readonly NodePoolUsage[] | Promise<readonly NodePoolUsage[]>),
  ) {}
  async usage(): Promise<NodePoolUsage[]> {
    const l = typeof this.list === 'function' ? await this.list() : this.list;
    return l.map((u) => ({ ...u }));
  }
}

/** Sums usage per subnet id. */
export function aggregateUsage(list: readonly NodePoolUsage[]): Map<string, SubnetUsage> {
  const out = new Map<string, SubnetUsage & { nodeSet: Set<string> }>();
  for (const u of list) {
    const s = out.get(u.subnetId) ?? {
      total: 0,
      assigned: 0,
      held: 0,
      nodes: 0,
      warmReserve: 0,
      nodeSet: new Set<string>(),
    };
    s.total += u.total;
    s.assigned += u.assigned;
    s.held = s.total - s.assigned;
    s.warmReserve += u.warmTarget ?? 0;
    s.nodeSet.add(u.node);
    s.nodes = s.nodeSet.size;
    out.set(u.subnetId, s);
  }
  return new Map([...out].map(([k, { nodeSet: _n, ...v }]) => [k, v]));
}
