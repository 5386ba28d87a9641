/**
 * @module pool planner
 * Decides, never does: a pure function from a snapshot of the node's pool,
 * the warm targets and the instance limits to a list of cloud actions and a
 * sentence that says why. No clock, no I/O, no `this`; the reconciler executes
 * the plan, the simulator replays it, tests check it table by table.
 *
 * Semantics follow the AWS VPC CNI variables (aws-vpc-cni.md §3), with its
 * traps fixed and documented in docs/configuration.md:
 * - cooling addresses are not available (so the pool grows to cover them);
 * - ADDs waiting for an address are demand, whatever the targets say (so
 *   MINIMUM_IP_TARGET without WARM_IP_TARGET cannot strand Pods);
 * - shrinking releases the emptiest interface's blocks first and deletes an
 *   interface once empty, which bin-packed assignment makes possible.
 */
import type { WarmTargets } from '../config.js';
import type { SubnetCandidate } from '../../providers/pod-subnets.js';
import type { BlockKind } from '../../providers/types.js';
import type { InterfaceView, PoolSnapshot } from '../datastore/types.js';

export interface PoolLimits {
  /** min(MAX_ENI, instance limit). */
  maxInterfaces: number;
  /** Secondary IPs or prefixes one interface can hold (IPv4 per interface − 1). */
  slotsPerInterface: number;
  canCreateInterfaces: boolean;
}

export interface PlanContext {
  /** Growth is paused until then (subnet full, no /28 left). */
  growthBlockedUntil?: number;
  growthBlockedReason?: string;
  lastGrowAt?: number;
  lastShrinkAt?: number;
  /** No shrink within this long of the last grow or shrink. */
  shrinkIntervalMs: number;
  /** A new interface is not deleted before it is this old (attach churn is slow and costly). */
  minInterfaceLifetimeMs: number;
  /**
   * Block kind to grow with when it differs from the pool's mode: `ip` while
   * prefix mode falls back to secondary IPs (PREFIX_FALLBACK_TO_IPS). The
   * shortfall, counted in prefixes, is then asked for as that many addresses.
   */
  growKind?: BlockKind;
  /** Interfaces not to grow on (their subnet just had no free prefix block). */
  noGrowthOn?: ReadonlySet<string>;
}

export type PoolAction =
  | { kind: 'assign'; interfaceId: string; blockKind: BlockKind; count: number }
  | {
      kind: 'createInterface';
      blockKind: BlockKind;
      count: number;
      /** Where to create it: set by `placeInterface` once the candidates are read (place-interface.ts). */
      subnet?: SubnetCandidate;
      /** The candidates to try after `subnet`, in order, when it has no room. */
      otherSubnets?: SubnetCandidate[];
    }
  | { kind: 'release'; interfaceId: string; cidrs: string[] }
  | { kind: 'deleteInterface'; interfaceId: string };

export type TargetMode = 'warm-ip' | 'warm-interface' | 'warm-prefix';

export interface PoolPlan {
  targetMode: TargetMode;
  /** Addresses the pool is below target (demand included). */
  shortAddresses: number;
  /** Addresses the pool is above target that could be released. */
  excessAddresses: number;
  actions: PoolAction[];
  /** One sentence an operator can read: the numbers, the rule, the decision. */
  reason: string;
  /** The reason without the numbers (the status line prints those itself): the rule and the decision. */
  summary: string;
}

export const DEFAULT_PLAN_CONTEXT: PlanContext = { shrinkIntervalMs: 30_000, minInterfaceLifetimeMs: 60_000 };

