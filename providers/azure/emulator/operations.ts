/**
 * @module azure emulator operations
 * NIC writes and their long-running operations, as the Network RP does them
 * and `@azure/core-lro` polls them (cloud-apis.md §4.4):
 *
 * - `sync` mode: the PUT answers 200 with `provisioningState: Succeeded` and
 *   no operation header; the SDK does not poll.
 * - `async` mode: the PUT answers 200 with `provisioningState: Updating`, an
 *   absolute `Azure-AsyncOperation` URL and `Retry-After: 10` (what ARM
 *   sends; core-lro waits that long between polls, so a NIC change costs
 *   seconds, under the adapter's per-NIC lock too). The new ipConfigurations
 *   show `Updating` and polls answer `InProgress` (with the same Retry-After)
 *   until `durationMs` has passed on the emulator's clock, then `Succeeded`,
 *   or `Failed` with `{error:{code,message}}`. The clock is injected, so a
 *   test on a virtual clock decides when an operation ends, with no waiting
 *   (the timing is the emulator kit's operation store, shared with GCE).
 *
 * Addresses are taken when the PUT is accepted and ipConfigurations removed
 * by it keep theirs until it succeeds, so nobody else can take them meanwhile.
 * A failed operation gives back what it took and restores what it removed:
 * nothing is half-done. While an operation runs, another PUT on the NIC gets
 * 409 `AnotherOperationInProgress`; an `If-Match` that is not the NIC's etag
 * gets 412 `PreconditionFailedEtagMismatch` (`etag.ts`).
 *
 * Fault injection goes through the FaultInjector: action `PutNetworkInterface`
 * fails the PUT itself, action `CompleteOperation` makes the operation fail
 * with the injected error's code and message.
 */
import { randomUUID } from 'node:crypto';
import { OperationStore } from '../../emulator-kit/operation-store.js';
import { CloudError } from '../../errors.js';
import type { FaultInjector, SimClock, SimInterface } from '../../sim/index.js';
import { ArmError, fromCloudError } from './arm-error.js';
import { TAG, type AzureWorld, type PendingOp } from './azure-world.js';
import { checkIfMatch, etagHeader, newEtag } from './etag.js';
import { allocate, ipcTags, planNicPut, release } from './nic-put.js';

export type LroMode = 'sync' | 'async';

export interface OperationOptions {
  mode: LroMode;
  /**
   * How long an operation stays InProgress, on the emulator's clock. Default
   * 3000 ms: a NIC update takes seconds on Azure, which publishes no figure
   * (an estimate; docs/sim-cloud.md). Tests pass a few ms or a virtual clock.
   */
  durationMs: number;
  /** Retry-After (seconds) on the accepted PUT and on each InProgress poll. Default 10, as ARM sends. */
  retryAfterSeconds: number;
  /** Async mode: report allocation failures (SubnetIsFull) in the operation result instead of a 400. */
  asyncAllocationErrors: boolean;
}

export const REALISTIC_LRO: OperationOptions = {
  mode: 'async',
  durationMs: 3000,
  retryAfterSeconds: 10,
  asyncAllocationErrors: false,
};

export interface OperationRecord {
  id: string;
  nicSimId: string;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  polls: number;
  error?: { code: string; message: string };
  startTime: string;
  endTime?: string;
  /** Emulator-clock ms at which it ends by itself. */
  endsAt?: number;
}

/** Finished operations kept for late polls. */
const KEEP_OPERATIONS = 10_000;

export interface PutResult {
  nic: SimInterface;
  /** Operation id in async mode. */
  operation?: string;
}

export class NicOperations {
  private readonly store: OperationStore<OperationRecord>;
  /** Runs after an operation ends, with its record (tests check the cloud there). */
  onOperationDone: ((op: OperationRecord) => void) | undefined;

  constructor(
    private readonly world: AzureWorld,
    private readonly faults: FaultInjector,
    readonly opts: OperationOptions,
    private readonly clock: SimClock,
    private readonly onChange: () => void,
  ) {
    this.store = new OperationStore({ clock, complete: (op) => this.end(op), keep: KEEP_OPERATIONS });
    // An operation can only be in progress in this process: finish any a saved cloud still shows.
    for (const nic of world.nics()) if (world.pending(nic)) this.finish(nic, world.pending(nic)!, undefined);
  }

  /** The 409 ARM answers while an operation runs on the resource (Azure/bicep#5132). */
  inProgressError(opId: string): ArmError {
    const message =
      'Another operation on this or dependent resource is in progress. ' +
      `To retrieve status of the operation use uri: ${this.operationPath(opId)}.`;
    return new ArmError(409, 'AnotherOperationInProgress', message);
  }

