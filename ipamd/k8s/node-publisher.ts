/**
 * @module node publisher
 * What ipamd publishes about its node:
 * - its NodeAddressPool (node-address-pool.ts): the pool per subnet, the
 *   cluster-wide monitor's input, and the node's totals and max Pods;
 * - on its Node, only what changes rarely: `vpc-ipam.io/max-pods` (label and
 *   annotation: the Pods this node can address at its limits and settings,
 *   for bootstrap scripts, autoscalers and operators comparing it with the
 *   kubelet's `--max-pods`), and the condition `VpcIpamPoolExhausted`: True
 *   while the pool is empty and cannot grow (node at capacity, or growth
 *   blocked), with a Warning Event.
 *
 * The pool is written only when it changed, at most once per interval, and
 * again every `heartbeatMs` (`observedAt`, so the monitor can tell a live
 * node from a stale one): a 5000-node cluster must not turn pool churn into
 * API server load. It used to go into the Node annotations
 * `vpc-ipam.io/pool-usage` and `vpc-ipam.io/pool-summary`, and every such
 * update went to every Node watcher. While the NodeAddressPool CRD is not
 * installed (an upgrade that left it out) ipamd still writes them, says so
 * once, and tries the CRD again at growing intervals up to the heartbeat;
 * this fallback lasts one release. Once the NodeAddressPool is written, one
 * merge patch removes those annotations from the Node (an older ipamd may
 * have left them). Node metadata goes through a JSON merge patch of our keys
 * only, the condition through the status subresource.
 */
import type { PoolSnapshot } from '../datastore/types.js';
import type { EventSink } from '../monitor/events.js';
import { nodeFootprint } from '../monitor/node-footprint.js';
import { usageFromSnapshot, type NodePoolUsage } from '../monitor/pool-usage.js';
import type { PoolLimits } from '../pool/planner.js';
import type { PoolPolicy } from '../pool/policy.js';
import type { Clock } from '../util/clock.js';
import type { PoolStatus } from '../../cni/contract/protocol.js';
import { describeError, patchOptions, type K8sApis } from './client.js';
import {
  EVENT_REASONS,
  MAX_PODS_KEY,
  NAP_KIND,
  POOL_EXHAUSTED_CONDITION,
  POOL_SUMMARY_ANNOTATION,
  POOL_USAGE_ANNOTATION,
} from './names.js';
import { AddressPoolWriter, NAP_CRD_NOT_INSTALLED, poolStatus, type PoolTotals } from './node-address-pool.js';
import { addressCount } from '../../providers/net/cidr.js';

export { POOL_SUMMARY_ANNOTATION };

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
  const interfaces = Math.max(
    0,
    (m.limits.canCreateInterfaces ? m.limits.maxInterfaces : m.attachedInterfaces) - (m.customNetworking ? 1 : 0),
  );
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

type ConditionSetter = (
  node: string,
  c: { type: string; status: 'True' | 'False'; reason: string; message: string },
  at: number,
) => Promise<void>;

export interface NodePublisherOptions {
  apis: K8sApis;
  clock: Clock;
  nodeName: string;
  host: PublisherHost;
  maxPods: () => { maxPods: number; podAddresses: number };
  sink: EventSink & { setCondition?: ConditionSetter };
  /** The Node's uid now (fresh read), for the NodeAddressPool's owner when it must be created. */
  nodeUid: () => Promise<string | undefined>;
  intervalMs: number;
  heartbeatMs: number;
  log: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
}

/** The deprecated Node annotations' values (written only while the CRD is not installed). */
interface LegacyPool {
  usage: string;
  summary: string;
}