export function planPool(
  s: PoolSnapshot,
  t: WarmTargets,
  limits: PoolLimits,
  ctx: PlanContext = DEFAULT_PLAN_CONTEXT,
): PoolPlan {
  const usable = s.interfaces.filter((i) => i.usable);
  const freeBlocks = usable.reduce((n, i) => n + i.freeBlocks.length, 0);
  const actions: PoolAction[] = [];
  // Blocks of the other mode (after ENABLE_PREFIX_DELEGATION changed) are given back as their Pods leave.
  for (const i of s.interfaces)
    if (i.staleBlocks.length) actions.push({ kind: 'release', interfaceId: i.id, cidrs: i.staleBlocks });

  const waiting = s.waiting ? `, ${s.waiting} ADDs waiting` : '';
  const counts = `${s.available} free, ${s.assigned} assigned, ${s.cooling} cooling of ${s.total}${waiting}`;
  let targetMode: TargetMode;
  let need = 0; // blocks
  let excess = 0; // blocks
  let fill = false;
  let rule: string;

  if (t.warmIps > 0 || t.minimumIps > 0) {
    targetMode = 'warm-ip';
    const short = Math.max(t.warmIps + s.waiting - s.available, t.minimumIps - s.total, 0);
    need = Math.ceil(short / s.blockSize);
    if (s.waiting === 0) {
      // Keep enough whole blocks for assigned + warm and for the floor; the rest is excess.
      const keepForWarm = Math.ceil((s.assigned + s.cooling + t.warmIps) / s.blockSize);
      const keepForMin = Math.ceil(t.minimumIps / s.blockSize);
      const totalBlocks = usable.reduce((n, i) => n + i.blocks, 0);
      excess = Math.max(Math.min(freeBlocks, totalBlocks - Math.max(keepForWarm, keepForMin)), 0);
    }
    rule = `WARM_IP_TARGET=${t.warmIps}, MINIMUM_IP_TARGET=${t.minimumIps}`;
  } else if (s.mode === 'prefix') {
    targetMode = 'warm-prefix';
    const low =
      s.available < s.blockSize * t.warmPrefixes || (s.available === 0 && (s.waiting > 0 || t.warmPrefixes === 0));
    if (low) need = Math.max(1, t.warmPrefixes - freeBlocks, Math.ceil(s.waiting / s.blockSize));
    else if (s.waiting === 0) {
      // With a target of 0 the pool grows when nothing is free; keep the block that growth added while it
      // holds every free address, or the next plan would release it and the one after would grow again.
      const keep = t.warmPrefixes === 0 && s.available <= freeBlocks * s.blockSize ? 1 : t.warmPrefixes;
      excess = Math.max(freeBlocks - keep, 0);
    }
    rule = `WARM_PREFIX_TARGET=${t.warmPrefixes} (${freeBlocks} unused ${freeBlocks === 1 ? 'prefix' : 'prefixes'})`;
  } else {
    targetMode = 'warm-interface';
    const target = t.warmInterfaces * limits.slotsPerInterface;
    const low = s.available < target || (s.available === 0 && (s.waiting > 0 || t.warmInterfaces === 0));
    if (low) {
      need = Math.max(target - s.available, s.waiting, 1);
      fill = true; // like the AWS CNI: fill the interface, one call instead of many
    }
    rule = `WARM_ENI_TARGET=${t.warmInterfaces} (${target} free wanted)`;
  }

  const shortAddresses = need * s.blockSize;
  let decision: string;
  const blocked = ctx.growthBlockedUntil !== undefined && ctx.growthBlockedUntil > s.now;
  if (need > 0 && blocked) {
    const seconds = Math.ceil((ctx.growthBlockedUntil! - s.now) / 1000);
    const why = ctx.growthBlockedReason ?? 'backing off';
    decision = `short ${shortAddresses} but growth paused for ${seconds} s: ${why}`;
  } else if (need > 0) {
    const kind = ctx.growKind ?? s.mode;
    // In blocks of the kind grown: a prefix shortfall asked for as /32s is blockSize times as many.
    const units = kind === s.mode ? need : need * s.blockSize;
    const growOn = ctx.noGrowthOn ? usable.filter((i) => !ctx.noGrowthOn!.has(i.id)) : usable;
    const growth = placeGrowth(growOn, s.interfaces.length, units, fill, kind, limits);
    actions.push(...growth.actions);
    decision = growth.actions.length
      ? `short ${shortAddresses}: ${growth.actions.map(describe).join(', ')}`
      : `short ${shortAddresses} but at capacity (${growth.why})`;
  } else {
    const shrink = placeShrink(s, usable, excess, targetMode, t, limits, ctx);
    actions.push(...shrink.actions);
    decision = shrink.actions.length ? `over target: ${shrink.actions.map(describe).join(', ')}` : shrink.why;
  }
  return {
    targetMode,
    shortAddresses,
    excessAddresses: excess * s.blockSize,
    actions,
    reason: `${targetMode} (${rule}): ${counts}; ${decision}`,
    summary: `${rule}: ${decision}`,
  };
}

function describe(a: PoolAction): string {
  switch (a.kind) {
    case 'assign':
      return `assign ${a.count} ${a.blockKind === 'prefix' ? 'prefix(es)' : 'IP(s)'} to ${a.interfaceId}`;
    case 'createInterface':
      return `create an interface with ${a.count} ${a.blockKind === 'prefix' ? 'prefix(es)' : 'IP(s)'}`;
    case 'release':
      return `release ${a.cidrs.length} block(s) from ${a.interfaceId}`;
    case 'deleteInterface':
      return `delete empty interface ${a.interfaceId}`;
  }
}

