/**
 * @module Node annotation usage source
 * {@link PoolUsageSource} for the cluster-wide monitor: every node's ipamd
 * publishes its pool in the `vpc-ipam.io/pool-usage` annotation
 * (node-publisher.ts); the monitor lists Nodes once per pass, in pages of
 * `pageSize` (limit/continue, so a 5000-node list is not one huge response),
 * and checks each annotation with `parseNodePoolUsage`. A node whose
 * annotation is invalid, or older than `maxAgeMs` (its ipamd stopped
 * publishing), is left out and logged: wrong numbers are worse than none.
 */
import type { V1NodeList } from '@kubernetes/client-node';
import { parseNodePoolUsage, POOL_USAGE_ANNOTATION, type NodePoolUsage, type PoolUsageSource } from '../monitor/pool-usage.js';
import type { Clock } from '../util/clock.js';
import type { K8sApis } from './client.js';

export interface NodeUsageSourceOptions {
  apis: K8sApis;
  clock: Clock;
  /** Entries observed longer ago than this are dropped; default 15 minutes (three missed heartbeats). */
  maxAgeMs?: number;
  pageSize?: number;
  /** Only nodes matching this label selector (e.g. a node pool); default all. */
  labelSelector?: string;
  log: { warn(o: object, m?: string): void };
}

export class NodeAnnotationUsageSource implements PoolUsageSource {
  readonly stats = { lists: 0, nodes: 0, invalid: 0, stale: 0 };

  constructor(private readonly o: NodeUsageSourceOptions) {}

  async usage(): Promise<NodePoolUsage[]> {
    const { apis, clock } = this.o;
    const maxAge = this.o.maxAgeMs ?? 900_000;
    const out: NodePoolUsage[] = [];
    let cont: string | undefined;
    do {
      const page: V1NodeList = await apis.call('list nodes', () =>
        apis.core.listNode({ limit: this.o.pageSize ?? 500, _continue: cont, labelSelector: this.o.labelSelector }),
      );
      this.stats.lists++;
      const now = clock.now();
      for (const n of page.items) {
        const name = n.metadata?.name;
        const raw = n.metadata?.annotations?.[POOL_USAGE_ANNOTATION];
        if (!name || raw === undefined) continue;
        this.stats.nodes++;
        let list: NodePoolUsage[];
        try {
          list = parseNodePoolUsage(raw, name);
        } catch (err) {
          this.stats.invalid++;
          this.o.log.warn({ node: name, err: (err as Error).message }, 'ignoring an invalid pool-usage annotation');
          continue;
        }
        const fresh = list.filter((u) => u.observedAt === undefined || now - u.observedAt <= maxAge);
        if (fresh.length < list.length) {
          this.stats.stale++;
          this.o.log.warn({ node: name }, 'ignoring a stale pool-usage annotation (its ipamd has not published recently)');
        }
        out.push(...fresh);
      }
      cont = page.metadata?._continue || undefined;
    } while (cont);
    return out;
  }
}
