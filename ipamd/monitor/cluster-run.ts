/**
 * @module cluster monitor entry
 * `vpc-ipamd monitor`: builds the cluster-wide monitor from its configuration
 * (ipamd/config/cluster-monitor.ts: the daemon's variables for the provider,
 * logs and pool settings, plus the VPC_IPAM_MONITOR_* ones) and runs it until
 * SIGTERM.
 *
 * With VPC_IPAM_PROVIDER=sim the monitor reads the sim cloud file a sim
 * daemon keeps under VPC_IPAM_STATE_DIR, afresh on every call, and never
 * writes it; other providers are built by the provider factory as for ipamd.
 */
import { poolLimitsFor } from '../pool/capacity.js';
import * as path from 'node:path';
import * as client from 'prom-client';
import { lookupEc2Limits } from '../../providers/limits/ec2-limits.js';
import type { CloudProvider, InstanceLimits } from '../../providers/types.js';
import { CloudCaller } from '../cloud/cloud-caller.js';
import type { DaemonConfig } from '../config.js';
import type { ClusterMonitorConfig } from '../config/cluster-monitor.js';
import type { ClusterMonitorSettings } from '../config/monitor.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { createProvider } from '../provider-factory.js';
import type { BuiltProvider } from '../setup/types.js';
import { HttpEndpoint } from '../server/http.js';
import { SystemClock, type Clock } from '../util/clock.js';
import { ClusterMonitor, clusterSubnets, leakSweepTask, type MaintenanceTask } from './cluster.js';
import { loadKubernetesIntegration, type MonitorIntegration } from './integration.js';
import { AlwaysLeader } from './leader.js';
import { MonitorCallMetrics, registerLeaderMetric, registerSubnetMetrics } from './metrics.js';
import { SubnetMonitor, type SubnetReader } from './monitor.js';
import { nodeFootprint } from './node-footprint.js';
import type { NewNodeCost } from './report.js';
import { SimFileReader } from './sim-reader.js';
import { addressCount } from '../../providers/net/cidr.js';

export interface RunningClusterMonitor {
  cluster: ClusterMonitor;
  monitor: SubnetMonitor;
  settings: ClusterMonitorSettings;
  port: number | undefined;
  stop(): Promise<void>;
}

export interface ClusterMonitorDeps {
  log?: Logger;
  clock?: Clock;
  /** Overrides VPC_IPAM_MONITOR_KUBERNETES loading (tests, embedders). */
  integration?: MonitorIntegration;
}

/** New-node cost from the pool settings and the limits of VPC_IPAM_MONITOR_INSTANCE_TYPE. */
function newNodeCost(config: DaemonConfig, l: InstanceLimits): NewNodeCost {
  const prefix = config.prefixDelegation;
  const f = nodeFootprint(
    {
      limits: poolLimitsFor(config, l),
      targets: config.targets,
      mode: prefix ? 'prefix' : 'ip',
      blockSize: prefix ? addressCount(4, l.prefixLength) : 1,
    },
    0,
  );
  return { addresses: f.subnetAddresses, blocks: f.blocks + f.subnetInterfaces };
}

/** Limits from the EC2 table, else from the provider (one call at start); undefined with a warning. */
async function limitsOf(
  type: string | undefined,
  provider: CloudProvider | undefined,
  log: Logger,
): Promise<InstanceLimits | undefined> {
  if (!type) return undefined;
  const l = lookupEc2Limits(type) ?? (await provider?.getLimits(type).catch(() => undefined));
  if (!l)
    log.warn(
      { instanceType: type },
      'VPC_IPAM_MONITOR_INSTANCE_TYPE is unknown to the EC2 table and the provider; headroom in nodes is left out',
    );
  return l;
}

/**
 * The provider's account-wide leak sweep (AWS: providers/aws/eni-gc.ts, built by setup/aws.ts) as a leader task.
 * VPC_IPAM_MONITOR_ENI_GC_INTERVAL_SECONDS (default 300, 0 = off) sets its period; one pass is one paginated
 * Describe.
 */
function providerLeakSweep(
  built: BuiltProvider | undefined,
  c: ClusterMonitorConfig,
  clock: Clock,
  log: Logger,
): MaintenanceTask | undefined {
  const everyMs = c.monitor.eniGcIntervalMs;
  if (!built?.leakSweep || everyMs === 0) return undefined;
  const p = c.daemon.providerSettings;
  const gc = built.leakSweep({ clusterName: p.name === 'aws' ? p.settings.clusterName : undefined, clock, log });
  return { name: 'leaked-interface-sweep', everyMs, run: () => gc.runPass() };
}