export class NodePublisher {
  private lastPool = '';
  private lastPoolAt = -Infinity;
  /** What the last Node patch that worked carried (max Pods, annotations): the Node is written when it differs. */
  private lastNode = '';
  /** Where the pool goes: the NodeAddressPool, or the Node annotations while its CRD is not installed. */
  private target: 'resource' | 'annotation' | undefined;
  private legacy: LegacyPool | undefined;
  /** The Node may carry the old annotations (an older ipamd, or our fallback): remove them once. */
  private legacyOnNode = true;
  private crdRetryAt = 0;
  private crdRetries = 0;
  private exhausted: boolean | undefined;
  private readonly writer: AddressPoolWriter;
  private readonly stopper = new AbortController();
  private loopDone: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /**
   * `patches`: Node metadata patches (rare by design); `poolWrites`: pool publications, wherever they went;
   * `passes`: publication passes run (one per interval, or sooner when poked); `crdMisses`: writes the missing CRD
   * refused.
   */
  readonly stats = { patches: 0, poolWrites: 0, errors: 0, passes: 0, crdMisses: 0 };

  constructor(private readonly o: NodePublisherOptions) {
    this.writer = new AddressPoolWriter({ apis: o.apis, nodeName: o.nodeName, ownerUid: o.nodeUid });
  }

  /** Where the pool is published now (undefined before the first publication). */
  get poolTarget(): 'resource' | 'annotation' | undefined {
    return this.target;
  }

  get poolStats(): { patches: number; creates: number } {
    return this.writer.stats;
  }

