/**
 * @module monitor kubernetes settings
 * What the cluster-wide monitor's Kubernetes integration (VPC_IPAM_MONITOR_KUBERNETES=true,
 * ipamd/k8s/monitor-integration.ts) reads: its Lease and the Nodes whose pools it counts.
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
import { MONITOR_LEASE_NAME } from '../k8s/names.js';
import { parseKubeConnection, type KubeConnection } from './kube-connection.js';
import { present, readBool, readInt, type Env } from './readers.js';

export interface MonitorKubernetesSettings {
  connection: KubeConnection;
  namespace: string;
  identity: string;
  leaseName: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Label selector of the Nodes that report usage; undefined: every Node. */
  nodeSelector: string | undefined;
  /** Also read the `vpc-ipam.io/pool-usage` Node annotation of nodes still on an older ipamd (one release). */
  nodeAnnotations: boolean;
}

export function parseMonitorKubernetesSettings(env: Env): MonitorKubernetesSettings {
  const seconds = (name: string, def: number, min: number, max: number) => readInt(env, name, def, { min, max }) * 1000;
  return Object.freeze({
    namespace: present(env, 'POD_NAMESPACE') ?? 'default',
    identity: present(env, 'MY_POD_NAME') ?? present(env, 'HOSTNAME') ?? 'monitor',
    leaseDurationMs: seconds('VPC_IPAM_MONITOR_LEASE_DURATION_SECONDS', 15, 2, 3600),
    renewDeadlineMs: seconds('VPC_IPAM_MONITOR_RENEW_DEADLINE_SECONDS', 10, 1, 3600),
    retryPeriodMs: seconds('VPC_IPAM_MONITOR_RETRY_PERIOD_SECONDS', 2, 1, 600),
    connection: parseKubeConnection(env),
    leaseName: present(env, 'VPC_IPAM_MONITOR_LEASE_NAME') ?? MONITOR_LEASE_NAME,
    nodeSelector: present(env, 'VPC_IPAM_MONITOR_NODE_SELECTOR'),
    nodeAnnotations: readBool(env, 'VPC_IPAM_MONITOR_NODE_ANNOTATIONS', true),
  });
}
