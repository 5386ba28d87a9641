/**
 * @module pool settings
 * The warm-pool variables: the AWS VPC CNI's targets (WARM_ENI_TARGET, WARM_IP_TARGET, MINIMUM_IP_TARGET,
 * WARM_PREFIX_TARGET, MAX_ENI, ENABLE_PREFIX_DELEGATION), and which policy turns them into targets
 * (WARM_POOL_POLICY, with its own settings). ipamd/pool/policy-factory.ts builds the policy from these.
 */
import { ConfigError } from '../../providers/errors.js';
import { parseAzureBatchSettings, type AzureBatchSettings } from './azure-batch.js';
import { present, readBool, readEnum, readInt, type Env } from './readers.js';

/** `azure-batch`: Azure CNS batch/threshold sizing (AZURE_IP_BATCH_SIZE…), see ipamd/pool/azure-batch-policy.ts. */
export type PoolPolicyName = 'static' | 'adaptive' | 'azure-batch';

export interface WarmTargets {
  /** Free addresses to keep, as a multiple of one interface's capacity (secondary-IP mode only). */
  warmInterfaces: number;
  /** Free addresses to keep; > 0 switches to IP-target mode. */
  warmIps: number;
  /** Floor on total addresses held; > 0 switches to IP-target mode. */
  minimumIps: number;
  /** Free (unused) prefixes to keep in prefix mode. */
  warmPrefixes: number;
  /**
   * Interfaces to keep attached even when they hold no addresses (default 0). Set by the adaptive policy: an
   * empty interface costs one subnet address, attaching a new one costs seconds of Pod wait.
   */
  keepInterfaces?: number;
}

export interface AdaptiveSettings {
  /** Lowest warm IP target the adaptive policy will choose. */
  floor: number;
  /** Highest warm IP target it will choose. */
  ceiling: number;
}

export interface PoolSettings {
  prefixDelegation: boolean;
  /** Fall back to secondary IPs when no /28 can be had (AWS CNI has no fallback). */
  prefixFallbackToIps: boolean;
  targets: WarmTargets;
  policy: PoolPolicyName;
  adaptive: AdaptiveSettings;
  /** The AZURE_* sizing, parsed only when WARM_POOL_POLICY is azure-batch (otherwise unused, so not checked). */
  azureBatch: AzureBatchSettings | undefined;
  /** Upper bound on interfaces; undefined = instance limit. */
  maxInterfaces: number | undefined;
}

function parseTargets(env: Env, prefixDelegation: boolean): WarmTargets {
  const targets: WarmTargets = {
    warmInterfaces: readInt(env, 'WARM_ENI_TARGET', 1, { min: 0, max: 100 }),
    warmIps: readInt(env, 'WARM_IP_TARGET', 0, { min: 0, max: 4096 }),
    minimumIps: readInt(env, 'MINIMUM_IP_TARGET', 0, { min: 0, max: 4096 }),
    // The AWS manifest sets 1; code default 0 would leave PD with no warm pool at all.
    warmPrefixes: readInt(env, 'WARM_PREFIX_TARGET', 1, { min: 0, max: 1000 }),
  };
  if (prefixDelegation && targets.warmIps === 0 && targets.minimumIps === 0 && targets.warmPrefixes === 0) {
    throw new ConfigError(
      'WARM_PREFIX_TARGET',
      'with ENABLE_PREFIX_DELEGATION=true at least one of WARM_PREFIX_TARGET, WARM_IP_TARGET or MINIMUM_IP_TARGET ' +
        'must be > 0',
    );
  }
  return Object.freeze(targets);
}

function parseAdaptive(env: Env): AdaptiveSettings {
  const adaptive: AdaptiveSettings = {
    floor: readInt(env, 'WARM_POOL_FLOOR', 1, { min: 0, max: 4096 }),
    ceiling: readInt(env, 'WARM_POOL_CEILING', 64, { min: 1, max: 4096 }),
  };
  if (adaptive.floor > adaptive.ceiling) {
    throw new ConfigError('WARM_POOL_FLOOR', `floor ${adaptive.floor} is above WARM_POOL_CEILING ${adaptive.ceiling}`);
  }
  return Object.freeze(adaptive);
}

/**
 * Azure NICs hold 256 addresses and cannot be added at run time: WARM_ENI_TARGET's "one interface of free
 * addresses" would take 255 per node, so Azure defaults to its own batch sizing unless IP targets are set.
 */
function defaultPolicy(env: Env, t: WarmTargets): PoolPolicyName {
  const azure = present(env, 'VPC_IPAM_PROVIDER') === 'azure';
  return azure && t.warmIps === 0 && t.minimumIps === 0 ? 'azure-batch' : 'static';
}

export function parsePoolSettings(env: Env): PoolSettings {
  const prefixDelegation = readBool(env, 'ENABLE_PREFIX_DELEGATION', false);
  const targets = parseTargets(env, prefixDelegation);
  const maxEni = readInt(env, 'MAX_ENI', -1, { min: -1, max: 100 });
  if (maxEni === 0) throw new ConfigError('MAX_ENI', 'must be -1 (instance limit) or at least 1');
  const adaptive = parseAdaptive(env);
  const names = ['static', 'adaptive', 'azure-batch'] as const;
  const policy = readEnum(env, 'WARM_POOL_POLICY', names, defaultPolicy(env, targets));
  return {
    prefixDelegation,
    prefixFallbackToIps: readBool(env, 'PREFIX_FALLBACK_TO_IPS', false),
    targets,
    policy,
    adaptive,
    azureBatch: policy === 'azure-batch' ? parseAzureBatchSettings(env) : undefined,
    maxInterfaces: maxEni > 0 ? maxEni : undefined,
  };
}
