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
  daemonHooks?: Partial<Pick<DaemonDeps, 'selectSubnets' | 'interfaceTags' | 'isUsable' | 'events' | 'policy'>>;
  /** Anything the provider started (embedded emulators) to stop after the daemon. */
  close?: () => Promise<void>;
}

export async function createProvider(config: DaemonConfig, clock: Clock, log: Logger): Promise<BuiltProvider> {
  return withPolicy(config, await buildProvider(config, clock, log));
}

async function buildProvider(config: DaemonConfig, clock: Clock, log: Logger): Promise<BuiltProvider> {
  switch (config.provider) {
    case 'sim':
      return (await import('./setup/sim.js')).setupSim(config, clock, log);
    case 'aws':
      return (await import('./setup/aws.js')).setupAws(config, clock, log);
    case 'azure':
      return (await import('./setup/azure.js')).setupAzure(config, clock, log);
    case 'gcp':
      return (await import('./setup/gcp.js')).setupGcp(config, clock, log);
    default:
      throw new Error(`VPC_IPAM_PROVIDER=${config.provider} is not available in this build`);
  }
}

/**
 * Provider-independent pool policies that need daemon hooks. `azure-batch`
 * (Azure CNS sizing) also listens to growth-blocked events to enter subnet
 * scarcity mode; it is loaded only when selected.
 */
export async function withPolicy(config: DaemonConfig, built: BuiltProvider): Promise<BuiltProvider> {
  if (config.policy !== 'azure-batch') return built;
  const { AzureBatchPolicy, parseAzureBatchSettings } = await import('./pool/azure-batch-policy.js');
  const policy = new AzureBatchPolicy(parseAzureBatchSettings(config.env));
  const events = built.daemonHooks?.events ?? {};
  return {
    ...built,
    daemonHooks: {
      ...built.daemonHooks,
      policy,
      events: {
        ...events,
        onGrowthBlocked: (reason, cloudCode, untilMs) => {
          policy.observeGrowthBlocked(cloudCode, untilMs - config.subnetFullBackoffMs);
          events.onGrowthBlocked?.(reason, cloudCode, untilMs);
        },
      },
    },
  };
}
