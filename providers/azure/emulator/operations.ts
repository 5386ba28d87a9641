/**
 * @module azure emulator operations
 * NIC writes and their long-running operations, as the Network RP does them
 * and `@azure/core-lro` polls them (cloud-apis.md §4.4):
 *
 * - `sync` mode: the PUT answers 200 with `provisioningState: Succeeded` and
 *   no operation header; the SDK does not poll.
 * - `async` mode: the PUT answers 200 with `provisioningState: Updating` and
 *   an absolute `Azure-AsyncOperation` URL; the new ipConfigurations show
 *   `Updating` until the operation ends. Polls answer `InProgress` until the
 *   operation has been polled `pollsBeforeDone` times (or `maxOperationMs`
 *   has passed, so an abandoned operation still ends), then `Succeeded` or
 *   `Failed` with `{error:{code,message}}`.
 *
 * Addresses are taken when the PUT is accepted and ipConfigurations removed
 * by it keep theirs until it succeeds, so nobody else can take them meanwhile.
 * A failed operation gives back what it took and restores what it removed:
 * nothing is half-done. While an operation runs, another PUT on the NIC gets
 * 409 `AnotherOperationInProgress`; an `If-Match` that is not the NIC's etag
 * gets 412 `PreconditionFailed`.
 *
 * Fault injection goes through the FaultInjector: action `PutNetworkInterface`
 * fails the PUT itself, action `CompleteOperation` makes the operation fail
 * with the injected error's code and message.
 */
import { randomUUID } from 'node:crypto';
import { CloudError } from '../../errors.js';
import type { FaultInjector, SimInterface } from '../../sim/index.js';
import { ArmError, fromCloudError } from './arm-error.js';
import { TAG, type AzureWorld, type PendingOp } from './azure-world.js';
import { allocate, ipcTags, planNicPut, release } from './nic-put.js';

export type LroMode = 'sync' | 'async';

export interface OperationOptions {
  mode: LroMode;
  /** Polls answered `InProgress` before the outcome (async mode). Default 1. */
  pollsBeforeDone: number;
  /** An operation nobody polls ends by itself after this long. Default 2000 ms. */
  maxOperationMs: number;
  /** Async mode: report allocation failures (SubnetIsFull) in the operation result instead of a 400. */
  asyncAllocationErrors: boolean;
}

export interface OperationRecord {
  id: string;
  nicSimId: string;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  polls: number;
  error?: { code: string; message: string };
  startTime: string;
  endTime?: string;
  timer?: NodeJS.Timeout;
}

export interface PutResult {
  nic: SimInterface;
  /** Operation id in async mode. */
  operation?: string;
}

export class NicOperations {
  readonly ops = new Map<string, OperationRecord>();
  /** Runs after an operation ends, with its record (tests check the cloud there). */
  onOperationDone: ((op: OperationRecord) => void) | undefined;

  constructor(
    private readonly world: AzureWorld,
    private readonly faults: FaultInjector,
    readonly opts: OperationOptions,
    private readonly onChange: () => void,
  ) {
    // An operation can only be in progress in this process: finish any a saved cloud still shows.
    for (const nic of world.nics()) if (world.pending(nic)) this.finish(nic, world.pending(nic)!, undefined);
  }

