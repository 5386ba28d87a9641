/**
 * @module azure batch policy
 * `WARM_POOL_POLICY=azure-batch`: Azure CNS's pool scaler (azure-gke-cilium.md
 * §A.4) as a {@link PoolPolicy}, for users who want AKS behaviour on any
 * provider. The pool is held at a multiple of a batch, with two thresholds:
 *
 *   minFree = round(batch × AZURE_REQUEST_THRESHOLD_PERCENT / 100)
 *   maxFree = round(batch × AZURE_RELEASE_THRESHOLD_PERCENT / 100)
 *
 * - free < minFree: request the batch-aligned amount that restores minFree,
 *   `batch × ceil((demand + minFree) / batch)`. CNS v1 reaches the same
 *   number one batch per round trip; going there at once is the v2 math and
 *   avoids v1's serial scale-up during bursts (§A.5, #2999).
 * - free ≥ maxFree: release one batch, or down to the batch-aligned value
 *   when the pool is off alignment (v1). Because maxFree ≥ minFree + batch,
 *   a release can never cause the next request: no oscillation.
 * - otherwise hold.
 * The request is capped at AZURE_MAX_IP_COUNT (CNS maxIPCount, default 250).
 *
 * Demand is what an ADD cannot have: assigned, cooling and waiting addresses.
 * When growth fails with subnet-full, the policy enters CNS's "subnet
 * scarcity" mode for AZURE_SUBNET_SCARCITY_HOLD_SECONDS: batch 1, minFree 1,
 * maxFree 2, so the node gives back its warm addresses down to demand + 1
 * for other nodes (§A.6).
 *
 * The output is planner targets: `MINIMUM_IP_TARGET` = the requested count,
 * no other target, so the planner grows to it and releases free IPs above it.
 */
import { ConfigError } from '../../providers/errors.js';
import type { WarmTargets } from '../config.js';
import type { PoolSnapshot } from '../datastore/types.js';
import type { PoolPolicy } from './policy.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface AzureBatchSettings {
  batchSize: number;
  requestThresholdPercent: number;
  releaseThresholdPercent: number;
  maxIpCount: number;
  scarcityHoldMs: number;
}

export const AZURE_BATCH_DEFAULTS: AzureBatchSettings = {
  batchSize: 16,
  requestThresholdPercent: 50,
  releaseThresholdPercent: 150,
  maxIpCount: 250,
  scarcityHoldMs: 600_000,
};

function readWhole(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be from ${min} to ${max}, got ${n}`);
  return n;
}

/** Parses the AZURE_* pool variables with CNS's constraints (`clampScaler`), as errors instead of silent clamps. */
export function parseAzureBatchSettings(env: Env): AzureBatchSettings {
  const maxIpCount = readWhole(env, 'AZURE_MAX_IP_COUNT', AZURE_BATCH_DEFAULTS.maxIpCount, 1, 4096);
  const batchSize = readWhole(env, 'AZURE_IP_BATCH_SIZE', AZURE_BATCH_DEFAULTS.batchSize, 1, 4096);
  if (batchSize > maxIpCount)
    throw new ConfigError(
      'AZURE_IP_BATCH_SIZE',
      `must not exceed AZURE_MAX_IP_COUNT (${maxIpCount}), got ${batchSize}`,
    );
  const requestThresholdPercent = readWhole(
    env,
    'AZURE_REQUEST_THRESHOLD_PERCENT',
    AZURE_BATCH_DEFAULTS.requestThresholdPercent,
    1,
    100,
  );
  const releaseThresholdPercent = readWhole(
    env,
    'AZURE_RELEASE_THRESHOLD_PERCENT',
    AZURE_BATCH_DEFAULTS.releaseThresholdPercent,
    1,
    10_000,
  );
  if (releaseThresholdPercent < requestThresholdPercent + 100) {
    throw new ConfigError(
      'AZURE_RELEASE_THRESHOLD_PERCENT',
      `must be at least AZURE_REQUEST_THRESHOLD_PERCENT + 100 (${requestThresholdPercent + 100}), got ${releaseThresholdPercent}: otherwise a release can trigger the next request`,
    );
  }
  const scarcityHoldMs =
    readWhole(env, 'AZURE_SUBNET_SCARCITY_HOLD_SECONDS', AZURE_BATCH_DEFAULTS.scarcityHoldMs / 1000, 0, 86_400) * 1000;
  return { batchSize, requestThresholdPercent, releaseThresholdPercent, maxIpCount, scarcityHoldMs };
}

/** CNS rounds half up. */
function roundHalfUp(x: number): number {
  return Math.floor(x + 0.5);
}

export class AzureBatchPolicy implements PoolPolicy {
  readonly name = 'azure-batch';
  private scarceUntil = -Infinity;
  private last = 'no decision yet';

  constructor(readonly settings: AzureBatchSettings) {}

  /** Growth failed with `cloudCode`/`code` at `now`: a full subnet starts scarcity mode. */
  observeGrowthBlocked(code: string, now: number): void {
    if (code === 'CLOUD_SUBNET_FULL' || code === 'SubnetIsFull') this.scarceUntil = now + this.settings.scarcityHoldMs;
  }

  /** The batch and thresholds in force at `now`. */
  scaler(now: number): { batch: number; minFree: number; maxFree: number; scarce: boolean } {
    const s = this.settings;
    if (now < this.scarceUntil) return { batch: 1, minFree: 1, maxFree: 2, scarce: true };
    return {
      batch: s.batchSize,
      minFree: roundHalfUp((s.batchSize * s.requestThresholdPercent) / 100),
      maxFree: roundHalfUp((s.batchSize * s.releaseThresholdPercent) / 100),
      scarce: false,
    };
  }

  targets(snap: PoolSnapshot): WarmTargets {
    const { batch, minFree, maxFree, scarce } = this.scaler(snap.now);
    const demand = snap.assigned + snap.cooling + snap.waiting;
    const current = snap.total;
    const free = current - demand;
    let requested: number;
    let why: string;
    if (free < minFree) {
      requested = batch * Math.ceil((demand + minFree) / batch);
      why = `free ${free} < ${minFree}: request ${requested}`;
    } else if (free >= maxFree) {
      // Scarcity reaps straight down to demand + 1 (CNS v2); otherwise one batch per decision (v1).
      requested = scarce ? demand + minFree : current % batch === 0 ? current - batch : current - (current % batch);
      why = `free ${free} >= ${maxFree}: release to ${requested}`;
    } else {
      requested = current;
      why = `free ${free} within [${minFree}, ${maxFree}): hold ${requested}`;
    }
    if (requested > this.settings.maxIpCount) {
      requested = this.settings.maxIpCount;
      why += ` (capped by AZURE_MAX_IP_COUNT=${this.settings.maxIpCount})`;
    }
    // At least one address keeps the planner in IP-target mode (both targets 0 would mean warm-interface mode).
    requested = Math.max(1, requested);
    this.last = `${scarce ? 'subnet scarcity: ' : ''}batch ${batch}, demand ${demand}, ${why}`;
    return { warmInterfaces: 0, warmIps: 0, minimumIps: requested, warmPrefixes: 0 };
  }

  explain(): string {
    const s = this.settings;
    return `azure-batch (AZURE_IP_BATCH_SIZE=${s.batchSize}, AZURE_REQUEST_THRESHOLD_PERCENT=${s.requestThresholdPercent}, AZURE_RELEASE_THRESHOLD_PERCENT=${s.releaseThresholdPercent}): ${this.last}`;
  }
}
