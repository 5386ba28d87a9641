/**
 * @module node publisher
 * What ipamd writes on its own Node object:
 * - `vpc-ipam.io/max-pods` (label and annotation): the Pods this node can
 *   address at its limits and settings, for bootstrap scripts, autoscalers
 *   and operators comparing it with the kubelet's `--max-pods`;
 * - `vpc-ipam.io/pool-usage`: the node's pool per subnet, the JSON the
 *   cluster-wide monitor reads back (ipamd/monitor/pool-usage.ts);
 * - `vpc-ipam.io/pool-summary`: one human-readable line of numbers;
 * - condition `VpcIpamPoolExhausted`: True while the pool is empty and cannot
 *   grow (node at capacity, or growth blocked), with a Warning Event.
 *
 * Metadata goes through a JSON merge patch of the Node (only our keys); the
 * condition through the status subresource. The publisher writes only what
 * changed, at most once per interval: a 5000-node cluster must not turn pool
 * churn into API server load. `observedAt` is refreshed every
 * `heartbeatMs` so the monitor can tell a live node from a stale one.
 */
import type { PoolSnapshot } from '../datastore/types.js';
import type { EventSink } from '../monitor/events.js';
import { nodeFootprint } from '../monitor/node-footprint.js';
import { usageFromSnapshot } from '../monitor/pool-usage.js';
import type { PoolLimits } from '../pool/planner.js';
import type { PoolPolicy } from '../pool/policy.js';
import type { Clock } from '../util/clock.js';
import type { PoolStatus } from '../api/protocol.js';
import { describeError, patchOptions, type K8sApis } from './client.js';
import { EVENT_REASONS, MAX_PODS_KEY, POOL_EXHAUSTED_CONDITION, POOL_USAGE_ANNOTATION } from './names.js';

export const POOL_SUMMARY_ANNOTATION = 'vpc-ipam.io/pool-summary';

export interface MaxPodsInput {
  limits: PoolLimits;
  /** Interfaces attached now (clouds that cannot add interfaces keep these). */
  attachedInterfaces: number;
  blockSize: number;
  customNetworking: boolean;
  /** Node CPUs (status.capacity.cpu); picks the 110/250 ceiling like EKS. */
  cpus: number | undefined;
  /** Explicit ceiling; 0 = none. */
  ceiling?: number;
}

/**
 * Pods the node can give addresses to, plus the two host-network DaemonSet
 * Pods (ipamd, kube-proxy) that need none, as EKS computes it; capped at
 * 110 (≤ 30 CPUs) or 250 unless a ceiling is given.
 */
export function computeMaxPods(m: MaxPodsInput): { maxPods: number; podAddresses: number } {
  const interfaces = Math.max(0, (m.limits.canCreateInterfaces ? m.limits.maxInterfaces : m.attachedInterfaces) - (m.customNetworking ? 1 : 0));
  const podAddresses = interfaces * m.limits.slotsPerInterface * m.blockSize;
  const cap = m.ceiling !== undefined ? (m.ceiling === 0 ? Infinity : m.ceiling) : (m.cpus ?? 0) > 30 ? 250 : 110;
  return { maxPods: Math.min(podAddresses + 2, cap), podAddresses };
}

/** What the publisher reads from the daemon (public members of IpamDaemon). */
export interface PublisherHost {
  snapshot(): PoolSnapshot;
  status(): PoolStatus;
  poolLimits: PoolLimits;
  policy: PoolPolicy;
  instanceLimits: { prefixLength: number };
  readonly ready: boolean;
  expectedDemand?: number;
}

export interface NodePublisherOptions {
  apis: K8sApis;
  clock: Clock;
  nodeName: string;
  host: PublisherHost;
  maxPods: () => { maxPods: number; podAddresses: number };
  sink: EventSink & { setCondition?(node: string, c: { type: string; status: 'True' | 'False'; reason: string; message: string }, at: number): Promise<void> };
  intervalMs: number;
  heartbeatMs: number;
  log: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
}

export class NodePublisher {
  private lastMeta = '';
  private lastMetaAt = -Infinity;
  private exhausted: boolean | undefined;
  private readonly stopper = new AbortController();
  private loopDone: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  readonly stats = { patches: 0, errors: 0 };

