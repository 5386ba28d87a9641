/**
 * @module status line
 * One readable line about the pool, for people watching a terminal (npm
 * start, `vpc-ipamctl status`). It ends with the planner's reason, so the
 * line says not only how big the pool is but why.
 */
import type { PoolSnapshot } from '../datastore/types.js';

export interface StatusInput {
  snapshot: PoolSnapshot;
  reason?: string;
  policy?: string;
  cloudCalls?: number;
  growthBlocked?: string;
}

export function formatStatusLine(x: StatusInput): string {
  const s = x.snapshot;
  const unit = s.mode === 'prefix' ? ` (${s.interfaces.reduce((n, i) => n + i.blocks, 0)} prefixes)` : '';
  const parts = [
    `pool ${s.total}${unit}`,
    `assigned ${s.assigned}`,
    `available ${s.available}`,
    `cooling ${s.cooling}`,
    `waiting ${s.waiting}`,
    `interfaces ${s.interfaces.length}`,
  ];
  if (x.cloudCalls !== undefined) parts.push(`cloud calls ${x.cloudCalls}`);
  let line = parts.join(' | ');
  if (x.growthBlocked) line += ` | GROWTH BLOCKED: ${x.growthBlocked}`;
  if (x.policy) line += ` | policy: ${x.policy}`;
  if (x.reason) line += ` | why: ${x.reason}`;
  return line;
}
