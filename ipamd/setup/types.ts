/**
 * @module provider setup types
 * What a provider's setup module (setup/sim.ts, aws.ts, azure.ts, gcp.ts) hands back to the provider factory.
 * Apart from provider-factory.ts so the setups, which the factory imports, need not import the factory.
 */
import type { CloudProvider } from '../../providers/types.js';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import type { ProviderSubnetFacts } from './pod-subnets.js';

/** One pass over the account for interfaces a crashed node left behind (the cluster monitor runs it on a timer). */
export interface LeakSweep {
  runPass(): Promise<unknown>;
}

export interface BuiltProvider {
  provider: CloudProvider;
  /** Tags for the interfaces ipamd creates (AWS: ADDITIONAL_ENI_TAGS); the provider is their only source. */
  interfaceTags?: () => Record<string, string>;
  /** Providers that create interfaces: what the subnet choice needs from them. */
  subnets?: ProviderSubnetFacts;
  /**
   * The account-wide leak sweep of providers whose interfaces outlive a node's crash unless swept (AWS: ENIs
   * tagged with the cluster), for the cluster monitor; it needs the provider's own client, hence here.
   */
  leakSweep?: (o: { clusterName: string | undefined; clock: Clock; log: Logger }) => LeakSweep;
  /** Anything the provider started (embedded emulators) to stop after the daemon. */
  close?: () => Promise<void>;
}
