/**
 * @module growth step
 * A change to the pool's growth state that a plan or a failed action asks the executor to make: start the
 * secondary-IP fallback, or pause growth for the backoff. Plain data, so the planner and `classifyFailure` can
 * decide it without touching state, and "no prefix left" is decided by one function whichever found it.
 */
import type { ErrorCode } from '../../providers/errors.js';

export type GrowthStep =
  /** PREFIX_FALLBACK_TO_IPS: grow with secondary IPs for the backoff (prefix-fallback.ts). */
  | { kind: 'enterIpMode'; reason: string }
  /** No growth until the backoff ends; `code` is neutral, `cloudCode` the cloud's own (or `code` when none). */
  | { kind: 'blockGrowth'; code: ErrorCode; cloudCode: string; reason: string };

/**
 * No candidate subnet has a free prefix block: fall back to secondary IPs when that is enabled, else pause
 * growth naming the code the cloud gave for the refusal.
 */
export function noPrefixLeftStep(fallbackEnabled: boolean, cloudCode: string, detail: string): GrowthStep {
  if (fallbackEnabled) return { kind: 'enterIpMode', reason: detail };
  return {
    kind: 'blockGrowth',
    code: 'CLOUD_NO_PREFIX_BLOCK',
    cloudCode,
    reason: `${cloudCode}: no free prefix block in any candidate subnet (${detail})`,
  };
}
