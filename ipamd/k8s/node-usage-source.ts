/**
 * @module node pool usage sources
 * {@link PoolUsageSource}s for the cluster-wide monitor. Every node's ipamd
 * publishes its pool in its NodeAddressPool (node-address-pool.ts); older
 * ipamds, and new ones while that CRD is not installed, in the Node
 * annotation `vpc-ipam.io/pool-usage`. {@link ClusterUsageSource}, what the
 * monitor uses, reads both once per pass, in pages of `pageSize`
 * (limit/continue, so a 5000-node list is not one huge response):
 *
 * - every NodeAddressPool (a list of small objects with one writer each);
 * - the Nodes, only when needed: for their annotations during the upgrade
 *   window (`nodeAnnotations`, on by default for one release), or for a
 *   label selector (a NodeAddressPool does not carry its Node's labels).
 *
 * Per node the newer of the two wins (a rolled-back node's annotation is
 * newer than the pool object it left), the NodeAddressPool on a tie. A list
 * per pass rather than a watch: the monitor wants one snapshot a minute,
 * and a watch would deliver every status write, up to one per node every
 * 15 s. Either source's entry is checked by the same rules
 * (checkNodePoolUsage); an invalid one, or one older than `maxAgeMs` (its
 * ipamd stopped publishing), is left out and logged: wrong numbers are
 * worse than none.
 */
import type { V1Node } from '@kubernetes/client-node';
import { parseNodePoolUsage, POOL_USAGE_ANNOTATION, type NodePoolUsage } from '../monitor/pool-usage.js';
import type { PoolUsageSource } from '../monitor/pool-usage.js';
import type { Clock } from '../util/clock.js';
import { isPathNotFound, type K8sApis } from './client.js';
import { NAP_CRD_NOT_INSTALLED, NAP_REF, usageFromAddressPool } from './node-address-pool.js';

export interface NodeUsageSourceOptions {
  apis: K8sApis;
  clock: Clock;
  /** Entries observed longer ago than this are dropped; default 15 minutes (three missed heartbeats). */
  maxAgeMs?: number;
  pageSize?: number;
  /** Only nodes matching this label selector (e.g. a node pool); default all. */
  labelSelector?: string;
  log: { info?(o: object, m?: string): void; warn(o: object, m?: string): void };
}

/** One node's pool as one source has it, checked; `observedAt`: its newest entry's (undefined: none says). */
interface Reading {
  usage: NodePoolUsage[];
  observedAt: number | undefined;
}

type Page<T> = { items: T[]; metadata?: { _continue?: string; continue?: string } };

