/**
 * @module Kubernetes event sink
 * Delivers {@link IpamEvent}s as core/v1 Events about the Node (what
 * `kubectl describe node` shows) and sets the event's node condition through
 * the Node's status subresource.
 *
 * - Events are created in the daemon's own namespace (a Role there is all it
 *   needs); `kubectl describe node` lists a cluster-scoped object's events
 *   from every namespace.
 * - Repeats are aggregated like the kubelet's recorder does: the same
 *   (reason, subnet, cloud code) within 10 minutes bumps `count` and
 *   `lastTimestamp` of the existing Event instead of creating another one,
 *   and a spam filter writes one key at most every 30 s (repeats in between
 *   are counted into the next write).
 * - Conditions are written with a strategic merge patch, whose merge key for
 *   `status.conditions` is `type`: the kubelet's own conditions are left
 *   alone. `lastTransitionTime` changes only when the status flips.
 * Delivery never throws (the EventSink contract); failures are logged.
 */
import type { CoreV1Event } from '@kubernetes/client-node';
import type { EventSink, IpamEvent, NodeCondition } from '../monitor/events.js';
import type { Clock } from '../util/clock.js';
import { describeError, isNotFound, patchOptions, type K8sApis } from './client.js';
import { EVENT_COMPONENT } from './names.js';

export interface K8sEventSinkOptions {
  apis: K8sApis;
  clock: Clock;
  /** Namespace Events are written to (the daemon's, from POD_NAMESPACE). */
  namespace: string;
  /** Reporting instance (the node name for ipamd, the Pod name for the monitor). */
  instance: string;
  log: { warn(o: object, m?: string): void; debug?(o: object, m?: string): void };
  /** Aggregation window; default 10 minutes like client-go's EventCorrelator. */
  aggregateMs?: number;
  /**
   * Spam filter: at most one API write per key in this window; repeats in
   * between are counted and carried by the next write. Default 30 s (a failing
   * pool tick can repeat every few seconds).
   */
  minWriteIntervalMs?: number;
}

interface Seen {
  name: string;
  count: number;
  lastAt: number;
  /** Repeats not written yet (spam filter). */
  pending: number;
}

function iso(ms: number): Date {
  return new Date(ms);
}

export class K8sEventSink implements EventSink {
  private readonly seen = new Map<string, Seen>();
  /** Condition status we last wrote, per node and type. */
  private readonly conditions = new Map<string, string>();
  private seq = 0;
  readonly stats = { created: 0, aggregated: 0, suppressed: 0, conditions: 0, failures: 0 };

  constructor(private readonly o: K8sEventSinkOptions) {}

  async emit(e: IpamEvent): Promise<void> {
    await this.postEvent(e).catch((err) => {
      this.stats.failures++;
      this.o.log.warn({ err: describeError(err), reason: e.reason }, 'could not post a Kubernetes Event');
    });
    if (e.condition) {
      await this.setCondition(e.node, e.condition, e.at).catch((err) => {
        this.stats.failures++;
        this.o.log.warn({ err: describeError(err), condition: e.condition!.type }, 'could not set the node condition');
      });
    }
  }

  private async postEvent(e: IpamEvent): Promise<void> {
    const { apis, namespace } = this.o;
    const key = [e.node, e.type, e.reason, e.subnetId ?? '', e.cloudCode ?? ''].join('\u0000');
    const now = this.o.clock.now();
    const prev = this.seen.get(key);
    if (prev && now - prev.lastAt < (this.o.minWriteIntervalMs ?? 30_000)) {
      prev.pending++;
      this.stats.suppressed++;
      return;
    }
    if (prev && now - prev.lastAt < (this.o.aggregateMs ?? 600_000)) {
      const count = prev.count + prev.pending + 1;
      try {
        await apis.call('patch event', () =>
          apis.core.patchNamespacedEvent(
            { name: prev.name, namespace, body: { count, lastTimestamp: iso(e.at).toISOString(), message: e.message } },
            patchOptions('merge'),
          ),
        );
        prev.count = count;
        prev.pending = 0;
        prev.lastAt = now;
        this.stats.aggregated++;
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        // The Event expired (TTL, 1 h by default): create a new one.
      }
    }
    // Like the kubelet's names: <object>.<hex time>, unique per sink thanks to the sequence.
    const name = `${e.node}.${(e.at * 1000 + (this.seq++ % 1000)).toString(16)}`;
    const body: CoreV1Event = {
      metadata: { name, namespace },
      involvedObject: { apiVersion: 'v1', kind: 'Node', name: e.node, uid: e.node },
      reason: e.reason,
      message: e.message,
      type: e.type,
      source: { component: EVENT_COMPONENT, host: e.node },
      reportingComponent: `vpc-ipam.io/${EVENT_COMPONENT}`,
      reportingInstance: this.o.instance,
      firstTimestamp: iso(e.at),
      lastTimestamp: iso(e.at),
      count: 1,
    };
    await apis.call('create event', () => apis.core.createNamespacedEvent({ namespace, body }));
    this.seen.set(key, { name, count: 1, lastAt: now, pending: 0 });
    this.stats.created++;
  }

  /** Sets one condition on the Node (status subresource, strategic merge by `type`). */
  async setCondition(node: string, c: NodeCondition, at: number): Promise<void> {
    const { apis } = this.o;
    const key = `${node}\u0000${c.type}`;
    let prev = this.conditions.get(key);
    if (prev === undefined) {
      const n = await apis.call('read node', () => apis.core.readNode({ name: node }));
      prev = n.status?.conditions?.find((x) => x.type === c.type)?.status ?? '';
    }
    const now = iso(at).toISOString();
    const cond: Record<string, string> = { type: c.type, status: c.status, reason: c.reason, message: c.message, lastHeartbeatTime: now };
    if (prev !== c.status) cond.lastTransitionTime = now;
    await apis.call('patch node status', () =>
      apis.core.patchNodeStatus({ name: node, body: { status: { conditions: [cond] } } }, patchOptions('strategic')),
    );
    this.conditions.set(key, c.status);
    this.stats.conditions++;
  }
}
