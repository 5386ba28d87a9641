/**
 * @module pool action Events
 * The Node Event for a failed pool action (adding addresses to an
 * interface, creating one), with the reason alerts key on:
 * PodSubnetConfigInvalid when the node's PodSubnetConfig cannot be used
 * (missing, invalid, or its CRD not installed), SubnetExhausted when the
 * subnet had no room, PoolGrowthFailed otherwise.
 */
import type { IpamEvent } from '../monitor/events.js';
import { isNoRoom } from '../pool/classify-failure.js';
import type { PoolAction } from '../pool/planner.js';
import { CloudError, ConfigError, IpamError } from '../../providers/errors.js';
import { EVENT_REASONS } from './names.js';

/** The Warning Event for `err`, or undefined for actions that are not growth (releases report elsewhere). */
export function actionErrorEvent(action: PoolAction, err: unknown, node: string, at: number): IpamEvent | undefined {
  if (action.kind !== 'assign' && action.kind !== 'createInterface') return undefined;
  const code = IpamError.is(err) ? err.code : 'INTERNAL';
  const cloudCode = CloudError.isCloud(err) ? err.cloudCode : code;
  const reason =
    err instanceof ConfigError && err.variable.startsWith('PodSubnetConfig')
      ? EVENT_REASONS.podSubnetConfigInvalid
      : isNoRoom(code)
        ? EVENT_REASONS.subnetExhausted
        : EVENT_REASONS.poolGrowthFailed;
  const what = action.kind === 'assign' ? 'adding addresses to an interface' : 'creating an interface';
  return { type: 'Warning', reason, message: `${what} failed: ${(err as Error).message}`, node, at, cloudCode };
}