/** Every item of a paged list; `fetch` gets the continue token of the page before. */
async function allPages<T>(fetch: (cont: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const out: T[] = [];
  let cont: string | undefined;
  do {
    const page = await fetch(cont);
    out.push(...page.items);
    // Typed lists name it `_continue`; custom objects come back as the server's JSON (`continue`).
    cont = page.metadata?._continue || page.metadata?.continue || undefined;
  } while (cont);
  return out;
}

function reading(usage: NodePoolUsage[], observedAt?: number): Reading {
  const times = usage.map((u) => u.observedAt).filter((t): t is number => t !== undefined);
  return { usage, observedAt: observedAt ?? (times.length ? Math.max(...times) : undefined) };
}

/** The Nodes' `vpc-ipam.io/pool-usage` annotations (the deprecated way, read during the upgrade window). */
export class NodeAnnotationUsageSource implements PoolUsageSource {
  readonly stats = { lists: 0, nodes: 0, invalid: 0, stale: 0 };

  constructor(private readonly o: NodeUsageSourceOptions) {}

  async usage(): Promise<NodePoolUsage[]> {
    const { readings } = await this.read();
    return [...readings].flatMap(([node, r]) => fresh(this.o, this.stats, node, r, 'pool-usage annotation'));
  }

  /** The selected Nodes' names, and the checked annotation of each that has one. */
  async read(): Promise<{ names: Set<string>; readings: Map<string, Reading> }> {
    const { apis } = this.o;
    const nodes = await allPages<V1Node>(async (cont) => {
      const q = { limit: this.o.pageSize ?? 500, _continue: cont, labelSelector: this.o.labelSelector };
      const page = await apis.call('list nodes', () => apis.core.listNode(q));
      this.stats.lists++;
      return page;
    });
    const names = new Set<string>();
    const readings = new Map<string, Reading>();
    for (const n of nodes) {
      const name = n.metadata?.name;
      if (!name) continue;
      names.add(name);
      const raw = n.metadata?.annotations?.[POOL_USAGE_ANNOTATION];
      if (raw === undefined) continue;
      this.stats.nodes++;
      try {
        readings.set(name, reading(parseNodePoolUsage(raw, name)));
      } catch (err) {
        this.stats.invalid++;
        this.o.log.warn({ node: name, err: (err as Error).message }, 'ignoring an invalid pool-usage annotation');
      }
    }
    return { names, readings };
  }
}

/** `r`'s entries observed within the age limit; logs a node that had older ones. */
function fresh(
  o: NodeUsageSourceOptions,
  stats: { stale: number },
  node: string,
  r: Reading,
  what: string,
): NodePoolUsage[] {
  const now = o.clock.now();
  const maxAge = o.maxAgeMs ?? 900_000;
  const list = r.usage.filter((u) => u.observedAt === undefined || now - u.observedAt <= maxAge);
  if (list.length < r.usage.length) {
    stats.stale++;
    o.log.warn({ node }, `ignoring a stale ${what} (its ipamd has not published recently)`);
  }
  return list;
}

export interface ClusterUsageSourceOptions extends NodeUsageSourceOptions {
  /** Also read the deprecated Node annotation (nodes whose ipamd predates NodeAddressPool); default true. */
  nodeAnnotations?: boolean;
}

/** What the cluster monitor reads: NodeAddressPools, and the Node annotations while they are still written. */
export class ClusterUsageSource implements PoolUsageSource {
  /** `invalid`/`stale`: NodeAddressPools and annotations alike; `fromAnnotations`: nodes whose annotation won. */
  readonly stats = { lists: 0, pools: 0, invalid: 0, stale: 0, fromAnnotations: 0 };
  /** The last list found the NodeAddressPool CRD not installed (said once until a list works). */
  crdMissing = false;
  private readonly annotations: boolean;
  /** The Node list: for the annotations, or for the label selector. */
  private readonly nodes: NodeAnnotationUsageSource | undefined;

  constructor(private readonly o: ClusterUsageSourceOptions) {
    this.annotations = o.nodeAnnotations ?? true;
    this.nodes = this.annotations || o.labelSelector ? new NodeAnnotationUsageSource(o) : undefined;
  }

  async usage(): Promise<NodePoolUsage[]> {
    const pools = await this.readPools();
    const invalidBefore = this.nodes?.stats.invalid ?? 0;
    const nodes = await this.nodes?.read();
    this.stats.invalid += (this.nodes?.stats.invalid ?? 0) - invalidBefore;
    const annotations = this.annotations ? nodes?.readings : undefined;
    const out: NodePoolUsage[] = [];
    for (const node of new Set([...pools.keys(), ...(annotations?.keys() ?? [])])) {
      // Not selected, or the Node is gone (its NodeAddressPool waits for the garbage collector).
      if (nodes && !nodes.names.has(node)) continue;
      const p = pools.get(node);
      const a = annotations?.get(node);
      if (a && (!p || (a.observedAt ?? -Infinity) > (p.observedAt ?? -Infinity))) {
        this.stats.fromAnnotations++;
        out.push(...fresh(this.o, this.stats, node, a, 'pool-usage annotation'));
      } else if (p) out.push(...fresh(this.o, this.stats, node, p, 'NodeAddressPool'));
    }
    return out;
  }

  /** Every NodeAddressPool with a valid status, by node; none while the CRD is not installed. */
  private async readPools(): Promise<Map<string, Reading>> {
    const { apis, log } = this.o;
    let items: unknown[];
    try {
      items = await allPages<unknown>(async (cont) => {
        const q = { ...NAP_REF, limit: this.o.pageSize ?? 500, ...(cont ? { _continue: cont } : {}) };
        const page = await apis.call('list NodeAddressPools', () => apis.custom.listClusterCustomObject(q));
        this.stats.lists++;
        return page as Page<unknown>;
      });
    } catch (err) {
      if (!isPathNotFound(err)) throw err;
      if (!this.crdMissing) {
        const from = this.annotations ? 'node pools come from the Node annotations only' : 'no node pool is known';
        log.warn({}, `${NAP_CRD_NOT_INSTALLED}: ${from}; apply deploy/kustomize/base/crd-nodeaddresspool.yaml`);
      }
      this.crdMissing = true;
      return new Map();
    }
    if (this.crdMissing) log.info?.({}, 'NodeAddressPools are served now: node pools come from them');
    this.crdMissing = false;
    const out = new Map<string, Reading>();
    for (const obj of items) {
      try {
        const got = usageFromAddressPool(obj);
        if (!got) continue; // created, its status not written yet
        this.stats.pools++;
        out.set(got.node, reading(got.usage, got.observedAt));
      } catch (err) {
        this.stats.invalid++;
        log.warn({ err: (err as Error).message }, 'ignoring an invalid NodeAddressPool');
      }
    }
    return out;
  }
}
