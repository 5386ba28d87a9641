/**
 * @module prepare plan
 * The tick's decision, before anything is executed (Cilium's PrepareIPAllocation): {@link planPool}, steered in
 * prefix mode by the prefix fallback's state. Pure: a function of the snapshot, the targets, the limits, the
 * executor's timing and growth block, and the {@link FallbackView} at the snapshot's time.
 *
 * - Interfaces whose subnet just had no free prefix block are not grown on; inside an IP-mode window growth asks
 *   for /32s instead of prefixes.
 * - When the only interfaces with room are in such subnets and no interface can be added, no prefix is left:
 *   the plan is made again with /32s and asks to start the IP fallback, or asks to pause growth
 *   ({@link noPrefixLeftStep}).
 * - When the IP window is over but every slot holds a fallback /32, one free /32 is given back to probe for a
 *   prefix in its place.
 */
import type { WarmTargets } from '../config.js';
import type { PoolSnapshot } from '../datastore/types.js';
import { hasFreeSlot } from './capacity.js';
import { noPrefixLeftStep, type GrowthStep } from './growth-step.js';
import { planPool, type PlanContext, type PoolLimits, type PoolPlan } from './planner.js';
import { NO_PREFIX_CODE, type FallbackView } from './prefix-fallback.js';

export interface PlanInput {
  snapshot: PoolSnapshot;
  targets: WarmTargets;
  limits: PoolLimits;
  /** The executor's growth block and timing; `growKind` and `noGrowthOn` are derived here, not read. */
  ctx: PlanContext;
  fallback: FallbackView;
  /** The datastore counts secondary /32s as usable prefix-mode capacity (`Datastore.fallbackIps`). */
  fallbackIps: boolean;
}

export interface PreparedPlan {
  plan: PoolPlan;
  /** A growth state change the executor makes before it executes the actions. */
  step?: GrowthStep;
}

const NO_ROOM_LEFT =
  'every interface with room is in a subnet without free prefix blocks, and no interface can be added';
const PROBE = 'probing for a prefix block in place of a fallback /32';

export function preparePlan(x: PlanInput): PreparedPlan {
  const { snapshot: s, targets, limits, fallback } = x;
  if (s.mode !== 'prefix') return { plan: planPool(s, targets, limits, x.ctx) };
  const growKind = fallback.ipMode ? ('ip' as const) : undefined;
  const noGrowthOn = growKind
    ? undefined
    : new Set(s.interfaces.filter((i) => fallback.exhausted.has(i.subnetId)).map((i) => i.id));
  const ctx: PlanContext = { ...x.ctx, growKind, noGrowthOn };
  const plan = planPool(s, targets, limits, ctx);
  const blocked = x.ctx.growthBlockedUntil !== undefined && x.ctx.growthBlockedUntil > s.now;
  const grows = plan.actions.some((a) => a.kind === 'assign' || a.kind === 'createInterface');
  if (plan.shortAddresses === 0 || grows || blocked) return { plan };
  const skippedRoom = s.interfaces.filter((i) => i.usable && noGrowthOn?.has(i.id) && hasFreeSlot(i, limits));
  if (skippedRoom.length > 0) {
    const cloudCode = fallback.exhausted.get(skippedRoom[0]!.subnetId) ?? NO_PREFIX_CODE;
    const step = noPrefixLeftStep(fallback.enabled, cloudCode, NO_ROOM_LEFT);
    if (step.kind === 'blockGrowth') return { plan, step };
    return { plan: planPool(s, targets, limits, { ...ctx, growKind: 'ip', noGrowthOn: undefined }), step };
  }
  if (growKind || !x.fallbackIps) return { plan };
  const probeOn = s.interfaces.find((v) => v.usable && v.freeFallbackIps?.length && !noGrowthOn?.has(v.id));
  if (!probeOn) return { plan };
  return {
    plan: {
      ...plan,
      actions: [
        ...plan.actions,
        { kind: 'release', interfaceId: probeOn.id, cidrs: [probeOn.freeFallbackIps![0]!] },
        { kind: 'assign', interfaceId: probeOn.id, blockKind: 'prefix', count: 1 },
      ],
      reason: `${plan.reason}; ${PROBE}`,
      summary: `${plan.summary}; ${PROBE}`,
    },
  };
}
