/**
 * @module monitor Kubernetes integration
 * What the cluster-wide monitor (`vpc-ipamd monitor` with
 * VPC_IPAM_MONITOR_KUBERNETES=true) gets from Kubernetes, through the
 * contract in ipamd/monitor/integration.ts: a Lease leader elector (one
 * active replica), node pool usage read from every node's NodeAddressPool
 * (and, for one release, the older `vpc-ipam.io/pool-usage` Node
 * annotation: node-usage-source.ts), and an Event sink. Loaded lazily by
 * the monitor, so a monitor outside Kubernetes never loads the client.
 *
 * | Variable | Default | Meaning |
 * |---|---|---|
 * | MY_POD_NAME (or HOSTNAME) | monitor | identity in the Lease |
 * | POD_NAMESPACE | default | namespace of the Lease; of Events too when `default` or `kube-system` (else `default`) |
 * | VPC_IPAM_MONITOR_LEASE_NAME | vpc-ipam-monitor | Lease name (RBAC names it too) |
 * | VPC_IPAM_MONITOR_LEASE_DURATION_SECONDS | 15 | a standby takes over this long after the leader stops renewing |
 * | VPC_IPAM_MONITOR_RENEW_DEADLINE_SECONDS | 10 | the leader steps down when it could not renew for this long |
 * | VPC_IPAM_MONITOR_RETRY_PERIOD_SECONDS | 2 | renew / acquire attempt period |
 * | VPC_IPAM_MONITOR_NODE_SELECTOR | — | only Nodes matching this label selector report usage |
 * | VPC_IPAM_MONITOR_NODE_ANNOTATIONS | true | also read the deprecated Node annotation (upgrade window) |
 */
import { readBool, readInt } from '../config.js';
import type { MonitorIntegration, MonitorIntegrationContext } from '../monitor/integration.js';
import { createApis, loadKubeConfig } from './client.js';
import { K8sEventSink } from './events.js';
import { LeaseLeaderElector } from './leader.js';
import { registerEventErrorMetric } from './event-metrics.js';
import { MONITOR_EVENT_COMPONENT, MONITOR_LEASE_NAME } from './names.js';
import { ClusterUsageSource } from './node-usage-source.js';

function present(env: MonitorIntegrationContext['env'], name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export async function createMonitorIntegration(ctx: MonitorIntegrationContext): Promise<MonitorIntegration> {
  const { env, clock, log } = ctx;
  const namespace = present(env, 'POD_NAMESPACE') ?? 'default';
  const identity = present(env, 'MY_POD_NAME') ?? present(env, 'HOSTNAME') ?? 'monitor';
  const leaseMs = readInt(env, 'VPC_IPAM_MONITOR_LEASE_DURATION_SECONDS', 15, { min: 2, max: 3600 }) * 1000;
  const renewMs = readInt(env, 'VPC_IPAM_MONITOR_RENEW_DEADLINE_SECONDS', 10, { min: 1, max: 3600 }) * 1000;
  const retryMs = readInt(env, 'VPC_IPAM_MONITOR_RETRY_PERIOD_SECONDS', 2, { min: 1, max: 600 }) * 1000;
  const apis = createApis(loadKubeConfig(env), clock);
  const leaseName = present(env, 'VPC_IPAM_MONITOR_LEASE_NAME') ?? MONITOR_LEASE_NAME;
  const elector = new LeaseLeaderElector({
    apis,
    clock,
    namespace,
    name: leaseName,
    identity,
    leaseDurationMs: leaseMs,
    renewDeadlineMs: renewMs,
    retryPeriodMs: retryMs,
    log,
  });
  const selector = present(env, 'VPC_IPAM_MONITOR_NODE_SELECTOR');
  const nodeAnnotations = readBool(env, 'VPC_IPAM_MONITOR_NODE_ANNOTATIONS', true);
  // The annotation is read while nodes may still run an ipamd from before NodeAddressPool (one release).
  const labelSelector = selector ? { labelSelector: selector } : {};
  const usage = new ClusterUsageSource({ apis, clock, log, nodeAnnotations, ...labelSelector });
  const component = MONITOR_EVENT_COMPONENT;
  const events = new K8sEventSink({ apis, clock, namespace, instance: identity, component, log });
  log.info(
    { identity, lease: `${namespace}/${leaseName}` },
    'monitor: Kubernetes integration ready (Lease election, NodeAddressPool usage)',
  );
  return { elector, usage, events, registerMetrics: (registry) => registerEventErrorMetric(registry, events) };
}