  /** Publishes now, then every interval (and soon after {@link poke}). */
  start(): void {
    this.loopDone = (async () => {
      while (!this.stopper.signal.aborted) {
        await this.publish().catch((err) => {
          this.stats.errors++;
          this.o.log.warn({ err: describeError(err) }, 'could not publish the pool state');
        });
        this.stats.passes++;
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

  /** One publication: the pool if changed (or heartbeat due), Node metadata if changed, the condition if flipped. */
  async publish(): Promise<void> {
    const { host, nodeName, clock } = this.o;
    if (!host.ready) return;
    const s = host.snapshot();
    const mp = this.o.maxPods();
    const blockSize = s.mode === 'prefix' ? addressCount(4, host.instanceLimits.prefixLength) : 1;
    const primaryUnusable = s.interfaces.some((i) => i.primary && !i.usable);
    const targets = host.policy.targets(s);
    const warm = nodeFootprint({ limits: host.poolLimits, targets, mode: s.mode, blockSize, primaryUnusable }, 0).warm;
    const usage = usageFromSnapshot(nodeName, s, warm);
    const totals: PoolTotals = {
      mode: s.mode,
      total: s.total,
      assigned: s.assigned,
      available: s.available,
      cooling: s.cooling,
      expectedPods: host.expectedDemand ?? 0,
      maxPods: mp.maxPods,
    };
    const now = clock.now();
    const fingerprint = JSON.stringify([usage.map(({ observedAt: _o, ...u }) => u), totals]);
    const due = fingerprint !== this.lastPool || now - this.lastPoolAt >= this.o.heartbeatMs;
    const retryCrd = this.target === 'annotation' && now >= this.crdRetryAt;
    let poolError: unknown;
    try {
      if ((due || retryCrd) && (await this.publishPool(usage, totals, s.now, now, due))) {
        this.stats.poolWrites++;
        this.lastPool = fingerprint;
        this.lastPoolAt = now;
      }
    } catch (err) {
      // Max Pods and the condition do not depend on the pool's object (its RBAC, its CRD): still publish them.
      poolError = err;
    }
    await this.publishNode(mp.maxPods);
    await this.publishCondition(now);
    if (poolError !== undefined) throw poolError;
  }

  /**
   * To the NodeAddressPool; while its CRD is not installed, into {@link legacy} for the Node patch. False:
   * nothing new to publish (a CRD retry failed while the annotation was not due).
   */
  private async publishPool(
    usage: NodePoolUsage[],
    t: PoolTotals,
    observedAt: number,
    now: number,
    due: boolean,
  ): Promise<boolean> {
    const { log, nodeName } = this.o;
    if (this.target !== 'annotation' || now >= this.crdRetryAt) {
      const r = await this.writer.write(poolStatus(usage, t, observedAt));
      if (r === 'written') {
        if (this.target === 'annotation') {
          log.info({ node: nodeName }, `${NAP_KIND} written: its CRD is installed now; the Node annotations go`);
        }
        this.target = 'resource';
        this.legacy = undefined;
        this.crdRetries = 0;
        return true;
      }
      if (this.target !== 'annotation') {
        const what = `publishing the pool in the Node annotation ${POOL_USAGE_ANNOTATION} instead`;
        const why = 'deprecated, for one release; apply deploy/kustomize/base/crd-nodeaddresspool.yaml';
        log.warn({ node: nodeName }, `${NAP_CRD_NOT_INSTALLED}: ${what} (${why})`);
      }
      this.target = 'annotation';
      this.stats.crdMisses++;
      // Soon after a fresh install (the CRD may not be served yet), then no more often than the heartbeat.
      this.crdRetryAt = now + Math.min(this.o.heartbeatMs, this.o.intervalMs * 2 ** this.crdRetries++);
    }
    if (!due && this.legacy) return false;
    const subnets = usage.map((u) => u.subnetId).join(',') || '-';
    const summary =
      `total=${t.total} assigned=${t.assigned} available=${t.available} cooling=${t.cooling} ` +
      `expected=${t.expectedPods} mode=${t.mode} subnets=${subnets} maxPods=${t.maxPods}`;
    this.legacy = { usage: JSON.stringify(usage), summary };
    return true;
  }

  /** Our keys on the Node, patched only when they changed since the last patch that worked. */
  private async publishNode(maxPods: number): Promise<void> {
    const { apis, nodeName } = this.o;
    const key = JSON.stringify([maxPods, this.legacy ?? null]);
    // Only once the NodeAddressPool holds the pool: until then an older ipamd's annotation is all the monitor has.
    const cleanup = this.target === 'resource' && this.legacyOnNode;
    if (key === this.lastNode && !cleanup) return;
    const legacy = this.legacy
      ? { [POOL_USAGE_ANNOTATION]: this.legacy.usage, [POOL_SUMMARY_ANNOTATION]: this.legacy.summary }
      : cleanup
        ? { [POOL_USAGE_ANNOTATION]: null, [POOL_SUMMARY_ANNOTATION]: null }
        : {};
    const body = {
      metadata: {
        labels: { [MAX_PODS_KEY]: String(maxPods) },
        annotations: { [MAX_PODS_KEY]: String(maxPods), ...legacy },
      },
    };
    await apis.call('patch node', () => apis.core.patchNode({ name: nodeName, body }, patchOptions('merge')));
    this.stats.patches++;
    this.lastNode = key;
    if (this.legacy !== undefined) this.legacyOnNode = true;
    else if (cleanup) this.legacyOnNode = false;
  }

  private async publishCondition(now: number): Promise<void> {
    const st = this.o.host.status();
    const exhausted = !st.ready;
    if (exhausted === this.exhausted) return;
    const why = st.reason ?? 'pool empty and cannot grow';
    const message = exhausted
      ? `no Pod address can be handed out: ${why} (${st.assigned} assigned, ${st.cooling} cooling of ${st.total})`
      : `Pod addresses available: ${st.available} free, ${st.assigned} assigned of ${st.total}`;
    const reason = exhausted ? EVENT_REASONS.poolExhausted : EVENT_REASONS.poolRecovered;
    const condition = {
      type: POOL_EXHAUSTED_CONDITION,
      status: exhausted ? ('True' as const) : ('False' as const),
      reason,
      message,
    };
    // The first publication after start only sets the condition; an Event is for a change.
    if (this.exhausted !== undefined || exhausted) {
      await this.o.sink.emit({
        type: exhausted ? 'Warning' : 'Normal',
        reason,
        message,
        node: this.o.nodeName,
        at: now,
        condition,
      });
    } else if (this.o.sink.setCondition) {
      await this.o.sink.setCondition(this.o.nodeName, condition, now);
    }
    this.exhausted = exhausted;
  }
}
