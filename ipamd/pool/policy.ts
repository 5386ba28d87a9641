/**
 * @module pool policy
 * A policy turns what the daemon has observed into warm targets; the planner
 * turns targets into actions. `static` is the AWS-compatible behaviour (the
 * variables as set). Other policies (WARM_POOL_POLICY=adaptive, azure-batch)
 * implement this interface, are built by policy-factory.ts (for the daemon and
 * the simulator alike) and must be able to say why they chose their targets.
 */
import type { WarmTargets } from '../config.js';
import type { PoolSnapshot } from '../datastore/types.js';

export interface PoolPolicy {
  readonly name: string;
  /**
   * Targets for this snapshot, from what was observed. Pure: GET /v1/pool, the node publisher and the monitor ask
   * too, and asking must not change what the reconciler gets next.
   */
  targets(s: PoolSnapshot): WarmTargets;
  /** The reconciler is about to plan from `s` (once per tick): what the next targets and explain() depend on. */
  observeTick?(s: PoolSnapshot): void;
  /** Why the targets are what they are, for /v1/pool and the status line. */
  explain(): string;
  /** An ADD asked for an address at `now`. */
  observeAdd?(now: number): void;
  /** A DEL released an address at `now`. */
  observeDel?(now: number): void;
  /** A cloud call that adds capacity took `ms`. */
  observeGrowLatency?(kind: 'assign' | 'createInterface', ms: number): void;
  /** Growth paused at `now` because the cloud refused with `code` (typed, e.g. CLOUD_SUBNET_FULL). */
  observeGrowthBlocked?(code: string, now: number): void;
}

export class StaticPolicy implements PoolPolicy {
  readonly name = 'static';
  constructor(private readonly t: WarmTargets) {}
  targets(): WarmTargets {
    return this.t;
  }
  explain(): string {
    const t = this.t;
    return (
      `static targets: WARM_ENI_TARGET=${t.warmInterfaces} WARM_IP_TARGET=${t.warmIps} ` +
      `MINIMUM_IP_TARGET=${t.minimumIps} WARM_PREFIX_TARGET=${t.warmPrefixes}`
    );
  }
}
