/**
 * @module place interface
 * Which subnet a planned new interface goes in: the first of the selector's candidates (providers/pod-subnets.ts,
 * read when the interface is due, so a changed Pod subnet config applies to the next interface) that can serve
 * it, with the rest kept on the action as the ones to try next when that subnet has no room. For prefixes,
 * subnets that just had no free prefix block are skipped. Pure; the executor reads the candidates and calls it.
 */
import { IpamError, NoPrefixBlockError } from '../../providers/errors.js';
import type { SubnetCandidate } from '../../providers/pod-subnets.js';
import type { PoolAction } from './planner.js';
import { NO_PREFIX_CODE, type FallbackView } from './prefix-fallback.js';

export type CreateInterfaceAction = Extract<PoolAction, { kind: 'createInterface' }>;

/** The action with its subnet, or why no candidate can take it (executed as that action's failure). */
export type Placement = { ok: true; action: CreateInterfaceAction } | { ok: false; error: IpamError };

export function placeInterface(
  a: CreateInterfaceAction,
  candidates: readonly SubnetCandidate[],
  fallback: FallbackView,
  provider: string,
): Placement {
  if (candidates.length === 0)
    return { ok: false, error: new IpamError('INTERNAL', 'no subnet to create an interface in') };
  const skip = a.blockKind === 'prefix' ? fallback.exhausted : new Map<string, string>();
  const usable = candidates.filter((c) => !skip.has(c.subnetId));
  const [first, ...rest] = usable;
  if (first) return { ok: true, action: { ...a, subnet: first, otherSubnets: rest } };
  // Every candidate refused a prefix within the backoff: the failure carries what the cloud said then.
  const error = new NoPrefixBlockError({
    provider,
    operation: 'createInterface',
    cloudCode: skip.get(candidates[0]!.subnetId) ?? NO_PREFIX_CODE,
    message: `no free prefix block in any candidate subnet (${candidates.map((c) => c.subnetId).join(', ')})`,
  });
  return { ok: false, error };
}

/** The same interface in the next candidate subnet, or undefined when none is left. */
export function nextSubnet(a: CreateInterfaceAction): CreateInterfaceAction | undefined {
  const [next, ...rest] = a.otherSubnets ?? [];
  return next ? { ...a, subnet: next, otherSubnets: rest } : undefined;
}
