/**
 * @module gce emulator operations
 * Zone operations (cloud-apis.md §5.3) that take time, as on GCE:
 * `updateNetworkInterface` answers with a PENDING operation at once; it is
 * RUNNING after `pendingMs` and DONE after `durationMs`, on the emulator's
 * clock. The change lands at DONE (until then `instances.get` shows the old
 * ranges), whole or not at all, and lands even if nobody polls: a client
 * that dies mid-operation still sees it land, as on GCE.
 *
 * `zoneOperations.get` answers at once. `zoneOperations.wait` blocks until
 * the operation is DONE or `waitTimeoutMs` has passed, then returns it as
 * it is. The API reference of `zoneOperations.wait` says it "waits for no
 * more than the default deadline (2 minutes) and then returns the current
 * state of the operation, which might be DONE or still in progress", and
 * that when the server is overloaded it "might return after zero seconds":
 * `waitTimeoutMs: 0` is that case, so a client that loops on `wait` without
 * pausing shows up as a hot loop.
 *
 * Google publishes no duration for `updateNetworkInterface`; the default
 * (4 s, a quarter of it PENDING) is an estimate [UNVERIFIED] in the range
 * gcloud users see. The VPC docs only warn that alias changes can be slow
 * ("Adding or removing a large number of alias IP ranges at the same time
 * can take a long time", docs.cloud.google.com/vpc/docs/configure-alias-ip-ranges,
 * Limitations). Pending operations live in memory only; when each is due is
 * the emulator kit's operation store (providers/emulator-kit/), which also
 * keeps `wait` from answering RUNNING for an operation that is due.
 */
import { randomUUID } from 'node:crypto';
import { OperationStore as TimedOperations } from '../../emulator-kit/operation-store.js';
import { EMULATOR_SYSTEM_CLOCK } from '../../emulator-kit/system-clock.js';
import type { SimClock } from '../../sim/index.js';
import { operationErrorOf } from './http.js';

export type OperationStatus = 'PENDING' | 'RUNNING' | 'DONE';

export interface OperationTiming {
  /** Insert to DONE. Default {@link GCE_OPERATION_DEFAULTS}. */
  durationMs?: number;
  /** Insert to RUNNING (queued before that). Default a quarter of `durationMs`. */
  pendingMs?: number;
  /** The longest `zoneOperations.wait` blocks; GCE: 2 minutes. */
  waitTimeoutMs?: number;
}

export const GCE_OPERATION_DEFAULTS = { durationMs: 4_000, waitTimeoutMs: 120_000 } as const;

/**
 * The wall clock, for an emulator given none. Its timers are unref'd: a
 * pending operation must not keep a process alive (close() lands it).
 */
export const WALL_CLOCK: SimClock = EMULATOR_SYSTEM_CLOCK;

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
  requestId?: string;
  apply: () => void;
  /** Clock times at which it turns RUNNING and DONE. */
  runningAt: number;
  doneAt: number;
}

type Init = Pick<
  ZoneOperation,
  'zone' | 'operationType' | 'targetLink' | 'targetId' | 'targetKey' | 'requestId' | 'apply'
>;

const KEEP_DONE = 1000;
const iso = (ms: number) => new Date(ms).toISOString();

/** GCE's zone operations over the emulator kit's store, which decides when each is DONE (on the clock). */
export class OperationStore {
  private readonly timed: TimedOperations<ZoneOperation>;
  private readonly byRequestId = new Map<string, string>();
  private seq = 0;
  private readonly durationMs: number;
  private readonly pendingMs: number;
  readonly waitTimeoutMs: number;

  constructor(
    timing: OperationTiming = {},
    private readonly clock: SimClock = WALL_CLOCK,
    /** Runs after each completion, success or failure (the server persists the cloud there). */
    private readonly onComplete: (op: ZoneOperation) => void = () => {},
  ) {
    this.durationMs = Math.max(0, timing.durationMs ?? GCE_OPERATION_DEFAULTS.durationMs);
    this.pendingMs = Math.min(this.durationMs, Math.max(0, timing.pendingMs ?? this.durationMs / 4));
    this.waitTimeoutMs = Math.max(0, timing.waitTimeoutMs ?? GCE_OPERATION_DEFAULTS.waitTimeoutMs);
    this.timed = new TimedOperations<ZoneOperation>({
      clock,
      complete: (op) => this.complete(op),
      keep: KEEP_DONE,
      forget: (op) => op.requestId && this.byRequestId.delete(op.requestId),
    });
  }

  /** A new PENDING operation that will run `apply` when it completes; an exception from `apply` becomes its error. */
  start(init: Init): ZoneOperation {
    const now = this.clock.now();
    const op: ZoneOperation = {
      ...init,
      id: (7n * 10n ** 17n + BigInt(++this.seq)).toString(),
      name: `operation-${now}-${randomUUID().slice(0, 13)}`,
      status: 'PENDING',
      insertTime: iso(now),
      runningAt: now + this.pendingMs,
      doneAt: now + this.durationMs,
    };
    if (op.requestId) this.byRequestId.set(op.requestId, op.name);
    // Lands on time even if nobody asks; a request arriving later settles it first anyway.
    this.timed.schedule(op.name, op, this.durationMs);
    return op;
  }

  get(name: string): ZoneOperation | undefined {
    const op = this.timed.get(name);
    if (op) this.markRunning(op);
    return op;
  }

  /** The operation an earlier request with this `requestId` started (GCE's idempotent retries). */
  byRequest(requestId: string): ZoneOperation | undefined {
    const name = this.byRequestId.get(requestId);
    return name ? this.get(name) : undefined;
  }

  /** An unfinished operation on the same target, if any. */
  pendingFor(targetKey: string): ZoneOperation | undefined {
    this.settle();
    return this.timed.values().find((op) => op.targetKey === targetKey && op.status !== 'DONE');
  }

  /** `zoneOperations.wait`: until DONE or `waitTimeoutMs`, whichever comes first; then the operation as it is. */
  async wait(op: ZoneOperation): Promise<ZoneOperation> {
    await this.timed.wait(op.name, this.waitTimeoutMs);
    this.markRunning(op);
    return op;
  }

  /** Brings every operation up to the clock (the server calls it before serving a request). */
  settle(): void {
    this.timed.settleAll();
    for (const op of this.timed.values()) this.markRunning(op);
  }

  /** Completes every pending operation now (server shutdown): their changes land and are saved. */
  flush(): void {
    this.timed.flush();
  }

  /** PENDING turns RUNNING at `runningAt` (a DONE one is left alone). */
  private markRunning(op: ZoneOperation): void {
    const now = this.clock.now();
    if (op.status === 'PENDING' && now >= op.runningAt) this.run(op, now);
  }

  private run(op: ZoneOperation, now: number): void {
    if (op.status !== 'PENDING') return;
    op.status = 'RUNNING';
    op.startTime = iso(now);
  }

  private complete(op: ZoneOperation): void {
    if (op.status === 'DONE') return;
    const now = this.clock.now();
    this.run(op, now);
    try {
      op.apply();
    } catch (err) {
      op.error = operationErrorOf(err);
    }
    op.status = 'DONE';
    op.endTime = iso(now);
    this.onComplete(op);
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
