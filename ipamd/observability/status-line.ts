/**
 * @module status line
 * One readable line about the pool, for people watching a terminal (npm
 * start, `vpc-ipamctl status`). It ends with the planner's reason, so the
 * line says not only how big the pool is but why.
 *
 * Two rules. One snapshot: the counts and the `why` are both read from the
 * snapshot given here (the daemon has the planner re-read that same snapshot,
 * see PoolReconciler.preview), so the line never says "available 13" next to
 * a reason about 14 free. Short: at most {@link STATUS_LINE_MAX} characters,
 * cooling and waiting only when there are any, the policy by name; the long
 * story (targets, the adaptive policy's inputs, the growth block) is in
 * /v1/pool and `vpc-ipamctl status --json`.
 */
import type { PoolSnapshot } from '../datastore/types.js';

export const STATUS_LINE_MAX = 160;

export interface StatusInput {
  snapshot: PoolSnapshot;
  /** The planner's reason for this same snapshot, without its numbers (PoolPlan.summary). */
  why?: string;
  /** Set for policies other than static: their name. */
  policy?: string;
  cloudCalls?: number;
  growthBlocked?: boolean;
  /** Pods known to be coming (the Kubernetes Pod watch). */
  expected?: number;
}

export function formatStatusLine(x: StatusInput): string {
  const s = x.snapshot;
  const blocks = s.interfaces.reduce((n, i) => n + i.blocks, 0);
  const prefixes = s.mode === 'prefix' ? ` in ${blocks} ${blocks === 1 ? 'prefix' : 'prefixes'}` : '';
  const parts = [`pool ${s.total}${prefixes}`, `assigned ${s.assigned}`, `available ${s.available}`];
  if (s.cooling) parts.push(`cooling ${s.cooling}`);
  if (s.waiting) parts.push(`waiting ${s.waiting}`);
  if (x.expected) parts.push(`expected ${x.expected}`);
  parts.push(`interfaces ${s.interfaces.length}`);
  if (x.cloudCalls !== undefined) parts.push(`cloud calls ${x.cloudCalls}`);
  if (x.growthBlocked) parts.push('GROWTH BLOCKED');
  if (x.policy) parts.push(`policy ${x.policy}`);
  if (x.why) parts.push(`why: ${x.why}`);
  const line = parts.join(' | ');
  return line.length <= STATUS_LINE_MAX ? line : `${line.slice(0, STATUS_LINE_MAX - 1)}…`;
}
