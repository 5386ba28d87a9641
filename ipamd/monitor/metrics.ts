/**
 * @module monitor metrics
 * Prometheus gauges for the subnet table, computed at scrape time from the
 * monitor's latest reports (so they can never drift from `/v1/subnets`).
 * Every subnet gauge has the labels `subnet_id`, `zone` and `cidr`. A gauge
 * whose value is unknown for a subnet (no trend yet, no allocation listing)
 * has no series for it rather than a made-up number. docs/capacity.md
 * describes each one.
 */
import * as client from 'prom-client';
import type { CallObserver } from '../cloud/cloud-caller.js';
import type { SubnetReport } from './report.js';

type Labels = 'subnet_id' | 'zone' | 'cidr';
const LABELS: Labels[] = ['subnet_id', 'zone', 'cidr'];

export interface MonitorReadings {
  reports(): SubnetReport[];
  stats: { passes: number; readErrors: number; lastPassAt: number | undefined };
  errorsByCode: ReadonlyMap<string, number>;
}

/** Gauge name → help and the report field it shows. Exported so tests and docs check the same list. */
export const SUBNET_GAUGES: ReadonlyArray<{
  name: string;
  help: string;
  value: (r: SubnetReport) => number | undefined;
}> = [
  {
    name: 'vpc_ipam_subnet_total_addresses',
    help: 'Usable addresses of the subnet: CIDR size minus the addresses the cloud reserves.',
    value: (r) => r.total,
  },
  {
    name: 'vpc_ipam_subnet_used_addresses',
    help: 'Usable addresses taken by interfaces, secondary IPs, prefixes and reservations.',
    value: (r) => r.used,
  },
  {
    name: 'vpc_ipam_subnet_free_addresses',
    help: 'Usable addresses not taken (EC2 AvailableIpAddressCount).',
    value: (r) => r.free,
  },
  {
    name: 'vpc_ipam_subnet_free_prefix_blocks',
    help: 'Aligned prefix blocks (AWS /28) with every address free: how many more prefixes the cloud can delegate.',
    value: (r) => r.freePrefixBlocks,
  },
  {
    name: 'vpc_ipam_subnet_largest_free_block_addresses',
    help:
      'Addresses in the largest aligned free CIDR block of the subnet (fragmentation: small while free_addresses ' +
      'is large).',
    value: (r) => (r.freePrefixBlocks === undefined ? undefined : (r.largestFreeBlock?.addresses ?? 0)),
  },
  {
    name: 'vpc_ipam_subnet_held_addresses',
    help: 'Addresses held in node warm pools and not assigned to a Pod (free or cooling).',
    value: (r) => r.held,
  },
  {
    name: 'vpc_ipam_subnet_assigned_addresses',
    help: 'Addresses assigned to Pods by the nodes that report their pools.',
    value: (r) => r.assigned,
  },
  {
    name: 'vpc_ipam_subnet_nodes',
    help: 'Nodes whose pools hold addresses of the subnet (that report them).',
    value: (r) => r.nodes,
  },
  {
    name: 'vpc_ipam_subnet_consumption_rate',
    help:
      'Addresses consumed per second: least-squares slope of free addresses over the forecast window, negated ' +
      '(negative = freeing).',
    value: (r) => r.consumptionPerSecond,
  },
  {
    name: 'vpc_ipam_subnet_exhaustion_eta_seconds',
    help:
      'Seconds until the subnet runs out at the current consumption rate (prefix mode: the earlier of addresses ' +
      'and prefix blocks); +Inf when not being consumed.',
    value: (r) => r.etaSeconds,
  },
  {
    name: 'vpc_ipam_subnet_prefix_block_consumption_rate',
    help: 'Free prefix blocks consumed per second (least-squares slope over the forecast window, negated).',
    value: (r) => r.prefixBlockConsumptionPerSecond,
  },
  {
    name: 'vpc_ipam_subnet_prefix_block_exhaustion_eta_seconds',
    help: 'Seconds until no aligned prefix block is left at the current rate; +Inf when not being consumed.',
    value: (r) => r.prefixBlockEtaSeconds,
  },
  {
    name: 'vpc_ipam_subnet_headroom_pods',
    help:
      'Pods that can still get an address from the subnet at the current pool settings: capacity + held − warm ' +
      'reserve (docs/capacity.md).',
    value: (r) => r.headroomPods,
  },
  {
    name: 'vpc_ipam_subnet_headroom_nodes',
    help: 'New nodes (with empty warm pools) that fit in the subnet at the current pool settings.',
    value: (r) => r.headroomNodes,
  },
  {
    name: 'vpc_ipam_subnet_last_sample_timestamp_seconds',
    help: 'Unix time of the cloud read the subnet numbers come from.',
    value: (r) => r.sampledAt / 1000,
  },
  {
    name: 'vpc_ipam_subnet_prefix_delegation',
    help:
      '1 when the monitor counts this subnet in prefix mode (ENABLE_PREFIX_DELEGATION), so no free prefix block ' +
      'means Pods cannot start.',
    value: (r) => (r.mode === 'prefix' ? 1 : 0),
  },
  {
    name: 'vpc_ipam_subnet_read_failing',
    help: '1 when the last read of the subnet failed (numbers are from the last good read).',
    value: (r) => (r.error ? 1 : 0),
  },
];

/** Registers the subnet gauges and the monitor's own counters on `registry`. */
export function registerSubnetMetrics(registry: client.Registry, readings: MonitorReadings): void {
  for (const g of SUBNET_GAUGES) {
    new client.Gauge<Labels>({
      name: g.name,
      help: g.help,
      labelNames: LABELS,
      registers: [registry],
      collect() {
        this.reset();
        for (const r of readings.reports()) {
          const v = g.value(r);
          if (v !== undefined) this.set({ subnet_id: r.subnetId, zone: r.zone, cidr: r.cidr }, v);
        }
      },
    });
  }
  // Counters mirrored from the monitor's own cumulative stats at scrape time (reset + inc keeps them monotonic).
  new client.Counter({
    name: 'vpc_ipam_monitor_passes_total',
    help: 'Monitor passes completed since start (each reads every watched subnet once).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(readings.stats.passes);
    },
  });
  new client.Counter<'code'>({
    name: 'vpc_ipam_monitor_read_errors_total',
    help: 'Subnet reads that failed since start, by error code.',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [code, n] of readings.errorsByCode) this.inc({ code }, n);
    },
  });
}

/** Leadership gauge for the cluster monitor (1 on the replica that is sampling). */
export function registerLeaderMetric(registry: client.Registry, isLeader: () => boolean): void {
  new client.Gauge({
    name: 'vpc_ipam_monitor_leader',
    help: '1 on the cluster monitor replica that holds leadership and samples, 0 on standbys.',
    registers: [registry],
    collect() {
      this.set(isLeader() ? 1 : 0);
    },
  });
}

/** Cloud call counter for the cluster monitor, which has no daemon metrics (same name and labels as ipamd's). */
export class MonitorCallMetrics implements CallObserver {
  private readonly calls: client.Counter<'operation' | 'result'>;
  constructor(registry: client.Registry) {
    this.calls = new client.Counter({
      name: 'vpc_ipam_cloud_calls_total',
      help: 'Cloud API call attempts by operation and result (ok, or the cloud error code).',
      labelNames: ['operation', 'result'],
      registers: [registry],
    });
  }
  onAttempt(operation: string, result: string): void {
    this.calls.inc({ operation, result });
  }
}
