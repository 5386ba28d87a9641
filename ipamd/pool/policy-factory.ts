/**
 * @module pool policy factory
 * The one place where WARM_POOL_POLICY becomes a policy object. The daemon
 * builds its policy here and nowhere else, and the simulator runs the
 * daemon's core, so `vpc-ipamctl simulate --env WARM_POOL_POLICY=…` replays
 * exactly the policy a node would run (it once replayed `static` for
 * `azure-batch`, because the batch policy was attached by the provider
 * factory, which the simulator does not use).
 *
 * Pure: the parsed config and the node facts a policy needs in, a policy out.
 * What a policy learns while running (ADDs, growth latency, growth blocked)
 * reaches it through the optional `observe*` methods of {@link PoolPolicy},
 * which the daemon calls; nothing is wired around it here.
 */
import { ConfigError } from '../../providers/errors.js';
import type { DaemonConfig } from '../config.js';
import { AdaptivePolicy } from './adaptive-policy.js';
import { AZURE_BATCH_DEFAULTS } from '../config/azure-batch.js';
import { AzureBatchPolicy } from './azure-batch-policy.js';
import type { PoolLimits } from './planner.js';
import { StaticPolicy, type PoolPolicy } from './policy.js';

/** What the policies need to know about the node. */
export interface PolicyFacts {
  /** The pool limits; undefined until the daemon has read the node (init). */
  limits: () => PoolLimits | undefined;
}

export type PolicyConfig = Pick<DaemonConfig, 'policy' | 'targets' | 'adaptive' | 'reconcileIntervalMs' | 'azureBatch'>;

/** Builds the policy WARM_POOL_POLICY names, from settings parseConfig has validated (AZURE_* included). */
export function createPoolPolicy(config: PolicyConfig, facts: PolicyFacts): PoolPolicy {
  const name = config.policy;
  switch (name) {
    case 'static':
      return new StaticPolicy(config.targets);
    case 'adaptive':
      return new AdaptivePolicy({
        ...config.adaptive,
        minimumIps: config.targets.minimumIps,
        reconcileIntervalMs: config.reconcileIntervalMs,
        limits: facts.limits,
      });
    case 'azure-batch':
      // parseConfig always sets it for this policy; a config written out by hand may leave the defaults implied.
      return new AzureBatchPolicy(config.azureBatch ?? AZURE_BATCH_DEFAULTS);
    default: {
      // parseConfig only lets the three names through; a new name must be added here.
      const unknown: never = name;
      throw new ConfigError('WARM_POOL_POLICY', `no policy named "${String(unknown)}"`);
    }
  }
}
