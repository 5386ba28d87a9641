/**
 * @module cluster monitor configuration
 * `vpc-ipamd monitor`'s one reading of the environment: the daemon's variables for the provider, logs and pool
 * settings (WARM_*, ENABLE_PREFIX_DELEGATION decide the headroom figures), the VPC_IPAM_MONITOR_* ones, and,
 * with VPC_IPAM_MONITOR_KUBERNETES=true, its Kubernetes integration's.
 */
import { parseConfig, type DaemonConfig } from '../config.js';
import { parseClusterMonitorSettings, type ClusterMonitorSettings } from './monitor.js';
import { parseMonitorKubernetesSettings, type MonitorKubernetesSettings } from './monitor-kubernetes.js';
import type { Env } from './readers.js';

export interface ClusterMonitorConfig {
  daemon: DaemonConfig;
  monitor: ClusterMonitorSettings;
  /** Present with VPC_IPAM_MONITOR_KUBERNETES=true. */
  kubernetes: MonitorKubernetesSettings | undefined;
}

export function parseClusterMonitorConfig(env: Env): ClusterMonitorConfig {
  const daemon = parseConfig(env);
  const monitor = Object.freeze(parseClusterMonitorSettings(env, daemon.provider));
  return Object.freeze({
    daemon,
    monitor,
    kubernetes: monitor.kubernetes ? parseMonitorKubernetesSettings(env) : undefined,
  });
}
