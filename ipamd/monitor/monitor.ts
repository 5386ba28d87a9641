/**
 * @module subnet monitor
 * The sampling loop shared by ipamd (the node's own subnets) and the
 * cluster-wide monitor (every subnet the cluster uses). One pass reads each
 * watched subnet once, one call after another with a pause between them,
 * folds the free counts into each subnet's sliding window, and rebuilds the
 * report table that the metrics and `/v1/subnets` serve.
 *
 * Cost is the point of the design: a pass makes one describe call per
 * watched subnet (plus, for providers without allocation listing, one
 * DescribeSubnets for all of them), never one per node. Per-node periodic
 * Describe calls are what throttled large clusters in the AWS CNI
 * (aws-vpc-cni.md §9.3, #3719).
 *
 * A failed read keeps the subnet's previous report, marked with the error,
 * so a throttled pass never makes a subnet vanish from dashboards.
 */
import { IpamError } from '../../providers/errors.js';
import type { Subnet, SubnetAllocations, SubnetFilter } from '../../providers/types.js';
import type { Clock } from '../util/clock.js';
import { SampleWindow } from './forecast.js';
import { aggregateUsage, type NodePoolUsage, type PoolUsageSource } from './pool-usage.js';
import { buildReport, type AddressMode, type NewNodeCost, type SubnetReport } from './report.js';
import type { MonitorSettings } from '../config/monitor.js';
import { analyzeSubnet } from './subnet-space.js';

/** The two read-only provider calls the monitor needs. */
export interface SubnetReader {
  listSubnets(filter?: SubnetFilter): Promise<Subnet[]>;
  describeSubnetAllocations?(subnetId: string): Promise<SubnetAllocations>;
}

/** Runs a cloud call (the daemon passes its CloudCaller: retries, backoff, metrics). */
export type CallFn = <T>(operation: string, fn: () => Promise<T>, signal?: AbortSignal) => Promise<T>;

export interface MonitorLog {
  warn(o: object, m?: string): void;
  debug?(o: object, m?: string): void;
}

export interface SubnetMonitorOptions {
  provider: SubnetReader;
  clock: Clock;
  settings: MonitorSettings;
  /** Subnet ids to read in this pass; receives the usage read at its start. */
  subnets: (usage: readonly NodePoolUsage[], signal?: AbortSignal) => Promise<string[]>;
  usage?: PoolUsageSource;
  mode: () => AddressMode;
  /** What a new node would take, for headroom in nodes; undefined leaves that out. */
  newNode?: () => NewNodeCost | undefined;
  call?: CallFn;
  log?: MonitorLog;
  /** Uniform [0,1) for the start jitter; injected for determinism. */
  random?: () => number;
}

export interface MonitorStats {
  passes: number;
  reads: number;
  readErrors: number;
  lastPassAt: number | undefined;
}

const direct: CallFn = (_op, fn) => fn();

export class SubnetMonitor {
  private readonly windows = new Map<string, SampleWindow>();
  private table = new Map<string, SubnetReport>();
  readonly stats: MonitorStats = { passes: 0, reads: 0, readErrors: 0, lastPassAt: undefined };
  /** Read errors by error code, cumulative (for the metrics counter). */
  readonly errorsByCode = new Map<string, number>();

  constructor(private readonly o: SubnetMonitorOptions) {}

  /** The latest report of every watched subnet, sorted by subnet id. */
  reports(): SubnetReport[] {
    return [...this.table.values()].sort((a, b) => (a.subnetId < b.subnetId ? -1 : a.subnetId > b.subnetId ? 1 : 0));
  }

  /** Forgets every report and history (the cluster monitor does this when it loses leadership). */
  reset(): void {
    this.windows.clear();
    this.table.clear();
  }

