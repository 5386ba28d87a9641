/**
 * @module Kubernetes event sink
 * Delivers {@link IpamEvent}s as core/v1 Events about the Node (what
 * `kubectl describe node` shows) and sets the event's node condition through
 * the Node's status subresource.
 *
 * - Every Event carries `eventTime` (a MicroTime), `action`,
 *   `reportingComponent` and `reportingInstance`: kube-apiserver's core/v1
 *   validation (pkg/apis/core/validation/events.go, `legacyValidateEvent`,
 *   which `ValidateEventCreate` always runs) refuses an Event about a
 *   cluster-scoped object in any namespace but "" or `default` without an
 *   eventTime, and, with one, in any namespace but `default`/`kube-system`,
 *   and requires those fields. See {@link nodeEventNamespace}.
 * - Repeats are aggregated like the kubelet's recorder does: the same
 *   (reason, subnet, cloud code) within 10 minutes bumps `count` and
 *   `lastTimestamp` of the existing Event instead of creating another one,
 *   and a spam filter writes one key at most every 30 s (repeats in between
 *   are counted into the next write).
 * - Conditions are written with a strategic merge patch, whose merge key for
 *   `status.conditions` is `type`: the kubelet's own conditions are left
 *   alone. `lastTransitionTime` changes only when the status flips.
 * Delivery never throws (the EventSink contract). A failure is counted by
 * kind ({@link K8sEventSink.errorsByReason}, the metric
 * `vpc_ipam_k8s_event_errors_total{reason}`, event-metrics.ts) and logged as
 * a warning (once a minute per kind: an API outage must not flood the log).
 */
import type { CoreV1Event } from '@kubernetes/client-node';
import type { EventSink, IpamEvent, NodeCondition } from '../monitor/events.js';
import type { Clock } from '../util/clock.js';
import {
  classifyK8sError,
  describeError,
  isNotFound,
  microTime,
  patchOptions,
  type K8sApis,
  type K8sFailure,
} from './client.js';
import { DEFAULT_EVENT_ACTION, EVENT_ACTIONS, EVENT_COMPONENT, EVENT_CONTROLLER_PREFIX } from './names.js';

/** Namespaces kube-apiserver accepts for an Event (with eventTime) about a cluster-scoped object. */
export const CLUSTER_EVENT_NAMESPACES: readonly string[] = ['default', 'kube-system'];

/**
 * Where an Event about the Node goes: our own namespace when the API server
 * accepts it there (`kube-system` in the manifests, so the namespaced Role
 * is enough), else `default`, where client-go's recorders put Events of
 * cluster-scoped objects.
 */
export function nodeEventNamespace(own: string): string {
  return CLUSTER_EVENT_NAMESPACES.includes(own) ? own : 'default';
}

/** Field limits of the same validation (ReportingInstanceLengthLimit, ActionLengthLimit, …). */
const LIMITS = { reportingInstance: 128, action: 128, reason: 128, message: 1024 } as const;
/** Cuts `s` to at most `n` bytes (the API server counts bytes: Go's len), marking the cut. */
function clip(s: string, n: number): string {
  if (Buffer.byteLength(s) <= n) return s;
  let t = s.slice(0, n);
  while (Buffer.byteLength(t) > n - 3) t = t.slice(0, -1);
  return `${t}…`;
}
/** A warning per failure kind at most this often; the rest go to debug (the counter has them all). */
const WARN_EVERY_MS = 60_000;

