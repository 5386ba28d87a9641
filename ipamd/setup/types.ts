/**
 * @module provider setup types
 * What a provider's setup module (setup/sim.ts, aws.ts, azure.ts, gcp.ts) hands back to the provider factory.
 * Apart from provider-factory.ts so the setups, which the factory imports, need not import the factory.
 */
import type { CloudProvider } from '../../providers/types.js';
import type { DaemonDeps } from '../daemon-deps.js';
import type { ProviderSubnetFacts } from './pod-subnets.js';

export interface BuiltProvider {
  provider: CloudProvider;
  /** Provider-specific daemon hooks (createNodeProvider adds subnet choice and interface usability). */
  daemonHooks?: Partial<Pick<DaemonDeps, 'selectSubnets' | 'interfaceTags' | 'isUsable'>>;
  /** Providers that create interfaces: what the subnet choice needs from them. */
  subnets?: ProviderSubnetFacts;
  /** Anything the provider started (embedded emulators) to stop after the daemon. */
  close?: () => Promise<void>;
}
