/**
 * @module node monitor
 * The exhaustion monitor as it runs inside ipamd: it watches the subnets of
 * this node's interfaces, serves the subnet gauges on the daemon's metrics
 * registry and the table at `/v1/subnets`, counts this node's pool as held
 * versus assigned, and turns "pool cannot grow" into events with a node
 * condition through the daemon's {@link EventSink}.
 *
 * Its reads go through the daemon's CloudCaller (retries, throttle backoff,
 * `vpc_ipam_cloud_calls_total`). Each node pays one allocation read per
 * subnet per interval; on large clusters run the cluster-wide monitor
 * instead and set VPC_IPAM_MONITOR_INTERVAL_SECONDS=0 on the nodes
 * (docs/capacity.md) — events keep working with sampling off.
 */
import { IpamError } from '../../providers/errors.js';
import type { CloudProvider } from '../../providers/types.js';
import type { CloudCaller } from '../cloud/cloud-caller.js';
import type { DaemonConfig } from '../config.js';
import type { Datastore } from '../datastore/datastore.js';
import type { PoolSnapshot } from '../datastore/types.js';
import type { PoolAction, PoolLimits, PoolPlan } from '../pool/planner.js';
import type { PoolPolicy } from '../pool/policy.js';
import type { Clock } from '../util/clock.js';
import { GrowthBlockedReporter, LoggingEventSink, type EventSink } from './events.js';
import { registerSubnetMetrics } from './metrics.js';
import { SubnetMonitor, type MonitorLog } from './monitor.js';
import { nodeFootprint, type FootprintInput } from './node-footprint.js';
import { DatastoreUsageSource } from './pool-usage.js';
import type { NewNodeCost, SubnetReport } from './report.js';
import type { MonitorSettings } from '../config/monitor.js';
import type * as client from 'prom-client';
import { addressCount } from '../../providers/net/cidr.js';

/** What the node monitor reads from the daemon (all public on IpamDaemon). */
export interface NodeMonitorHost {
  d: {
    config: DaemonConfig;
    clock: Clock;
    provider: CloudProvider;
    log: MonitorLog & { info(o: object, m?: string): void };
    random?: () => number;
    eventSink?: EventSink;
    nodeName?: () => string;
    monitor?: boolean;
  };
  datastore: Datastore;
  caller: CloudCaller;
  policy: PoolPolicy;
  metrics: { registry: client.Registry };
  node: { instanceId: string };
  poolLimits: PoolLimits;
  instanceLimits: { prefixLength: number };
  snapshot(): PoolSnapshot;
  reconciler?: { growthBlocked: { until: number; reason: string } | undefined };
}

export class NodeMonitor {
  readonly settings: MonitorSettings;
  readonly monitor: SubnetMonitor;
  readonly events: GrowthBlockedReporter;
  private lastFailure: { code: string; subnetId?: string } | undefined;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;

  /** Parses the monitor variables (ConfigError on a bad one) and registers the gauges. */
  constructor(private readonly host: NodeMonitorHost) {
    const { d } = host;
    this.settings = d.config.monitor;
    const nodeName = () => d.nodeName?.() ?? host.node.instanceId;
    this.events = new GrowthBlockedReporter(d.eventSink ?? new LoggingEventSink(d.log), nodeName, d.clock);
    const usage = new DatastoreUsageSource(
      nodeName,
      () => host.snapshot(),
      () => this.footprint(0).warm,
    );
    this.monitor = new SubnetMonitor({
      provider: d.provider,
      clock: d.clock,
      settings: this.settings,
      usage,
      // The node's own subnets: where its interfaces are (custom networking included).
      subnets: async () => [...new Set(host.datastore.interfaceList().map((i) => i.subnetId))],
      mode: () => host.datastore.mode,
      newNode: () => this.newNodeCost(),
      call: (op, fn, signal) => host.caller.call(op, fn, signal),
      log: d.log,
      random: d.random,
    });
    if (this.enabled) registerSubnetMetrics(host.metrics.registry, this.monitor);
  }

  /** Sampling is on unless the interval is 0 or the daemon was built with `monitor: false`. */
  get enabled(): boolean {
    return this.settings.intervalMs > 0 && this.host.d.monitor !== false;
  }

  reports(): SubnetReport[] {
    return this.monitor.reports();
  }

  /** Starts periodic sampling (no-op when disabled or already started). */
  start(): void {
    if (!this.enabled || this.running) return;
    this.running = this.monitor
      .run(this.abort.signal)
      .catch((err) => this.host.d.log.warn({ err: (err as Error).message }, 'subnet monitor stopped'));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  /** Wired to the reconciler's onActionError: remembers which subnet the failing growth targeted. */
  onActionError(action: PoolAction, err: unknown): void {
    const code = IpamError.is(err) ? err.code : 'INTERNAL';
    let subnetId: string | undefined;
    if (action.kind === 'assign')
      subnetId = this.host.datastore.interfaceList().find((i) => i.id === action.interfaceId)?.subnetId;
    this.lastFailure = { code, ...(subnetId ? { subnetId } : {}) };
  }

  /** Wired to the reconciler's onGrowthBlocked (reason = the cloud's message with its code). */
  onGrowthBlocked(reason: string, cloudCode: string, until: number): void {
    const f = this.lastFailure;
    this.lastFailure = undefined;
    void this.events.blocked({
      code: f?.code ?? 'INTERNAL',
      cloudCode,
      reason,
      until,
      ...(f?.subnetId ? { subnetId: f.subnetId } : {}),
    });
  }

  /**
   * Wired to the reconciler's onPlan: the all-clear goes out once growth is
   * no longer paused and the pool is back at its target. Waiting for "not
   * short" rather than the end of the pause avoids a resolved/blocked flap
   * every backoff period while the subnet stays full.
   */
  onPlan(plan: PoolPlan): void {
    if (!this.events.isBlocked) return;
    const stillBlocked = this.host.reconciler?.growthBlocked !== undefined || plan.shortAddresses > 0;
    void this.events.check(stillBlocked);
  }

  private footprintInput(): FootprintInput {
    const h = this.host;
    const s = h.snapshot();
    return {
      limits: h.poolLimits,
      targets: h.policy.targets(s),
      mode: s.mode,
      blockSize: s.mode === 'prefix' ? addressCount(4, h.instanceLimits.prefixLength) : 1,
      primaryUnusable: s.interfaces.some((i) => i.primary && !i.usable),
    };
  }

  private footprint(pods: number) {
    return nodeFootprint(this.footprintInput(), pods);
  }

  private newNodeCost(): NewNodeCost {
    const f = this.footprint(0);
    return { addresses: f.subnetAddresses, blocks: f.blocks + f.subnetInterfaces };
  }
}
