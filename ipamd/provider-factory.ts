/**
 * @module provider factory
 * Loads the selected provider's module (and so its SDK) only when selected:
 * a node on AWS must not pay the GCP SDK's seconds and ~200 MB at start.
 *
 * `createProvider` gives the bare provider (the cluster monitor, ctl
 * commands). `createNodeProvider` is the node daemon's: the same provider
 * plus the subnet choice composed, once, from every Pod-subnet source the
 * node has (setup/pod-subnets.ts). The pool policy is not built here: the
 * daemon builds it (pool/policy-factory.ts), so the simulator gets it too.
 */
import type { PodSubnetSource } from '../providers/pod-subnets.js';
import type { DaemonConfig } from './config.js';
import type { Logger } from './observability/logger.js';
import { podSubnetHooks } from './setup/pod-subnets.js';
import type { BuiltProvider } from './setup/types.js';
import type { Clock } from './util/clock.js';

// Callers (run.ts) take the result's type from here, where they get the provider.
export type { BuiltProvider } from './setup/types.js';

/** What the node's composition hands to its provider. */
export interface NodeProviderInputs {
  /** The Kubernetes integration's PodSubnetConfig source (MY_NODE_NAME). */
  kubernetesPodSubnets?: PodSubnetSource;
}

export async function createProvider(config: DaemonConfig, clock: Clock, log: Logger): Promise<BuiltProvider> {
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

/** The node daemon's provider: {@link createProvider} plus the one subnet-source seam. */
export async function createNodeProvider(
  config: DaemonConfig,
  clock: Clock,
  log: Logger,
  node: NodeProviderInputs = {},
): Promise<BuiltProvider> {
  const built = await createProvider(config, clock, log);
  try {
    const { provider, subnets: facts } = built;
    const hooks = podSubnetHooks({ env: config.env, provider, facts, kubernetes: node.kubernetesPodSubnets, log });
    return { ...built, daemonHooks: { ...built.daemonHooks, ...hooks } };
  } catch (err) {
    await built.provider.close?.();
    await built.close?.();
    throw err;
  }
}
