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
 * Its settings (Lease, identity, node selector) are read with the monitor's
 * configuration: ipamd/config/monitor-kubernetes.ts.
 */
import type { MonitorIntegration, MonitorIntegrationContext } from '../monitor/integration.js';
import { createApis, loadKubeConfig } from './client.js';
import { K8sEventSink } from './events.js';
import { LeaseLeaderElector } from './leader.js';
import { registerEventErrorMetric } from './event-metrics.js';
import { MONITOR_EVENT_COMPONENT } from './names.js';
import { ClusterUsageSource } from './node-usage-source.js';

export async function createMonitorIntegration(ctx: MonitorIntegrationContext): Promise<MonitorIntegration> {
  const { settings: s, clock, log } = ctx;
  const { namespace, identity, leaseName } = s;
  const apis = createApis(loadKubeConfig(s.connection), clock);
  const elector = new LeaseLeaderElector({
    apis,
    clock,
    namespace,
    name: leaseName,
    identity,
    leaseDurationMs: s.leaseDurationMs,
    renewDeadlineMs: s.renewDeadlineMs,
    retryPeriodMs: s.retryPeriodMs,
    log,
  });
  // The annotation is read while nodes may still run an ipamd from before NodeAddressPool (one release).
  const labelSelector = s.nodeSelector ? { labelSelector: s.nodeSelector } : {};
  const usage = new ClusterUsageSource({ apis, clock, log, nodeAnnotations: s.nodeAnnotations, ...labelSelector });
  const component = MONITOR_EVENT_COMPONENT;
  const events = new K8sEventSink({ apis, clock, namespace, instance: identity, component, log });
  log.info(
    { identity, lease: `${namespace}/${leaseName}` },
    'monitor: Kubernetes integration ready (Lease election, NodeAddressPool usage)',
  );
  return { elector, usage, events, registerMetrics: (registry) => registerEventErrorMetric(registry, events) };
}