  /** PUT networkInterfaces/{nic}: validate, check etag and in-progress operations, allocate, answer. */
  put(nic: SimInterface, body: unknown, ifMatch: string | undefined, mode: LroMode = this.opts.mode): PutResult {
    const world = this.world;
    const pending = world.pending(nic);
    if (pending) {
      throw new ArmError(
        409,
        'AnotherOperationInProgress',
        `Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: ${this.operationPath(pending.op)}.`,
      );
    }
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== etagHeader(world.etag(nic))) {
      throw new ArmError(412, 'PreconditionFailed', `The specified precondition ${ifMatch} failed: the network interface's etag is ${etagHeader(world.etag(nic))}.`);
    }
    const plan = planNicPut(world, nic, body);
    const async = mode === 'async';
    let added: Record<string, string>;
    try {
      added = allocate(world, nic, plan);
    } catch (err) {
      if (!(async && this.opts.asyncAllocationErrors && err instanceof ArmError && err.status === 400)) throw err;
      // Accepted, then reported in the operation result, as the Network RP does for SubnetIsFull.
      const op = this.newOp(nic, 'Failed', { code: err.code, message: err.message });
      return { nic: world.cloud.getInterface(nic.id), operation: op.id };
    }
    const cloud = world.cloud;
    const etag = String(world.etag(nic) + 1);
    if (!async) {
      for (const v of Object.values(plan.remove)) release(world, nic, v);
      this.deleteIpcTags(nic, Object.keys(plan.remove));
      cloud.createTags([nic.id], { ...ipcTags(added), [TAG.etag]: etag, [TAG.state]: 'Succeeded' });
      this.onChange();
      return { nic: cloud.getInterface(nic.id) };
    }
    const op = this.newOp(nic, 'InProgress');
    const rec: PendingOp = { op: op.id, add: Object.keys(added), remove: plan.remove };
    this.deleteIpcTags(nic, Object.keys(plan.remove));
    cloud.createTags([nic.id], { ...ipcTags(added), [TAG.etag]: etag, [TAG.state]: 'Updating', [TAG.pending]: JSON.stringify(rec) });
    this.onChange();
    return { nic: cloud.getInterface(nic.id), operation: op.id };
  }

  /** GET of an operation's status: counts the poll, and ends the operation when due. */
  poll(opId: string): OperationRecord {
    const op = this.ops.get(opId);
    if (!op) throw new ArmError(404, 'NotFound', `Operation ${opId} was not found.`);
    if (op.status === 'InProgress') {
      op.polls++;
      if (op.polls > this.opts.pollsBeforeDone) this.end(op);
    }
    return op;
  }

  operationPath(opId: string, rp: 'Microsoft.Network' | 'Microsoft.Compute' = 'Microsoft.Network'): string {
    return `/subscriptions/${this.world.scope.subscription}/providers/${rp}/locations/${this.world.scope.location}/operations/${opId}`;
  }

  /** Ends every operation still running (emulator shutdown). */
  drain(): void {
    for (const op of this.ops.values()) if (op.status === 'InProgress') this.end(op);
  }

  private newOp(nic: SimInterface, status: OperationRecord['status'], error?: { code: string; message: string }): OperationRecord {
    const now = new Date().toISOString();
    const op: OperationRecord = { id: randomUUID(), nicSimId: nic.id, status, polls: 0, startTime: now, ...(error ? { error, endTime: now } : {}) };
    this.ops.set(op.id, op);
    if (status === 'InProgress') {
      op.timer = setTimeout(() => this.end(op), this.opts.maxOperationMs);
      op.timer.unref();
    } else {
      this.onOperationDone?.(op);
    }
    // Finished operations are kept for late polls, but not forever.
    if (this.ops.size > 10_000) this.ops.delete(this.ops.keys().next().value!);
    return op;
  }

  /** The outcome: an injected `CompleteOperation` fault fails it, otherwise it succeeds. */
  private end(op: OperationRecord): void {
    if (op.status !== 'InProgress') return;
    clearTimeout(op.timer);
    let error: { code: string; message: string } | undefined;
    try {
      this.faults.check('CompleteOperation');
    } catch (err) {
      error = CloudError.isCloud(err) ? { code: err.cloudCode, message: fromCloudError(err, 0).message } : { code: 'InternalServerError', message: String(err) };
    }
    const nic = this.world.cloud.getInterface(op.nicSimId);
    const pending = this.world.pending(nic);
    if (pending?.op === op.id) this.finish(nic, pending, error);
    op.status = error ? 'Failed' : 'Succeeded';
    if (error) op.error = error;
    op.endTime = new Date().toISOString();
    this.onOperationDone?.(op);
  }

  /** Applies an operation's outcome to the NIC: commit the removals, or undo the additions. */
  private finish(nic: SimInterface, p: PendingOp, error: { code: string } | undefined): void {
    const cloud = this.world.cloud;
    const etag = String(this.world.etag(nic) + 1);
    if (!error) {
      for (const v of Object.values(p.remove)) release(this.world, nic, v);
      cloud.deleteTags([nic.id], [TAG.pending]);
      cloud.createTags([nic.id], { [TAG.etag]: etag, [TAG.state]: 'Succeeded' });
    } else {
      for (const name of p.add) {
        const v = nic.tags[`${TAG.ipcPrefix}${name}`];
        if (v !== undefined) release(this.world, nic, v);
      }
      this.deleteIpcTags(nic, p.add);
      cloud.deleteTags([nic.id], [TAG.pending]);
      cloud.createTags([nic.id], { ...ipcTags(p.remove), [TAG.etag]: etag, [TAG.state]: 'Failed' });
    }
    this.onChange();
  }

  private deleteIpcTags(nic: SimInterface, names: string[]): void {
    if (names.length) this.world.cloud.deleteTags([nic.id], names.map((n) => `${TAG.ipcPrefix}${n}`));
  }
}

export function etagHeader(n: number): string {
  return `W/"${n}"`;
}
