/**
 * @module monitor integration
 * The contract between the cluster-wide monitor and the Kubernetes
 * integration, which lives in `ipamd/k8s/` so that the monitor (and the
 * plain-cloud build) never loads the Kubernetes client unless asked.
 *
 * With VPC_IPAM_MONITOR_KUBERNETES=true the monitor imports
 * {@link KUBERNETES_INTEGRATION_MODULE} and calls its exported
 * `createMonitorIntegration(ctx)`, which returns a Lease
 * {@link LeaderElector} and a {@link PoolUsageSource} over the nodes'
 * NodeAddressPools (and, for one release, their older
 * `vpc-ipam.io/pool-usage` Node annotations). Without it: {@link AlwaysLeader}
 * and no node pools (held/assigned read 0, headroom counts free space only).
 */
import type { Registry } from 'prom-client';
import { ConfigError } from '../../providers/errors.js';
import type { MonitorKubernetesSettings } from '../config/monitor-kubernetes.js';
import type { Clock } from '../util/clock.js';
import type { EventSink } from './events.js';
import type { LeaderElector } from './leader.js';
import type { PoolUsageSource } from './pool-usage.js';

export interface MonitorIntegration {
  elector?: LeaderElector;
  usage?: PoolUsageSource;
  /** Where the monitor's own events go (not used yet by the cluster monitor; reserved for subnet alerts). */
  events?: EventSink;
  /** Puts the integration's own metrics (vpc_ipam_k8s_event_errors_total) on the monitor's registry. */
  registerMetrics?(registry: Registry): void;
  close?(): Promise<void>;
}

export interface MonitorIntegrationContext {
  settings: MonitorKubernetesSettings;
  clock: Clock;
  log: { info(o: object, m?: string): void; warn(o: object, m?: string): void; error(o: object, m?: string): void };
}

export type MonitorIntegrationFactory = (ctx: MonitorIntegrationContext) => Promise<MonitorIntegration>;

/** Relative to this file; the Kubernetes engineer's module exports `createMonitorIntegration`. */
export const KUBERNETES_INTEGRATION_MODULE = '../k8s/monitor-integration.js';

/** Loads the Kubernetes integration; a ConfigError when this build has none. */
export async function loadKubernetesIntegration(ctx: MonitorIntegrationContext): Promise<MonitorIntegration> {
  let mod: { createMonitorIntegration?: MonitorIntegrationFactory };
  try {
    // A variable specifier: the module is optional at build time and loaded only when asked for.
    const spec: string = KUBERNETES_INTEGRATION_MODULE;
    mod = (await import(spec)) as typeof mod;
  } catch (err) {
    if (
      (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
      String((err as Error).message).includes('monitor-integration')
    ) {
      throw new ConfigError(
        'VPC_IPAM_MONITOR_KUBERNETES',
        'this build has no Kubernetes integration for the monitor (ipamd/k8s/monitor-integration)',
      );
    }
    throw err;
  }
  if (typeof mod.createMonitorIntegration !== 'function') {
    throw new ConfigError(
      'VPC_IPAM_MONITOR_KUBERNETES',
      'ipamd/k8s/monitor-integration does not export createMonitorIntegration',
    );
  }
  return mod.createMonitorIntegration(ctx);
}
