/**
 * @module metrics
 * Prometheus metrics for one daemon (a registry per instance, so tests can
 * run several). Pool gauges are computed at scrape time from the datastore,
 * so they can never drift from the truth.
 */
import * as client from 'prom-client';
import type { PoolSnapshot } from '../datastore/types.js';
import type { CallObserver } from '../cloud/cloud-caller.js';
import type { Request } from '../../cni/contract/protocol.js';
import { AwsCniMetrics, type AwsCniSources } from './awscni-metrics.js';
import { RequestPhases } from './request-phases.js';

export interface PoolReadings {
  snapshot(): PoolSnapshot;
  growthBlocked(): { reason: string } | undefined;
  orphaned(): number;
  shortAddresses(): number;
  /** VPC_IPAM_AWSCNI_METRICS on: the AWS VPC CNI's families are served too, from these. */
  awscni?: AwsCniSources | undefined;
}

export class DaemonMetrics implements CallObserver {
  readonly registry = new client.Registry();
  /** The `awscni_*` families, on the same registry; undefined while VPC_IPAM_AWSCNI_METRICS is off. */
  readonly awscni: AwsCniMetrics | undefined;
  /** vpc_ipam_cni_request_phase_seconds: the API handler reports each ADD's and DEL's phases here. */
  readonly requestPhases: RequestPhases;
  private readonly cloudCalls: client.Counter<'operation' | 'result'>;
  private readonly cloudLatency: client.Histogram<'operation'>;
  private readonly addLatency: client.Histogram<'waited'>;
  private readonly errors: client.Counter<'code'>;
  private readonly growthBlockedEvents: client.Counter<'cloud_code'>;

  constructor(readings: PoolReadings) {
    const r = this.registry;
    new client.Gauge({
      name: 'vpc_ipam_pool_addresses',
      help:
        'Addresses in the node warm pool by state (total, assigned, available, cooling). ' +
        'Cooling addresses are not available.',
      labelNames: ['state'],
      registers: [r],
      collect() {
        const s = readings.snapshot();
        this.set({ state: 'total' }, s.total);
        this.set({ state: 'assigned' }, s.assigned);
        this.set({ state: 'available' }, s.available);
        this.set({ state: 'cooling' }, s.cooling);
      },
    });
    new client.Gauge({
      name: 'vpc_ipam_interfaces',
      help: 'Cloud network interfaces attached to this node and known to ipamd.',
      registers: [r],
      collect() {
        this.set(readings.snapshot().interfaces.length);
      },
    });
    new client.Gauge({
      name: 'vpc_ipam_adds_waiting',
      help: 'CNI ADDs currently waiting for the pool to grow.',
      registers: [r],
      collect() {
        this.set(readings.snapshot().waiting);
      },
    });
    new client.Gauge({
      name: 'vpc_ipam_pool_short_addresses',
      help: 'Addresses the pool is below its target at the last plan (0 when at target).',
      registers: [r],
      collect() {
        this.set(readings.shortAddresses());
      },
    });
    new client.Gauge({
      name: 'vpc_ipam_pool_growth_blocked',
      help: '1 while pool growth is paused after a subnet-full, no-prefix or authorisation error.',
      registers: [r],
      collect() {
        this.set(readings.growthBlocked() ? 1 : 0);
      },
    });
    new client.Gauge({
      name: 'vpc_ipam_orphaned_assignments',
      help: 'Checkpointed assignments whose address the cloud does not show; kept, never dropped silently.',
      registers: [r],
      collect() {
        this.set(readings.orphaned());
      },
    });
    this.cloudCalls = new client.Counter({
      name: 'vpc_ipam_cloud_calls_total',
      help: 'Cloud API call attempts by operation and result (ok, or the cloud error code).',
      labelNames: ['operation', 'result'],
      registers: [r],
    });
    this.cloudLatency = new client.Histogram({
      name: 'vpc_ipam_cloud_call_duration_seconds',
      help: 'Cloud API call latency by operation.',
      labelNames: ['operation'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32],
      registers: [r],
    });
    this.addLatency = new client.Histogram({
      name: 'vpc_ipam_add_latency_seconds',
      help: 'Time an ADD took to get an address; waited="true" when the pool had to grow first.',
      labelNames: ['waited'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
      registers: [r],
    });
    this.errors = new client.Counter({
      name: 'vpc_ipam_errors_total',
      help: 'Errors by stable error code (docs/troubleshooting.md lists them).',
      labelNames: ['code'],
      registers: [r],
    });
    this.growthBlockedEvents = new client.Counter({
      name: 'vpc_ipam_growth_blocked_total',
      help: 'Times pool growth was paused, by the cloud error code that caused it.',
      labelNames: ['cloud_code'],
      registers: [r],
    });
    this.requestPhases = new RequestPhases(r);
    this.awscni = readings.awscni && new AwsCniMetrics(r, readings.awscni);
  }

  onStart(operation: string): void {
    this.awscni?.onStart(operation);
  }

  onAttempt(operation: string, result: string, seconds: number, err?: unknown): void {
    this.cloudCalls.inc({ operation, result });
    this.cloudLatency.observe({ operation }, seconds);
    this.awscni?.onAttempt(operation, result, seconds, err);
  }

  /** A request on the plugin socket, counted (awscni_add_ip_req_count…); returned as is. */
  counted(req: Request): Request {
    return this.awscni ? this.awscni.counted(req) : req;
  }

  /** Runs init(), timed as the AWS CNI's node initialisation when its families are on. */
  nodeInit<T>(init: () => Promise<T>): Promise<T> {
    return this.awscni ? this.awscni.nodeInit(init) : init();
  }

  /** ipamd serves, `seconds` after its process started (awscni_ipamd_startup_duration_seconds). */
  started(seconds: number, withApiServer: boolean): void {
    this.awscni?.started(seconds, withApiServer);
  }

  observeAdd(ms: number, waited: boolean): void {
    this.addLatency.observe({ waited: String(waited) }, ms / 1000);
  }

  error(code: string): void {
    this.errors.inc({ code });
    this.awscni?.error(code);
  }

  growthBlocked(cloudCode: string): void {
    this.growthBlockedEvents.inc({ cloud_code: cloudCode });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
