/**
 * @module gce emulator operations
 * Zone operations (cloud-apis.md §5.3): `updateNetworkInterface` answers
 * with a PENDING operation at once and the change lands when the operation
 * completes, as on GCE, where `instances.get` shows the old ranges until
 * then. Completion runs the sim action atomically: DONE either with the
 * change made, or with `error.errors[0].code` and nothing changed.
 *
 * An operation completes after `polls` calls of `zoneOperations.get`/`wait`
 * on it (a poll stands for time passing; the real `wait` blocks until DONE
 * or about two minutes), or `completeAfterMs` of wall time if nobody polls,
 * so a client that dies mid-operation still sees it land, as on GCE.
 * Pending operations live in memory only.
 */
import { randomUUID } from 'node:crypto';
import { operationErrorOf } from './http.js';

export type OperationStatus = 'PENDING' | 'RUNNING' | 'DONE';

export interface OperationTiming {
  /** Polls (get or wait) until DONE; 1 = the first wait returns DONE. Default 1. */
  polls?: number;
  /** Wall-clock completion for operations nobody polls. Default 1000 ms. */
  completeAfterMs?: number;
}

export interface ZoneOperation {
  id: string;
  name: string;
  zone: string;
  operationType: string;
  targetLink: string;
  targetId: string;
  /** What the operation changes (the sim instance id), so a second change can be refused while it runs. */
  targetKey: string;
  status: OperationStatus;
  insertTime: string;
  startTime?: string;
  endTime?: string;
  error?: { code: string; message: string; httpStatus: number };
  pollsLeft: number;
  requestId?: string;
  apply: () => void;
  timer?: NodeJS.Timeout;
}

const KEEP_DONE = 1000;

export class OperationStore {
  private readonly ops = new Map<string, ZoneOperation>();
  private readonly byRequestId = new Map<string, string>();
  private seq = 0;
  private readonly polls: number;
  private readonly completeAfterMs: number;

  constructor(
    timing: OperationTiming = {},
    /** Runs after each completion, success or failure (the server persists the cloud there). */
    private readonly onComplete: (op: ZoneOperation) => void = () => {},
  ) {
    this.polls = Math.max(1, timing.polls ?? 1);
    this.completeAfterMs = timing.completeAfterMs ?? 1000;
  }

  /** A new operation that will run `apply` when it completes; an exception from `apply` becomes its error. */
  start(init: Pick<ZoneOperation, 'zone' | 'operationType' | 'targetLink' | 'targetId' | 'targetKey' | 'requestId' | 'apply'>): ZoneOperation {
    const now = new Date();
    const op: ZoneOperation = {
      ...init,
      id: (7n * 10n ** 17n + BigInt(++this.seq)).toString(),
      name: `operation-${now.getTime()}-${randomUUID().slice(0, 13)}`,
      status: 'PENDING',
      insertTime: now.toISOString(),
      pollsLeft: this.polls,
    };
    this.ops.set(op.name, op);
    if (op.requestId) this.byRequestId.set(op.requestId, op.name);
    op.timer = setTimeout(() => this.complete(op), this.completeAfterMs);
    op.timer.unref();
    this.trim();
    return op;
  }

  get(name: string): ZoneOperation | undefined {
    return this.ops.get(name);
  }

  /** The operation an earlier request with this `requestId` started (GCE's idempotent retries). */
  byRequest(requestId: string): ZoneOperation | undefined {
    const name = this.byRequestId.get(requestId);
    return name ? this.ops.get(name) : undefined;
  }

  /** An unfinished operation on the same target, if any. */
  pendingFor(targetKey: string): ZoneOperation | undefined {
    for (const op of this.ops.values()) if (op.targetKey === targetKey && op.status !== 'DONE') return op;
    return undefined;
  }

  /** One poll: counts toward completion and returns the operation as it now is. */
  poll(op: ZoneOperation): ZoneOperation {
    if (op.status === 'DONE') return op;
    op.pollsLeft -= 1;
    if (op.pollsLeft <= 0) this.complete(op);
    else if (op.status === 'PENDING') {
      op.status = 'RUNNING';
      op.startTime = new Date().toISOString();
    }
    return op;
  }

  /** Completes every pending operation now (server shutdown). */
  flush(): void {
    for (const op of this.ops.values()) this.complete(op);
  }

  private complete(op: ZoneOperation): void {
    if (op.status === 'DONE') return;
    if (op.timer) clearTimeout(op.timer);
    op.startTime ??= new Date().toISOString();
    try {
      op.apply();
    } catch (err) {
      op.error = operationErrorOf(err);
    }
    op.status = 'DONE';
    op.endTime = new Date().toISOString();
    this.onComplete(op);
  }

  private trim(): void {
    if (this.ops.size <= KEEP_DONE) return;
    for (const [name, op] of this.ops) {
      if (this.ops.size <= KEEP_DONE) break;
      if (op.status !== 'DONE') continue;
      this.ops.delete(name);
      if (op.requestId) this.byRequestId.delete(op.requestId);
    }
  }
}

/** The operation as GCE returns it from updateNetworkInterface, get and wait. */
export function operationJson(op: ZoneOperation, selfBase: string): Record<string, unknown> {
  return {
    kind: 'compute#operation',
    id: op.id,
    name: op.name,
    zone: selfBase,
    operationType: op.operationType,
    targetLink: op.targetLink,
    targetId: op.targetId,
    status: op.status,
    progress: op.status === 'DONE' ? 100 : 0,
    user: 'vpc-ipam@emulator.iam.gserviceaccount.com',
    insertTime: op.insertTime,
    ...(op.startTime ? { startTime: op.startTime } : {}),
    ...(op.endTime ? { endTime: op.endTime } : {}),
    ...(op.error
      ? {
          error: { errors: [{ code: op.error.code, message: op.error.message }] },
          httpErrorStatusCode: op.error.httpStatus,
          httpErrorMessage: op.error.httpStatus === 400 ? 'BAD REQUEST' : 'ERROR',
        }
      : {}),
    selfLink: `${selfBase}/operations/${op.name}`,
  };
}