export interface K8sEventSinkOptions {
  apis: K8sApis;
  clock: Clock;
  /** The daemon's own namespace (POD_NAMESPACE); Events go to {@link nodeEventNamespace} of it. */
  namespace: string;
  /** Reporting instance (the node name for ipamd, the Pod name for the monitor). */
  instance: string;
  /** Source component; `reportingComponent` is `vpc-ipam.io/<component>`. Default `vpc-ipamd`. */
  component?: string;
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

export class K8sEventSink implements EventSink {
  private readonly seen = new Map<string, Seen>();
  /** Condition status we last wrote, per node and type. */
  private readonly conditions = new Map<string, string>();
  private seq = 0;
  readonly stats = { created: 0, aggregated: 0, suppressed: 0, conditions: 0, failures: 0 };
  /** Failed writes (Events and conditions) by kind; read by the metric at scrape time. */
  readonly errorsByReason = new Map<K8sFailure, number>();
  private readonly warnedAt = new Map<K8sFailure, number>();
  /** The namespace Events are written to. */
  readonly eventNamespace: string;
  private readonly component: string;

  constructor(private readonly o: K8sEventSinkOptions) {
    this.eventNamespace = nodeEventNamespace(o.namespace);
    this.component = o.component ?? EVENT_COMPONENT;
  }

  async emit(e: IpamEvent): Promise<void> {
    await this.postEvent(e).catch((err) => this.failed(err, 'could not post a Kubernetes Event', { reason: e.reason }));
    if (e.condition) {
      await this.setCondition(e.node, e.condition, e.at).catch((err) =>
        this.failed(err, 'could not set the node condition', { condition: e.condition!.type }),
      );
    }
  }

  private failed(err: unknown, what: string, fields: object): void {
    const kind = classifyK8sError(err);
    this.stats.failures++;
    this.errorsByReason.set(kind, (this.errorsByReason.get(kind) ?? 0) + 1);
    const now = this.o.clock.now();
    const failures = this.errorsByReason.get(kind);
    const o = { err: describeError(err), kind, namespace: this.eventNamespace, failures, ...fields };
    const last = this.warnedAt.get(kind);
    if (last !== undefined && now - last < WARN_EVERY_MS) return this.o.log.debug?.(o, what);
    this.warnedAt.set(kind, now);
    // 422 is our bug (the Event is malformed), 403 the install's (RBAC): say so, they do not heal.
    const hint =
      kind === 'invalid'
        ? '; kube-apiserver refused it as invalid'
        : kind === 'forbidden'
          ? `; RBAC: the service account needs create/patch on events in ${this.eventNamespace}, patch on nodes/status`
          : '';
    this.o.log.warn(o, `${what}${hint}`);
  }

  private async postEvent(e: IpamEvent): Promise<void> {
    const { apis } = this.o;
    const namespace = this.eventNamespace;
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
            {
              name: prev.name,
              namespace,
              body: { count, lastTimestamp: new Date(e.at).toISOString(), message: clip(e.message, LIMITS.message) },
            },
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
      // The kubelet's own Node references use the node name as uid too.
      involvedObject: { apiVersion: 'v1', kind: 'Node', name: e.node, uid: e.node },
      reason: clip(e.reason, LIMITS.reason),
      message: clip(e.message, LIMITS.message),
      type: e.type,
      eventTime: microTime(e.at),
      action: clip(EVENT_ACTIONS[e.reason] ?? DEFAULT_EVENT_ACTION, LIMITS.action),
      source: { component: this.component, host: e.node },
      reportingComponent: `${EVENT_CONTROLLER_PREFIX}/${this.component}`,
      reportingInstance: clip(this.o.instance, LIMITS.reportingInstance),
      // Also the legacy fields: `kubectl get events` and older readers sort and count by them.
      firstTimestamp: new Date(e.at),
      lastTimestamp: new Date(e.at),
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
    const now = new Date(at).toISOString();
    const cond: Record<string, string> = {
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      lastHeartbeatTime: now,
    };
    if (prev !== c.status) cond.lastTransitionTime = now;
    await apis.call('patch node status', () =>
      apis.core.patchNodeStatus({ name: node, body: { status: { conditions: [cond] } } }, patchOptions('strategic')),
    );
    this.conditions.set(key, c.status);
    this.stats.conditions++;
  }
}
