/**
 * @module drop counters, and the reasons they give a failed flow
 * Every place the fabric can drop a packet on purpose counts it: the router (source/destination check per
 * ENI, destinations no ENI owns, TTL exceeded), the Internet gateway (sources without a public address,
 * unknown public destinations), and each node's kernel (ICMP time exceeded sent, reverse-path filter drops).
 * Flows run one at a time, so what the counters gained during a flow is what that flow hit.
 */
import { nftCounters } from './exec.js';
import type { FabricNode } from './node.js';
import type { VpcRouter } from './router.js';

export type Snapshot = Map<string, number>;

export interface CounterSources {
  router: VpcRouter;
  igwNs: string;
  nodes: FabricNode[];
}

/** Node kernel counters worth a reason, with what they mean. */
const NODE_COUNTERS: Record<string, string> = {
  'Icmp.OutTimeExcds': 'TTL exceeded (routing loop through the node)',
  'TcpExt.IPReversePathFilter': 'rp_filter dropped a packet (its reverse route leaves by another link)',
  'Ip.InNoRoutes': 'no route for an incoming packet',
};

export async function snapshot(s: CounterSources): Promise<Snapshot> {
  const out: Snapshot = new Map();
  for (const [k, v] of await nftCounters(s.router.ns, 'ip', 'vpc')) out.set(`router.${k}`, v);
  for (const [k, v] of await nftCounters(s.igwNs, 'ip', 'igw')) out.set(`igw.${k}`, v);
  for (const n of s.nodes) {
    const k = await n.kernelCounters();
    for (const name of Object.keys(NODE_COUNTERS)) out.set(`${n.name}.${name}`, k.get(name) ?? 0);
  }
  return out;
}

export interface Hit {
  /** Counter key, e.g. `router.src_eni-…` or `igw.src_not_primary`. */
  key: string;
  packets: number;
  reason: string;
}

/** What grew between two snapshots, worded as the reason a packet was dropped. */
export function hits(before: Snapshot, after: Snapshot, router: VpcRouter): Hit[] {
  const out: Hit[] = [];
  for (const [key, v] of after) {
    const d = v - (before.get(key) ?? 0);
    if (d > 0) out.push({ key, packets: d, reason: reasonOf(key, router) });
  }
  return out;
}

export function reasonOf(key: string, router: VpcRouter): string {
  const [where, name] = [key.slice(0, key.indexOf('.')), key.slice(key.indexOf('.') + 1)];
  if (where === 'router') {
    if (name.startsWith('src_')) return `router: src not owned by ${router.labelOf(name.slice(4))} (src/dst check)`;
    if (name.startsWith('dst_')) return `router: dst not owned by ${router.labelOf(name.slice(4))} (src/dst check)`;
    if (name === 'dst_unowned') return 'router: dst is a VPC address no ENI owns';
    if (name === 'dst_pending') return 'router: dst is on an ENI whose link has not appeared in the node yet';
    if (name === 'ttl_exceeded') return 'router: TTL exceeded (routing loop)';
  }
  if (where === 'igw') {
    if (name === 'src_not_primary') return 'igw: source not a primary address (no public IP to NAT to)';
    if (name === 'dst_not_public') return "igw: destination is no instance's public address";
  }
  return `${where}: ${NODE_COUNTERS[name] ?? name}`;
}

/** `reason ×n; reason ×m` for the table. */
export const describeHits = (h: Hit[]): string => h.map((x) => `${x.reason} ×${x.packets}`).join('; ');