function placeGrowth(
  usable: InterfaceView[],
  interfaceCount: number,
  need: number,
  fill: boolean,
  kind: BlockKind,
  limits: PoolLimits,
) {
  const actions: PoolAction[] = [];
  let remaining = need;
  // Existing interfaces first, lowest slot first: an assign call is ~0.3 s, a new interface ~3 s.
  for (const i of [...usable].sort((a, b) => a.deviceIndex - b.deviceIndex)) {
    const room = limits.slotsPerInterface - i.slotsUsed;
    if (room <= 0 || remaining <= 0) continue;
    const count = fill ? room : Math.min(room, remaining);
    actions.push({ kind: 'assign', interfaceId: i.id, blockKind: kind, count });
    remaining -= count;
  }
  let why = '';
  if (remaining > 0) {
    if (!limits.canCreateInterfaces) why = 'this cloud cannot add interfaces at run time';
    else if (interfaceCount >= limits.maxInterfaces) why = `all ${limits.maxInterfaces} interfaces in use, each full`;
    else {
      // One interface per plan: attaching takes seconds, the next cycle sees the result.
      const count = fill ? limits.slotsPerInterface : Math.min(remaining, limits.slotsPerInterface);
      actions.push({ kind: 'createInterface', blockKind: kind, count });
    }
  }
  return { actions, why };
}

function placeShrink(
  s: PoolSnapshot,
  usable: InterfaceView[],
  excessBlocks: number,
  targetMode: TargetMode,
  t: WarmTargets,
  limits: PoolLimits,
  ctx: PlanContext,
): { actions: PoolAction[]; why: string } {
  const sinceChange = Math.min(
    ctx.lastGrowAt === undefined ? Infinity : s.now - ctx.lastGrowAt,
    ctx.lastShrinkAt === undefined ? Infinity : s.now - ctx.lastShrinkAt,
  );
  // Interfaces the targets want kept attached (empty or not) are never deleted.
  let spare = Math.max(0, s.interfaces.length - (t.keepInterfaces ?? 0));
  // Where interfaces cannot be added at run time (Azure, GCP), they came with the VM and cannot come back.
  const deletable = (i: InterfaceView) =>
    limits.canCreateInterfaces &&
    !i.primary &&
    i.assigned === 0 &&
    i.cooling === 0 &&
    i.staleAssigned === 0 &&
    i.freeBlocks.length === i.blocks &&
    s.now - i.createdAt >= ctx.minInterfaceLifetimeMs;

  if (targetMode === 'warm-interface') {
    // Default AWS semantics: individual IPs are never given back, whole empty interfaces are.
    const target = t.warmInterfaces * limits.slotsPerInterface;
    const victim = usable
      .filter(deletable)
      .sort((a, b) => b.deviceIndex - a.deviceIndex)
      .find((i) => s.available - i.addresses >= target);
    if (victim && spare > 0 && sinceChange >= ctx.shrinkIntervalMs)
      return { actions: [{ kind: 'deleteInterface', interfaceId: victim.id }], why: '' };
    return { actions: [], why: 'at target' };
  }
  if (excessBlocks === 0) {
    const idle = usable.find((i) => i.blocks === 0 && i.slotsUsed === 0 && deletable(i));
    if (idle && spare > 0) return { actions: [{ kind: 'deleteInterface', interfaceId: idle.id }], why: '' };
    return { actions: [], why: 'at target' };
  }
  if (sinceChange < ctx.shrinkIntervalMs) {
    return {
      actions: [],
      why:
        `${excessBlocks * s.blockSize} over target; ` +
        `holding for ${Math.ceil((ctx.shrinkIntervalMs - sinceChange) / 1000)} s after the last change`,
    };
  }
  const actions: PoolAction[] = [];
  let remaining = excessBlocks;
  // Whole empty interfaces first (one detach+delete instead of N unassigns), then blocks from the emptiest.
  for (const i of usable.filter(deletable).sort((a, b) => a.blocks - b.blocks || b.deviceIndex - a.deviceIndex)) {
    if (i.blocks > remaining || spare === 0) continue;
    spare--;
    actions.push({ kind: 'deleteInterface', interfaceId: i.id });
    remaining -= i.blocks;
  }
  const deleted = new Set(actions.map((a) => a.kind === 'deleteInterface' && a.interfaceId));
  const order = usable
    .filter((i) => !deleted.has(i.id) && i.freeBlocks.length > 0)
    .sort((a, b) => Number(a.primary) - Number(b.primary) || a.assigned - b.assigned || b.deviceIndex - a.deviceIndex);
  for (const i of order) {
    if (remaining <= 0) break;
    const cidrs = i.freeBlocks.slice(0, remaining);
    actions.push({ kind: 'release', interfaceId: i.id, cidrs });
    remaining -= cidrs.length;
  }
  return { actions, why: '' };
}
