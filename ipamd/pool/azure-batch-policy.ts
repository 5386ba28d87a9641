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
 * The variables are read with the rest of the configuration (ipamd/config/azure-batch.ts).
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
import type { AzureBatchSettings } from '../config/azure-batch.js';
import type { WarmTargets } from '../config.js';
import type { PoolSnapshot } from '../datastore/types.js';
import type { PoolPolicy } from './policy.js';

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

  /** Pure: asking (GET /v1/pool, the publisher, the monitor) changes nothing. */
  targets(snap: PoolSnapshot): WarmTargets {
    return this.decide(snap).targets;
  }

  /** The reconciler plans from `snap`: its reasoning is what explain() reports. */
  observeTick(snap: PoolSnapshot): void {
    this.last = this.decide(snap).why;
  }

  private decide(snap: PoolSnapshot): { targets: WarmTargets; why: string } {
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
    return {
      targets: { warmInterfaces: 0, warmIps: 0, minimumIps: requested, warmPrefixes: 0 },
      why: `${scarce ? 'subnet scarcity: ' : ''}batch ${batch}, demand ${demand}, ${why}`,
    };
  }

  explain(): string {
    const s = this.settings;
    return (
      `azure-batch (AZURE_IP_BATCH_SIZE=${s.batchSize}, ` +
      `AZURE_REQUEST_THRESHOLD_PERCENT=${s.requestThresholdPercent}, ` +
      `AZURE_RELEASE_THRESHOLD_PERCENT=${s.releaseThresholdPercent}): ${this.last}`
    );
  }
}
