/**
 * @module awscni events
 * What the `fn` label of `awscni_ipamd_error_count`, `awscni_reconcile_count` and
 * `awscni_ipamd_action_inprogress` says for ipamd's own events: the AWS VPC CNI's function names for the step
 * that does the same job (pkg/ipamd/ipamd.go), so a dashboard's `fn="increaseIPPoolAllocENI"` keeps meaning
 * "could not add an interface".
 */
import type { SyncReport } from '../datastore/datastore.js';
import type { PoolAction } from '../pool/planner.js';

const ACTION_ERROR_FN: Record<PoolAction['kind'], string> = {
  assign: 'increaseIPPoolAllocIPAddressesFailed',
  createInterface: 'increaseIPPoolAllocENI',
  release: 'decreaseIPPool',
  deleteInterface: 'decreaseIPPoolFreeENIFailed',
};

/** The AWS CNI's `fn` for a pool action that failed. */
export function actionErrorFn(action: PoolAction): string {
  return ACTION_ERROR_FN[action.kind];
}

/**
 * A resync's differences as the AWS CNI's reconcile counts: interfaces the cloud shows that the datastore did
 * not have (and the reverse), blocks gone from the cloud, blocks found in it. One count per interface or
 * block, as the AWS CNI counts one per ENI, IP or prefix.
 */
export function reconcileCounts(r: SyncReport): Array<[fn: string, n: number]> {
  const counts: Array<[string, number]> = [
    ['eniReconcileAdd', r.addedInterfaces.length],
    ['eniReconcileDel', r.removedInterfaces.length],
    ['eniIPPoolReconcileDel', r.removedBlocks.length],
    ['eniDataStorePoolReconcileAdd', r.addedBlocks.length],
  ];
  return counts.filter(([, n]) => n > 0);
}

/** Provider operations by the AWS CNI's action they belong to. */
const ACTION_OF_OPERATION: Readonly<Record<string, string>> = {
  createInterface: 'increaseDatastorePool',
  assignAddresses: 'increaseDatastorePool',
  unassignAddresses: 'decreaseDatastorePool',
  deleteInterface: 'decreaseDatastorePool',
};

/**
 * `awscni_ipamd_action_inprogress{fn}` from the provider calls in flight by operation: every one of the AWS
 * CNI's four actions has its series (0 when idle). A describe is the periodic reconcile once init() is done;
 * during init it belongs to nodeInit, counted by `nodeInitRunning`.
 */
export function actionsInProgress(
  inFlight: ReadonlyMap<string, number>,
  nodeInitRunning: number,
  initialised: boolean,
): Map<string, number> {
  const by = new Map([
    ['nodeInit', nodeInitRunning],
    ['increaseDatastorePool', 0],
    ['decreaseDatastorePool', 0],
    ['nodeIPPoolReconcile', 0],
  ]);
  for (const [op, n] of inFlight) {
    const fn = ACTION_OF_OPERATION[op] ?? (op === 'describeNode' && initialised ? 'nodeIPPoolReconcile' : undefined);
    if (fn !== undefined) by.set(fn, by.get(fn)! + n);
  }
  return by;
}