export async function startClusterMonitor(
  c: ClusterMonitorConfig,
  deps: ClusterMonitorDeps = {},
): Promise<RunningClusterMonitor> {
  const { daemon: config, monitor: settings } = c;
  const log =
    deps.log ??
    createLogger(config.logLevel, config.logFile, config.logFileVariable, config.logRotation).child({
      component: 'monitor',
    });
  const clock = deps.clock ?? new SystemClock();

  let reader: SubnetReader;
  let provider: CloudProvider | undefined;
  let built: BuiltProvider | undefined;
  let closeProvider: (() => Promise<void>) | undefined;
  if (config.provider === 'sim') {
    reader = new SimFileReader(path.join(config.stateDir, 'sim-cloud.json'));
  } else {
    const b = await createProvider(config, clock, log);
    built = b;
    provider = b.provider;
    reader = b.provider;
    closeProvider = async () => {
      await b.provider.close?.();
      await b.close?.();
    };
  }

  const integration =
    deps.integration ?? (c.kubernetes ? await loadKubernetesIntegration({ settings: c.kubernetes, clock, log }) : {});
  const elector = integration.elector ?? new AlwaysLeader(settings.identity);
  const registry = new client.Registry();
  const caller = new CloudCaller({
    clock,
    concurrency: 1,
    maxAttempts: config.cloudMaxAttempts,
    observer: new MonitorCallMetrics(registry),
  });
  const call = <T>(op: string, fn: () => Promise<T>, signal?: AbortSignal) => caller.call(op, fn, signal);

  let filter = settings.filter;
  if (!filter && settings.subnetIds.length === 0 && !integration.usage) {
    // Nothing configured: the subnets of this VPC, as the cloud lists them (the sim: its one VPC).
    filter = provider ? { vpcId: (await call('describeNode', () => provider!.describeNode())).vpcId } : {};
    log.info({ filter }, 'no VPC_IPAM_MONITOR_SUBNETS, _SUBNET_TAGS or _VPC_ID: watching every subnet of this VPC');
  }
  const typeLimits = await limitsOf(settings.instanceType, provider, log);
  const cost = typeLimits ? newNodeCost(config, typeLimits) : undefined;
  const monitor = new SubnetMonitor({
    provider: reader,
    clock,
    settings,
    usage: integration.usage,
    subnets: clusterSubnets({ provider: reader, subnetIds: settings.subnetIds, filter, call }),
    mode: () => (config.prefixDelegation ? 'prefix' : 'ip'),
    newNode: () => cost,
    call,
    log,
  });
  const maintenance: MaintenanceTask[] = [];
  // A provider that offers a sweep itself wins; otherwise the AWS sweep when on AWS.
  const sweep = provider ? (leakSweepTask(provider, log) ?? providerLeakSweep(built, c, clock, log)) : undefined;
  if (sweep) maintenance.push(sweep);
  const cluster = new ClusterMonitor({ monitor, elector, clock, intervalMs: settings.intervalMs, maintenance, log });
  registerSubnetMetrics(registry, monitor);
  registerLeaderMetric(registry, () => cluster.isLeader());
  // The integration's own counters (the Event sink's failures) on the same /metrics.
  integration.registerMetrics?.(registry);

  let endpoint: HttpEndpoint | undefined;
  let port: number | undefined;
  if (settings.listen) {
    endpoint = new HttpEndpoint(
      settings.listen,
      {
        '/metrics': async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
        '/healthz': async () => ({ body: { ok: true, leader: cluster.isLeader(), identity: elector.identity } }),
        '/v1/subnets': async () => ({
          body: { leader: cluster.isLeader(), intervalMs: settings.intervalMs, subnets: monitor.reports() },
        }),
      },
      'VPC_IPAM_MONITOR_METRICS_ADDRESS',
    );
    port = await endpoint.listen();
  }
  const abort = new AbortController();
  const done = cluster.run(abort.signal).catch((err) => {
    log.error({ err: (err as Error).message }, 'cluster monitor stopped');
    throw err;
  });
  log.info(
    { port, provider: config.provider, intervalMs: settings.intervalMs, maintenance: maintenance.map((m) => m.name) },
    'cluster monitor started',
  );
  return {
    cluster,
    monitor,
    settings,
    port,
    stop: async () => {
      abort.abort();
      await done.catch(() => {});
      await endpoint?.close();
      await integration.close?.();
      await closeProvider?.();
    },
  };
}

/** `vpc-ipamd monitor`: start, then stop cleanly on SIGTERM/SIGINT. */
export async function mainMonitor(c: ClusterMonitorConfig): Promise<void> {
  const running = await startClusterMonitor(c);
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
