/**
 * @module cluster monitor
 * `vpc-ipamd monitor`: one replica watches every subnet the cluster uses,
 * with one paced set of describe calls per interval for the whole cluster,
 * and only while it holds leadership. Node counts never change the number
 * of cloud calls: nodes report their pools through the Kubernetes API (their
 * NodeAddressPools: the {@link PoolUsageSource}), not through the cloud.
 *
 * Which subnets, per pass: the configured ids, plus every subnet a node
 * reports a pool in, plus (when a tag or VPC filter is set) the subnets one
 * DescribeSubnets returns. So a pass costs at most 1 + (watched subnets)
 * calls.
 *
 * The leader also runs maintenance tasks after each pass, such as the
 * leaked-interface sweep an AWS provider offers: a sweep belongs off the
 * nodes ("the only sure way ... is outside the node", aws-vpc-cni.md §9.4).
 */
import type { CloudProvider, SubnetFilter } from '../../providers/types.js';
import type { Clock } from '../util/clock.js';
import type { LeaderElector } from './leader.js';
import type { CallFn, MonitorLog, SubnetMonitor } from './monitor.js';
import type { NodePoolUsage } from './pool-usage.js';

/** Periodic work only the leader does, after each monitor pass. */
export interface MaintenanceTask {
  readonly name: string;
  /** Run at most this often (default: every pass). A sweep needs no minute-by-minute cadence. */
  readonly everyMs?: number;
  /** Runs once; `signal` aborts on leadership loss or stop. Errors are logged, never fatal. */
  run(signal: AbortSignal): Promise<unknown>;
}

/**
 * Optional provider capability: deletes interfaces this cluster created that
 * are detached and past a grace period (AWS: `available` ENIs tagged with
 * the cluster). A provider that has it gets a {@link MaintenanceTask}.
 */
export interface LeakedInterfaceCollector {
  collectLeakedInterfaces(signal?: AbortSignal): Promise<{ deleted: number; [k: string]: unknown }>;
}

export function hasLeakCollector(p: object): p is LeakedInterfaceCollector {
  return typeof (p as Partial<LeakedInterfaceCollector>).collectLeakedInterfaces === 'function';
}

/** The leaked-interface sweep as a task, when the provider offers one. */
export function leakSweepTask(
  p: CloudProvider,
  log: MonitorLog & { info(o: object, m?: string): void },
): MaintenanceTask | undefined {
  if (!hasLeakCollector(p)) return undefined;
  return {
    name: 'leaked-interface-sweep',
    run: async (signal) => {
      const r = await p.collectLeakedInterfaces(signal);
      if (r.deleted > 0) log.info({ ...r }, 'deleted leaked interfaces');
      return r;
    },
  };
}

export interface ClusterSubnetsOptions {
  provider: Pick<CloudProvider, 'listSubnets'>;
  /** Always watched. */
  subnetIds: readonly string[];
  /** When set, one DescribeSubnets per pass adds the matching subnets. */
  filter?: SubnetFilter;
  call?: CallFn;
}

/** The `subnets` callback of the cluster monitor (see the module comment). */
export function clusterSubnets(o: ClusterSubnetsOptions) {
  return async (usage: readonly NodePoolUsage[], signal?: AbortSignal): Promise<string[]> => {
    const ids = new Set<string>(o.subnetIds);
    for (const u of usage) ids.add(u.subnetId);
    if (o.filter) {
      const call = o.call ?? ((_op, fn) => fn());
      for (const s of await call('listSubnets', () => o.provider.listSubnets(o.filter), signal)) ids.add(s.id);
    }
    return [...ids];
  };
}

export interface ClusterMonitorOptions {
  monitor: SubnetMonitor;
  elector: LeaderElector;
  clock: Clock;
  intervalMs: number;
  maintenance?: MaintenanceTask[];
  log: MonitorLog & { info(o: object, m?: string): void };
}

export class ClusterMonitor {
  /** Completed leader passes (for tests and the status log). */
  passes = 0;
  private readonly lastRun = new Map<string, number>();

  constructor(private readonly o: ClusterMonitorOptions) {}

  isLeader(): boolean {
    return this.o.elector.isLeader();
  }

  /** Campaigns and, while leading, samples every interval; resolves when `signal` aborts. */
  run(signal: AbortSignal): Promise<void> {
    return this.o.elector.run(signal, {
      onStartedLeading: (lost) => this.lead(lost),
      // A standby must not export a dead leader's numbers as if current.
      onStoppedLeading: () => this.o.monitor.reset(),
    });
  }

  /** One leader pass: sample, then maintenance. Exposed for tests that drive passes one by one. */
  async pass(signal: AbortSignal): Promise<void> {
    await this.o.monitor.sample(signal);
    for (const t of this.o.maintenance ?? []) {
      if (signal.aborted) break;
      const last = this.lastRun.get(t.name);
      if (t.everyMs !== undefined && last !== undefined && this.o.clock.now() - last < t.everyMs) continue;
      this.lastRun.set(t.name, this.o.clock.now());
      try {
        await t.run(signal);
      } catch (err) {
        this.o.log.warn({ task: t.name, err: (err as Error).message }, 'maintenance task failed');
      }
    }
    this.passes++;
  }

  private async lead(lost: AbortSignal): Promise<void> {
    this.o.log.info({ identity: this.o.elector.identity }, 'cluster monitor is leader; sampling subnets');
    while (!lost.aborted) {
      const started = this.o.clock.now();
      await this.pass(lost).catch((err) =>
        this.o.log.warn({ err: (err as Error).message }, 'cluster monitor pass failed'),
      );
      const wait = Math.max(0, started + this.o.intervalMs - this.o.clock.now());
      await this.o.clock.sleep(wait, lost).catch(() => {});
    }
    this.o.log.info({ identity: this.o.elector.identity }, 'cluster monitor lost or gave up leadership; standing by');
  }
}
