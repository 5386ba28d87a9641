/**
 * @module cluster monitor entry
 * `vpc-ipamd monitor`: builds the cluster-wide monitor from an environment
 * and runs it until SIGTERM. Same variables as the daemon for the provider,
 * logs and pool settings (WARM_*, ENABLE_PREFIX_DELEGATION: they decide the
 * headroom figures), plus the VPC_IPAM_MONITOR_* ones (settings.ts).
 *
 * With VPC_IPAM_PROVIDER=sim the monitor reads the sim cloud file a sim
 * daemon keeps under VPC_IPAM_STATE_DIR, afresh on every call, and never
 * writes it; other providers are built by the provider factory as for ipamd.
 */
import { poolLimitsFor } from '../pool/capacity.js';
import * as path from 'node:path';
import * as client from 'prom-client';
import { lookupEc2Limits } from '../../providers/limits/ec2-limits.js';
import type { AwsProvider } from '../../providers/aws/aws-provider.js';
import type { CloudProvider, InstanceLimits } from '../../providers/types.js';
import { CloudCaller } from '../cloud/cloud-caller.js';
import { parseConfig, readInt, type DaemonConfig } from '../config.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { createProvider } from '../provider-factory.js';
import { HttpEndpoint } from '../server/http.js';
import { SystemClock, type Clock } from '../util/clock.js';
import { ClusterMonitor, clusterSubnets, leakSweepTask, type MaintenanceTask } from './cluster.js';
import { loadKubernetesIntegration, type MonitorIntegration } from './integration.js';
import { AlwaysLeader } from './leader.js';
import { MonitorCallMetrics, registerLeaderMetric, registerSubnetMetrics } from './metrics.js';
import { SubnetMonitor, type SubnetReader } from './monitor.js';
import { nodeFootprint } from './node-footprint.js';
import type { NewNodeCost } from './report.js';
import { parseClusterMonitorSettings, type ClusterMonitorSettings } from './settings.js';
import { SimFileReader } from './sim-reader.js';

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
      blockSize: prefix ? 2 ** (32 - l.prefixLength) : 1,
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
 * The AWS leaked-ENI sweep (providers/aws/eni-gc.ts) as a leader task, loaded
 * only for the AWS provider. VPC_IPAM_MONITOR_ENI_GC_INTERVAL_SECONDS (default
 * 300, 0 = off) sets its period; one pass is one paginated Describe.
 */
async function awsLeakSweep(
  provider: CloudProvider,
  config: DaemonConfig,
  clock: Clock,
  log: Logger,
): Promise<MaintenanceTask | undefined> {
  const everyS = readInt(config.env, 'VPC_IPAM_MONITOR_ENI_GC_INTERVAL_SECONDS', 300, { min: 0, max: 86_400 });
  if (config.provider !== 'aws' || everyS === 0) return undefined;
  const aws = provider as Partial<Pick<AwsProvider, 'api' | 'identity'>>;
  if (!aws.api || !aws.identity) return undefined;
  const [{ LeakedEniCollector }, { parseAwsSettings }] = await Promise.all([
    import('../../providers/aws/eni-gc.js'),
    import('../../providers/aws/settings.js'),
  ]);
  const gc = new LeakedEniCollector({
    ec2: aws.api,
    clock,
    vpcId: aws.identity.vpcId,
    clusterName: parseAwsSettings(config.env).clusterName,
    log,
  });
  return { name: 'leaked-interface-sweep', everyMs: everyS * 1000, run: () => gc.runPass() };
}

export async function startClusterMonitor(
  env: NodeJS.ProcessEnv,
  deps: ClusterMonitorDeps = {},
): Promise<RunningClusterMonitor> {
  const config = parseConfig(env);
  const settings = parseClusterMonitorSettings(config.env, config.provider);
  const log = deps.log ?? createLogger(config.logLevel, config.logFile).child({ component: 'monitor' });
  const clock = deps.clock ?? new SystemClock();

  let reader: SubnetReader;
  let provider: CloudProvider | undefined;
  let closeProvider: (() => Promise<void>) | undefined;
  if (config.provider === 'sim') {
    reader = new SimFileReader(path.join(config.stateDir, 'sim-cloud.json'));
  } else {
    const built = await createProvider(config, clock, log);
    provider = built.provider;
    reader = built.provider;
    closeProvider = async () => {
      await built.provider.close?.();
      await built.close?.();
    };
  }

  const integration =
    deps.integration ?? (settings.kubernetes ? await loadKubernetesIntegration({ env: config.env, clock, log }) : {});
  const elector = integration.elector ?? new AlwaysLeader(env.HOSTNAME ?? 'monitor');
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
  const sweep = provider
    ? (leakSweepTask(provider, log) ?? (await awsLeakSweep(provider, config, clock, log)))
    : undefined;
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
      settings.listen.host,
      settings.listen.port,
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
export async function mainMonitor(env: NodeJS.ProcessEnv): Promise<void> {
  const running = await startClusterMonitor(env);
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
