/**
 * @module azure batch settings
 * The AZURE_* pool-sizing variables of `WARM_POOL_POLICY=azure-batch` (ipamd/pool/azure-batch-policy.ts), with
 * Azure CNS's constraints (`clampScaler`) as errors instead of silent clamps.
 */
import { ConfigError } from '../../providers/errors.js';
import { present, type Env } from './readers.js';

export interface AzureBatchSettings {
  batchSize: number;
  requestThresholdPercent: number;
  releaseThresholdPercent: number;
  maxIpCount: number;
  scarcityHoldMs: number;
}

export const AZURE_BATCH_DEFAULTS: AzureBatchSettings = Object.freeze({
  batchSize: 16,
  requestThresholdPercent: 50,
  releaseThresholdPercent: 150,
  maxIpCount: 250,
  scarcityHoldMs: 600_000,
});

function readWhole(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = present(env, name);
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be from ${min} to ${max}, got ${n}`);
  return n;
}

export function parseAzureBatchSettings(env: Env): AzureBatchSettings {
  const d = AZURE_BATCH_DEFAULTS;
  const maxIpCount = readWhole(env, 'AZURE_MAX_IP_COUNT', d.maxIpCount, 1, 4096);
  const batchSize = readWhole(env, 'AZURE_IP_BATCH_SIZE', d.batchSize, 1, 4096);
  if (batchSize > maxIpCount)
    throw new ConfigError(
      'AZURE_IP_BATCH_SIZE',
      `must not exceed AZURE_MAX_IP_COUNT (${maxIpCount}), got ${batchSize}`,
    );
  const requestThresholdPercent = readWhole(env, 'AZURE_REQUEST_THRESHOLD_PERCENT', d.requestThresholdPercent, 1, 100);
  const releaseThresholdPercent = readWhole(
    env,
    'AZURE_RELEASE_THRESHOLD_PERCENT',
    d.releaseThresholdPercent,
    1,
    10_000,
  );
  if (releaseThresholdPercent < requestThresholdPercent + 100) {
    throw new ConfigError(
      'AZURE_RELEASE_THRESHOLD_PERCENT',
      `must be at least AZURE_REQUEST_THRESHOLD_PERCENT + 100 (${requestThresholdPercent + 100}), ` +
        `got ${releaseThresholdPercent}: otherwise a release can trigger the next request`,
    );
  }
  const holdS = readWhole(env, 'AZURE_SUBNET_SCARCITY_HOLD_SECONDS', d.scarcityHoldMs / 1000, 0, 86_400);
  return Object.freeze({
    batchSize,
    requestThresholdPercent,
    releaseThresholdPercent,
    maxIpCount,
    scarcityHoldMs: holdS * 1000,
  });
}
