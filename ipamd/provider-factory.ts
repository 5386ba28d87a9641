/**
 * @module provider factory
 * Loads the selected provider's module (and so its SDK) only when selected:
 * a node on AWS must not pay the GCP SDK's seconds and ~200 MB at start.
 */
import type { CloudProvider } from '../providers/types.js';
import type { DaemonConfig } from './config.js';
import type { DaemonDeps } from './daemon.js';
import type { Logger } from './observability/logger.js';
import type { Clock } from './util/clock.js';

export interface BuiltProvider {
  provider: CloudProvider;
  /** Provider-specific daemon hooks: subnet choice, tags, interface usability. */
  daemonHooks?: Partial<Pick<DaemonDeps, 'selectSubnets' | 'interfaceTags' | 'isUsable' | 'events'>>;
  /** Anything the provider started (embedded emulators) to stop after the daemon. */
  close?: () => Promise<void>;
}

export async function createProvider(config: DaemonConfig, clock: Clock, log: Logger): Promise<BuiltProvider> {
  switch (config.provider) {
    case 'sim':
      return (await import('./setup/sim.js')).setupSim(config, clock, log);
    default:
      throw new Error(`VPC_IPAM_PROVIDER=${config.provider} is not available in this build`);
  }
}