  constructor(private readonly o: NodePublisherOptions) {}

  /** Publishes now, then every interval (and soon after {@link poke}). */
  start(): void {
    this.loopDone = (async () => {
      while (!this.stopper.signal.aborted) {
        await this.publish().catch((err) => {
          this.stats.errors++;
          this.o.log.warn({ err: describeError(err) }, 'could not publish pool state on the Node');
        });
        const ac = new AbortController();
        this.wake = () => ac.abort();
        const onStop = () => ac.abort();
        this.stopper.signal.addEventListener('abort', onStop, { once: true });
        await this.o.clock.sleep(this.o.intervalMs, ac.signal).catch(() => {});
        this.stopper.signal.removeEventListener('abort', onStop);
        this.wake = undefined;
      }
    })();
  }

  /** The pool changed; publish at the next opportunity (still at most once per interval of work). */
  poke(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    await this.loopDone;
  }

  /** One publication: metadata if changed (or heartbeat due), then the condition if it flipped. */
  async publish(): Promise<void> {
    const { host, nodeName, clock } = this.o;
    if (!host.ready) return;
    const s = host.snapshot();
    const mp = this.o.maxPods();
    const blockSize = s.mode === 'prefix' ? 2 ** (32 - host.instanceLimits.prefixLength) : 1;
    const warm = nodeFootprint(
      { limits: host.poolLimits, targets: host.policy.targets(s), mode: s.mode, blockSize, primaryUnusable: s.interfaces.some((i) => i.primary && !i.usable) },
      0,
    ).warm;
    const usage = usageFromSnapshot(nodeName, s, warm);
    const subnets = [...new Set(s.interfaces.filter((i) => i.usable).map((i) => i.subnetId))].sort();
    const summary =
      `total=${s.total} assigned=${s.assigned} available=${s.available} cooling=${s.cooling} ` +
      `expected=${host.expectedDemand ?? 0} mode=${s.mode} subnets=${subnets.join(',') || '-'} maxPods=${mp.maxPods}`;
    const now = clock.now();
    const fingerprint = JSON.stringify([usage.map(({ observedAt: _o, ...u }) => u), summary]);
    if (fingerprint !== this.lastMeta || now - this.lastMetaAt >= this.o.heartbeatMs) {
      const body = {
        metadata: {
          labels: { [MAX_PODS_KEY]: String(mp.maxPods) },
          annotations: {
            [MAX_PODS_KEY]: String(mp.maxPods),
            [POOL_USAGE_ANNOTATION]: JSON.stringify(usage),
            [POOL_SUMMARY_ANNOTATION]: summary,
          },
        },
      };
      await this.o.apis.call('patch node', () => this.o.apis.core.patchNode({ name: nodeName, body }, patchOptions('merge')));
      this.stats.patches++;
      this.lastMeta = fingerprint;
      this.lastMetaAt = now;
    }
    await this.publishCondition(now);
  }

  private async publishCondition(now: number): Promise<void> {
    const st = this.o.host.status();
    const exhausted = !st.ready;
    if (exhausted === this.exhausted) return;
    const message = exhausted
      ? `no Pod address can be handed out: ${st.reason ?? 'pool empty and cannot grow'} (${st.assigned} assigned, ${st.cooling} cooling of ${st.total})`
      : `Pod addresses available: ${st.available} free, ${st.assigned} assigned of ${st.total}`;
    const reason = exhausted ? EVENT_REASONS.poolExhausted : EVENT_REASONS.poolRecovered;
    const condition = { type: POOL_EXHAUSTED_CONDITION, status: exhausted ? ('True' as const) : ('False' as const), reason, message };
    // The first publication after start only sets the condition; an Event is for a change.
    if (this.exhausted !== undefined || exhausted) {
      await this.o.sink.emit({ type: exhausted ? 'Warning' : 'Normal', reason, message, node: this.o.nodeName, at: now, condition });
    } else if (this.o.sink.setCondition) {
      await this.o.sink.setCondition(this.o.nodeName, condition, now);
    }
    this.exhausted = exhausted;
  }
}
