/**
 * @module awscni metrics
 * The AWS VPC CNI's `awscni_*` Prometheus families (utils/prometheusmetrics/prometheusmetrics.go and
 * pkg/version/info.go in aws/amazon-vpc-cni-k8s), with its names, types, help texts and labels, on ipamd's own
 * registry, so aws-node dashboards and cni-metrics-helper read ipamd unchanged. Behind VPC_IPAM_AWSCNI_METRICS
 * (docs/alerts.md "AWS VPC CNI metrics" lists each family and where its value comes from).
 *
 * Everything is computed from what ipamd already knows: the pool gauges from the datastore at scrape time
 * (awscni-pool.ts), the cloud-call families from the CloudCaller's attempts (named by awscni-api-names.ts),
 * requests, errors, resyncs and start-up from the daemon's hooks. Like the AWS CNI, labelled families show a
 * series once something happened; unlabelled ones are always there, 0 until then.
 */
import * as client from 'prom-client';
import type { ProviderName } from '../../providers/types.js';
import { CloudError } from '../../providers/errors.js';
import type { Request } from '../../cni/contract/protocol.js';
import type { SyncReport } from '../datastore/datastore.js';
import type { PoolAction } from '../pool/planner.js';
import type { Clock } from '../util/clock.js';
import { cloudApiName } from './awscni-api-names.js';
import { actionErrorFn, actionsInProgress, reconcileCounts } from './awscni-events.js';
import { awsCniPoolValues, type AwsCniPoolInput, type AwsCniPoolValues } from './awscni-pool.js';

/** What the families read, all lazily (metrics are served before init() has read the node). */
export interface AwsCniSources {
  provider: ProviderName;
  version: string;
  clock: Clock;
  pool(): AwsCniPoolInput;
  /** init() has finished: a describeNode after it is the periodic reconcile, not node initialisation. */
  initialised(): boolean;
  /** `iptables` while ipamd keeps NodePort connmark rules on this host; undefined when it keeps none. */
  connmarkBackend(): string | undefined;
}

/** The reason the AWS plugin gives a DEL of a deleted Pod (cmd/routed-eni-cni-plugin/cni.go). */
const POD_DELETED = 'PodDeleted';

export class AwsCniMetrics {
  private readonly ipamdErrors: client.Counter<'fn'>;
  private readonly reconciles: client.Counter<'fn'>;
  private readonly addRequests: client.Counter;
  private readonly delRequests: client.Counter<'reason'>;
  private readonly apiLatency: client.Summary<'api' | 'error' | 'status'>;
  private readonly apiErrors: client.Counter<'api' | 'error'>;
  private readonly ec2Requests: client.Counter<'fn'>;
  private readonly ec2Errors: client.Counter<'fn'>;
  private readonly noAvailable: client.Counter;
  private readonly startup: client.Histogram<'success' | 'with_api_server' | 'failure_reason'>;
  private readonly nodeInitDuration: client.Histogram<'success'>;
  /** Provider calls in flight, by operation (awscni_ipamd_action_inprogress). */
  private readonly inFlight = new Map<string, number>();
  private nodeInitRunning = 0;

  constructor(
    registry: client.Registry,
    private readonly src: AwsCniSources,
  ) {
    const r = [registry];
    const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
      new client.Counter<L>({ name, help, labelNames, registers: r });
    const pool = (): AwsCniPoolValues => awsCniPoolValues(src.pool());
    const gauge = (name: string, help: string, read: (v: AwsCniPoolValues) => number) =>
      new client.Gauge({
        name,
        help,
        registers: r,
        collect() {
          this.set(read(pool()));
        },
      });
    this.ipamdErrors = counter('awscni_ipamd_error_count', 'The number of errors encountered in ipamd', ['fn']);
    labelledGauge(r, 'awscni_ipamd_action_inprogress', 'The number of ipamd actions in progress', 'fn', () =>
      actionsInProgress(this.inFlight, this.nodeInitRunning, src.initialised()),
    );
    gauge(
      'awscni_eni_max',
      'The maximum number of ENIs that can be attached to the instance, accounting for unmanaged ENIs',
      (v) => v.eniMax,
    );
    gauge('awscni_ip_max', 'The maximum number of IP addresses that can be allocated to the instance', (v) => v.ipMax);
    this.reconciles = counter(
      'awscni_reconcile_count',
      'The number of times ipamd reconciles on ENIs and IP/Prefix addresses',
      ['fn'],
    );
    this.addRequests = counter('awscni_add_ip_req_count', 'The number of add IP address requests');
    this.delRequests = counter('awscni_del_ip_req_count', 'The number of delete IP address requests', ['reason']);
    this.apiLatency = new client.Summary({
      name: 'awscni_aws_api_latency_ms',
      help: 'AWS API call latency in ms',
      labelNames: ['api', 'error', 'status'],
      // client_golang's SummaryOpts without Objectives: _sum and _count only, no quantiles.
      percentiles: [],
      registers: r,
    });
    this.apiErrors = counter('awscni_aws_api_error_count', 'The number of times AWS API returns an error', [
      'api',
      'error',
    ]);
    this.ec2Requests = counter('awscni_ec2api_req_count', 'The number of requests made to EC2 APIs by CNI', ['fn']);
    this.ec2Errors = counter('awscni_ec2api_error_count', 'The number of failed EC2 APIs requests', ['fn']);
    gauge('awscni_eni_allocated', 'The number of ENIs allocated', (v) => v.eniAllocated);
    gauge('awscni_total_ip_addresses', 'The total number of IP addresses', (v) => v.totalIps);
    gauge('awscni_assigned_ip_addresses', 'The number of IP addresses assigned to pods', (v) => v.assignedIps);
    // ipamd never drops an address a Pod holds (orphans are kept, vpc_ipam_orphaned_assignments): always 0.
    counter('awscni_force_removed_enis', 'The number of ENIs force removed while they had assigned pods');
    counter('awscni_force_removed_ips', 'The number of IPs force removed while they had assigned pods');
    gauge('awscni_total_ipv4_prefixes', 'The total number of IPv4 prefixes', (v) => v.totalPrefixes);
    labelledGauge(
      r,
      'awscni_assigned_ip_per_cidr',
      'The total number of IP addresses assigned per cidr',
      'cidr',
      () => pool().assignedPerCidr,
    );
    this.noAvailable = counter(
      'awscni_no_available_ip_addresses',
      'The number of pod IP assignments that fail due to no available IP addresses',
    );
    labelledGauge(
      r,
      'awscni_assigned_ip_per_eni',
      'The number of allocated ips partitioned by eni',
      'eni',
      () => pool().assignedPerEni,
    );
    this.startup = new client.Histogram({
      name: 'awscni_ipamd_startup_duration_seconds',
      help: 'The duration of IPAMD startup from process start to ready to serve CNI requests',
      labelNames: ['success', 'with_api_server', 'failure_reason'],
      registers: r,
    });
    this.nodeInitDuration = new client.Histogram({
      name: 'awscni_ipamd_node_initialization_duration_seconds',
      help: 'The duration of node initialization during IPAMD startup',
      labelNames: ['success'],
      registers: r,
    });
    labelledGauge(
      r,
      'awscni_connmark_backend',
      "The connmark backend in use; the active backend's series is set to 1",
      'backend',
      () => {
        const backend = src.connmarkBackend();
        return new Map(backend ? [[backend, 1]] : []);
      },
    );
    new client.Gauge({
      name: 'awscni_build_info',
      help:
        "A metric with a constant '1' value labeled by version, revision, and goversion " +
        'from which amazon-vpc-cni-k8s was built.',
      labelNames: ['version', 'goversion'],
      registers: r,
      // The runtime's version where the AWS CNI puts Go's: what a build-info panel groups nodes by.
    }).set({ version: src.version, goversion: process.version }, 1);
  }

