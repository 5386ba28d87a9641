/**
 * @module classify failure
 * What follows a failed pool action, decided from the action and the typed error alone (pure, table-tested):
 * the executor applies the outcome to the state it holds and decides nothing itself. This is the one place that
 * reads `CLOUD_NO_PREFIX_BLOCK` and the other "no room" codes.
 *
 * Growth that found no room pauses for the backoff (the next plan would only ask again), except where a sibling
 * can still serve: a new interface moves on to its next candidate subnet within the same tick, and a prefix
 * refused on one interface re-plans at once on the others. Limits and "not found" mean our view of the node is
 * stale. Anything else is retried by the next tick.
 */
import { CloudError, IpamError, type ErrorCode } from '../../providers/errors.js';
import { nextSubnet, type CreateInterfaceAction } from './place-interface.js';
import type { PoolAction } from './planner.js';

/** A subnet that refused a prefix, and the cloud's code for it. */
export interface NoPrefixIn {
  subnetId: string;
  cloudCode: string;
}

export type FailureOutcome =
  /** Nothing to change: the next tick plans again. */
  | { kind: 'retryLater' }
  /** Our view of the node is out of date (someone else attached or removed things): re-read before planning. */
  | { kind: 'resyncFirst' }
  /** Pause growth for the backoff. */
  | { kind: 'blockGrowth'; code: ErrorCode; cloudCode: string; reason: string }
  /** The subnet had no room: try the same interface in the next candidate subnet now. */
  | { kind: 'tryNextSubnet'; next: CreateInterfaceAction; noPrefixIn?: NoPrefixIn }
  /** The interface's subnet has no free prefix block: remember it, and plan again now on the other interfaces. */
  | { kind: 'tryOtherInterfaces'; interfaceId: string; cloudCode: string }
  /** No candidate subnet has a free prefix block: fall back to secondary IPs, or pause growth (growth-step.ts). */
  | { kind: 'noPrefixLeft'; cloudCode: string; detail: string; noPrefixIn?: NoPrefixIn };

/** The subnet (or range) had no room for what was asked. */
export function isNoRoom(code: string): boolean {
  return code === 'CLOUD_SUBNET_FULL' || code === 'CLOUD_NO_PREFIX_BLOCK';
}

const STALE_VIEW: ReadonlySet<string> = new Set(['CLOUD_IP_LIMIT', 'CLOUD_NIC_LIMIT', 'CLOUD_NOT_FOUND']);

export function classifyFailure(action: PoolAction, err: unknown): FailureOutcome {
  const code: ErrorCode = IpamError.is(err) ? err.code : 'INTERNAL';
  const cloudCode = CloudError.isCloud(err) ? err.cloudCode : code;
  const detail = err instanceof Error ? err.message : String(err);
  if (action.kind === 'assign' || action.kind === 'createInterface') {
    const noPrefix = code === 'CLOUD_NO_PREFIX_BLOCK' && action.blockKind === 'prefix';
    if (action.kind === 'createInterface' && action.subnet && isNoRoom(code)) {
      const noPrefixIn = noPrefix ? { noPrefixIn: { subnetId: action.subnet.subnetId, cloudCode } } : {};
      const next = nextSubnet(action);
      if (next) return { kind: 'tryNextSubnet', next, ...noPrefixIn };
      if (noPrefix) return { kind: 'noPrefixLeft', cloudCode, detail, ...noPrefixIn };
    }
    if (noPrefix && action.kind === 'assign')
      return { kind: 'tryOtherInterfaces', interfaceId: action.interfaceId, cloudCode };
    if (noPrefix) return { kind: 'noPrefixLeft', cloudCode, detail };
    if (isNoRoom(code) || code === 'CLOUD_UNAUTHORIZED')
      return { kind: 'blockGrowth', code, cloudCode, reason: `${cloudCode}: ${detail}` };
  }
  return STALE_VIEW.has(code) ? { kind: 'resyncFirst' } : { kind: 'retryLater' };
}
