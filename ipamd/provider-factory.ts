/**
 * @module provider factory
 * Loads the selected provider's module (and so its SDK) only when selected:
 * a node on AWS must not pay the GCP SDK's seconds and ~200 MB at start.
 *
 * `createProvider` gives the bare provider, from the provider settings the
 * configuration read: the node's composition (compose-node.ts) adds the
 * subnet choice and the rest; the cluster monitor and ctl commands use it
 * as it is.
 */
import type { DaemonConfig } from './config.js';
import type { Logger } from './observability/logger.js';
import type { BuiltProvider } from './setup/types.js';
import type { Clock } from './util/clock.js';

// Callers take the result's type from here, where they get the provider.
export type { BuiltProvider } from './setup/types.js';

export async function createProvider(config: DaemonConfig, clock: Clock, log: Logger): Promise<BuiltProvider> {
  const p = config.providerSettings;
  switch (p.name) {
    case 'sim':
      return (await import('./setup/sim.js')).setupSim(config, p.latencyScale, clock, log);
    case 'aws':
      return (await import('./setup/aws.js')).setupAws(config, p, clock, log);
    case 'azure':
      return (await import('./setup/azure.js')).setupAzure(config, p.azure, clock, log);
    case 'gcp':
      return (await import('./setup/gcp.js')).setupGcp(config, p, clock, log);
  }
}