  /** A provider call attempt starts (the CloudCaller's hook). */
  onStart(operation: string): void {
    this.inFlight.set(operation, (this.inFlight.get(operation) ?? 0) + 1);
  }

  /** A provider call attempt ended: `ok`, or the cloud's code (or ipamd's) with the error. */
  onAttempt(operation: string, result: string, seconds: number, err?: unknown): void {
    const n = this.inFlight.get(operation) ?? 0;
    if (n <= 1) this.inFlight.delete(operation);
    else this.inFlight.set(operation, n - 1);
    const api = cloudApiName(this.src.provider, operation);
    const failed = result !== 'ok';
    // The AWS CNI's status is "200", or the API error's code; "" when the failure was no API answer at all.
    const cloudCode = CloudError.isCloud(err) ? err.cloudCode : undefined;
    const status = failed ? (cloudCode ?? '') : '200';
    this.apiLatency.observe({ api, error: String(failed), status }, seconds * 1000);
    this.ec2Requests.inc({ fn: api });
    if (!failed) return;
    this.ec2Errors.inc({ fn: api });
    if (cloudCode !== undefined) this.apiErrors.inc({ api, error: cloudCode });
  }

  /** A request on the plugin socket (or replayed from the plugin's spool); returned as is. */
  counted(req: Request): Request {
    if (req.op === 'add') this.addRequests.inc();
    if (req.op === 'del') this.delRequests.inc({ reason: POD_DELETED });
    return req;
  }

  /** An error code ipamd answered or counted (vpc_ipam_errors_total). */
  error(code: string): void {
    if (code === 'POOL_EXHAUSTED') this.noAvailable.inc();
  }

  actionFailed(action: PoolAction): void {
    this.ipamdErrors.inc({ fn: actionErrorFn(action) });
  }

  resynced(report: SyncReport): void {
    for (const [fn, n] of reconcileCounts(report)) this.reconciles.inc({ fn }, n);
  }

  /** Runs init() as the AWS CNI's nodeInit: in progress meanwhile, its duration observed by outcome. */
  async nodeInit<T>(init: () => Promise<T>): Promise<T> {
    const started = this.src.clock.now();
    const observe = (success: boolean) =>
      this.nodeInitDuration.observe({ success: String(success) }, (this.src.clock.now() - started) / 1000);
    this.nodeInitRunning++;
    try {
      const out = await init();
      observe(true);
      return out;
    } catch (err) {
      observe(false);
      throw err;
    } finally {
      this.nodeInitRunning--;
    }
  }

  /**
   * The plugin socket serves: `seconds` since the process started. A failed start is not observed: ipamd then
   * closes its listeners and exits, so no scrape could read it (the AWS CNI observes it right before exiting).
   */
  started(seconds: number, withApiServer: boolean): void {
    this.startup.observe({ success: 'true', with_api_server: String(withApiServer), failure_reason: '' }, seconds);
  }
}

/** A gauge with one label whose series are recomputed at every scrape (stale ones disappear). */
function labelledGauge(
  registers: client.Registry[],
  name: string,
  help: string,
  label: string,
  read: () => Map<string, number>,
): void {
  new client.Gauge({
    name,
    help,
    labelNames: [label],
    registers,
    collect() {
      this.reset();
      for (const [value, n] of read()) this.set({ [label]: value }, n);
    },
  });
}