  /** One pass: read every watched subnet once, update windows and reports. Never throws for a cloud error. */
  async sample(signal?: AbortSignal): Promise<SubnetReport[]> {
    const { o } = this;
    let usage: NodePoolUsage[] = [];
    if (o.usage) {
      try {
        usage = await o.usage.usage();
      } catch (err) {
        o.log?.warn(
          { err: (err as Error).message },
          'pool usage unavailable; held/assigned and headroom count no node pools this pass',
        );
      }
    }
    const ids = [...new Set(await o.subnets(usage, signal))].sort();
    const byId = aggregateUsage(usage);
    const call = o.call ?? direct;
    const mode = o.mode();
    const newNode = o.newNode?.();
    const watched = new Set(ids);
    for (const id of [...this.table.keys()]) {
      if (!watched.has(id)) {
        this.table.delete(id);
        this.windows.delete(id);
      }
    }

    // Providers without allocation listing: one DescribeSubnets for all, free counts only.
    const listed = new Map<string, Subnet>();
    if (!o.provider.describeSubnetAllocations && ids.length > 0) {
      try {
        this.stats.reads++;
        for (const s of await call('listSubnets', () => o.provider.listSubnets({ ids }), signal)) listed.set(s.id, s);
      } catch (err) {
        for (const id of ids) this.fail(id, err);
        ids.length = 0;
      }
    }

    for (let k = 0; k < ids.length; k++) {
      if (signal?.aborted) break;
      const id = ids[k]!;
      if (k > 0 && o.settings.paceMs > 0 && o.provider.describeSubnetAllocations) {
        await o.clock.sleep(o.settings.paceMs, signal).catch(() => {});
        if (signal?.aborted) break;
      }
      try {
        let subnet: Subnet;
        let used: string[] | undefined;
        if (o.provider.describeSubnetAllocations) {
          this.stats.reads++;
          const a = await call('describeSubnetAllocations', () => o.provider.describeSubnetAllocations!(id), signal);
          subnet = a.subnet;
          used = a.used;
        } else {
          const s = listed.get(id);
          if (!s) throw new IpamError('CLOUD_NOT_FOUND', `subnet ${id} was not returned by the cloud`);
          subnet = s;
        }
        const at = o.clock.now();
        const space = used ? analyzeSubnet(subnet.cidr, used, o.settings) : undefined;
        const w = this.window(id);
        w.add({
          t: at,
          free: space?.free ?? subnet.availableAddresses,
          ...(space ? { freeBlocks: space.freePrefixBlocks } : {}),
        });
        const empty = space ?? analyzeSubnet(subnet.cidr, [], o.settings);
        this.table.set(
          id,
          buildReport({
            subnet,
            sampledAt: at,
            mode,
            prefixLength: o.settings.prefixLength,
            space,
            fallbackTotal: { total: empty.total, reserved: empty.reserved },
            usage: byId.get(id),
            addressTrend: w.addresses(),
            blockTrend: space ? w.prefixBlocks() : undefined,
            newNode,
          }),
        );
      } catch (err) {
        if (signal?.aborted) break;
        this.fail(id, err);
      }
    }
    this.stats.passes++;
    this.stats.lastPassAt = o.clock.now();
    return this.reports();
  }

  /**
   * Samples every `intervalMs` until `signal` aborts; the first pass after a random fraction of a tenth of the
   * interval.
   */
  async run(signal: AbortSignal): Promise<void> {
    const { intervalMs } = this.o.settings;
    if (intervalMs <= 0) return;
    // Nodes started together (a rollout) should not read the cloud in lockstep.
    const jitter = Math.floor((this.o.random ?? Math.random)() * intervalMs * 0.1);
    try {
      if (jitter > 0) await this.o.clock.sleep(jitter, signal);
      while (!signal.aborted) {
        const started = this.o.clock.now();
        await this.sample(signal).catch((err) =>
          this.o.log?.warn({ err: (err as Error).message }, 'monitor pass failed'),
        );
        const wait = started + intervalMs - this.o.clock.now();
        await this.o.clock.sleep(Math.max(wait, 0), signal);
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }

  private window(id: string): SampleWindow {
    let w = this.windows.get(id);
    if (!w) {
      w = new SampleWindow({ windowMs: this.o.settings.windowMs });
      this.windows.set(id, w);
    }
    return w;
  }

  private fail(id: string, err: unknown): void {
    this.stats.readErrors++;
    const code = IpamError.is(err) ? err.code : 'INTERNAL';
    this.errorsByCode.set(code, (this.errorsByCode.get(code) ?? 0) + 1);
    const msg = `${code}: ${(err as Error).message}`;
    const prev = this.table.get(id);
    if (prev) this.table.set(id, { ...prev, error: msg });
    this.o.log?.warn(
      { subnetId: id, code, err: (err as Error).message },
      'subnet read failed; keeping its previous numbers',
    );
  }
}