  /**
   * PUT networkInterfaces/{nic}: validate, check etag and in-progress operations, allocate, answer.
   * `durationMs` overrides the configured duration for this operation (a test's slow second writer).
   */
  put(
    nic: SimInterface,
    body: unknown,
    ifMatch: string | undefined,
    mode = this.opts.mode,
    durationMs = this.opts.durationMs,
  ): PutResult {
    const world = this.world;
    const pending = world.pending(nic);
    if (pending) throw this.inProgressError(pending.op);
    checkIfMatch(ifMatch, etagHeader(world.etag(nic)));
    const plan = planNicPut(world, nic, body);
    const async = mode === 'async';
    let added: Record<string, string>;
    try {
      added = allocate(world, nic, plan);
    } catch (err) {
      if (!(async && this.opts.asyncAllocationErrors && err instanceof ArmError && err.status === 400)) throw err;
      // Accepted, then reported in the operation result, as the Network RP does for SubnetIsFull.
      const op = this.newOp(nic, 'Failed', 0, { code: err.code, message: err.message });
      return { nic: world.cloud.getInterface(nic.id), operation: op.id };
    }
    const cloud = world.cloud;
    if (!async) {
      for (const v of Object.values(plan.remove)) release(world, nic, v);
      this.deleteIpcTags(nic, Object.keys(plan.remove));
      cloud.createTags([nic.id], { ...ipcTags(added), [TAG.etag]: newEtag(), [TAG.state]: 'Succeeded' });
      this.onChange();
      return { nic: cloud.getInterface(nic.id) };
    }
    const op = this.newOp(nic, 'InProgress', durationMs);
    const rec: PendingOp = { op: op.id, add: Object.keys(added), remove: plan.remove };
    this.deleteIpcTags(nic, Object.keys(plan.remove));
    cloud.createTags([nic.id], {
      ...ipcTags(added),
      [TAG.etag]: newEtag(),
      [TAG.state]: 'Updating',
      [TAG.pending]: JSON.stringify(rec),
    });
    this.onChange();
    return { nic: cloud.getInterface(nic.id), operation: op.id };
  }

  /** GET of an operation's status: counts the poll, and ends the operation when it is due. */
  poll(opId: string): OperationRecord {
    const op = this.store.peek(opId);
    if (!op) throw new ArmError(404, 'NotFound', `Operation ${opId} was not found.`);
    if (op.status === 'InProgress') op.polls++;
    // Its timer may not have fired yet at the due time (a virtual clock set, not run): the store ends it here.
    this.store.settle(opId);
    return op;
  }

  /** Retry-After of an accepted PUT and of an InProgress poll. */
  retryAfterHeader(): Record<string, string> {
    return { 'retry-after': String(this.opts.retryAfterSeconds) };
  }

  operationPath(opId: string, rp: 'Microsoft.Network' | 'Microsoft.Compute' = 'Microsoft.Network'): string {
    const { subscription, location } = this.world.scope;
    return `/subscriptions/${subscription}/providers/${rp}/locations/${location}/operations/${opId}`;
  }

  /** Ends every operation still running (emulator shutdown). */
  drain(): void {
    this.store.flush();
  }

  private newOp(nic: SimInterface, status: OperationRecord['status'], ms: number, error?: OperationRecord['error']) {
    const now = new Date(this.clock.now()).toISOString();
    const ended = error ? { error, endTime: now } : {};
    const op: OperationRecord = { id: randomUUID(), nicSimId: nic.id, status, polls: 0, startTime: now, ...ended };
    if (status === 'InProgress') {
      op.endsAt = this.clock.now() + Math.max(0, ms);
      this.store.schedule(op.id, op, ms);
    } else {
      this.store.record(op.id, op);
      this.onOperationDone?.(op);
    }
    return op;
  }

  /** The outcome: an injected `CompleteOperation` fault fails it, otherwise it succeeds. */
  private end(op: OperationRecord): void {
    if (op.status !== 'InProgress') return;
    let error: { code: string; message: string } | undefined;
    try {
      this.faults.check('CompleteOperation');
    } catch (err) {
      error = CloudError.isCloud(err)
        ? { code: err.cloudCode, message: fromCloudError(err, 0).message }
        : { code: 'InternalServerError', message: String(err) };
    }
    const nic = this.world.cloud.getInterface(op.nicSimId);
    const pending = this.world.pending(nic);
    if (pending?.op === op.id) this.finish(nic, pending, error);
    op.status = error ? 'Failed' : 'Succeeded';
    if (error) op.error = error;
    op.endTime = new Date(this.clock.now()).toISOString();
    this.onOperationDone?.(op);
  }

  /** Applies an operation's outcome to the NIC: commit the removals, or undo the additions. */
  private finish(nic: SimInterface, p: PendingOp, error: { code: string } | undefined): void {
    const cloud = this.world.cloud;
    if (!error) {
      for (const v of Object.values(p.remove)) release(this.world, nic, v);
      cloud.deleteTags([nic.id], [TAG.pending]);
      cloud.createTags([nic.id], { [TAG.etag]: newEtag(), [TAG.state]: 'Succeeded' });
    } else {
      for (const name of p.add) {
        const v = nic.tags[`${TAG.ipcPrefix}${name}`];
        if (v !== undefined) release(this.world, nic, v);
      }
      this.deleteIpcTags(nic, p.add);
      cloud.deleteTags([nic.id], [TAG.pending]);
      cloud.createTags([nic.id], { ...ipcTags(p.remove), [TAG.etag]: newEtag(), [TAG.state]: 'Failed' });
    }
    this.onChange();
  }

  private deleteIpcTags(nic: SimInterface, names: string[]): void {
    if (names.length)
      this.world.cloud.deleteTags(
        [nic.id],
        names.map((n) => `${TAG.ipcPrefix}${n}`),
      );
  }
}
