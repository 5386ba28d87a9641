/**
 * @module allocator
 * The ADD/DEL path. An assignment is persisted before it is answered (and
 * rolled back if the checkpoint cannot be written). A miss does not fail at
 * once: when the pool can still grow, or a cooling address will soon be free,
 * the ADD waits (bounded) for the growth it triggered, instead of making the
 * kubelet retry the whole sandbox.
 */
import type { AttachmentKey, PodRef } from './api/protocol.js';
import { PoolExhaustedError } from '../providers/errors.js';
import type { Checkpointer } from './datastore/checkpoint.js';
import { CHECKPOINT_VERSION } from './datastore/checkpoint.js';
import type { Datastore } from './datastore/datastore.js';
import type { Assignment } from './datastore/types.js';
import type { Clock } from './util/clock.js';

export interface GrowthState {
  /** False when the pool cannot get more addresses now; `reason` says why. */
  canGrow: boolean;
  reason?: string;
}

export interface AllocatorOptions {
  datastore: Datastore;
  checkpointer: Checkpointer;
  clock: Clock;
  addWaitMs: number;
  /** Wake the pool reconciler: demand appeared or capacity was freed. */
  trigger: () => void;
  growth: () => GrowthState;
  onAdd?: (now: number) => void;
  onDel?: (now: number) => void;
  /** Called with how long an ADD waited for an address (ms) and whether it had to wait. */
  onAddLatency?: (ms: number, waited: boolean) => void;
}

export interface AddOutcome {
  assignment: Assignment;
  existing: boolean;
  waitedMs: number;
}

export class Allocator {
  private waitingCount = 0;
  private readonly wakers = new Set<() => void>();

  constructor(private readonly o: AllocatorOptions) {}

  /** ADDs currently waiting for an address. */
  get waiting(): number {
    return this.waitingCount;
  }

  /** The pool changed (grew, or growth got blocked): waiting ADDs look again. */
  notify(): void {
    for (const wake of [...this.wakers]) wake();
  }

  async add(key: AttachmentKey, pod: PodRef, waitMs = this.o.addWaitMs): Promise<AddOutcome> {
    const { clock, datastore } = this.o;
    const started = clock.now();
    const deadline = started + Math.min(waitMs, this.o.addWaitMs);
    this.o.onAdd?.(started);
    let waited = false;
    try {
      for (;;) {
        const got = datastore.assign(key, pod, clock.now());
        if (got) {
          if (!got.existing) await this.persistOrUndo(() => datastore.unassign(key));
          const waitedMs = clock.now() - started;
          this.o.onAddLatency?.(waitedMs, waited);
          this.o.trigger(); // planning is cheap and pure; the planner decides whether anything is due
          return { assignment: got.assignment, existing: got.existing, waitedMs };
        }
        const now = clock.now();
        const snap = datastore.snapshot(now);
        const growth = this.o.growth();
        const coolingSoon = snap.nextCoolingExpiry !== undefined && snap.nextCoolingExpiry <= deadline;
        if ((!growth.canGrow && !coolingSoon) || now >= deadline) {
          const why = !growth.canGrow ? growth.reason : `no address became free within ${deadline - started} ms`;
          throw new PoolExhaustedError(
            `no free address: ${snap.assigned} assigned, ${snap.cooling} cooling of ${snap.total}; ${why}`,
            why,
          );
        }
        if (!waited) {
          waited = true;
          this.waitingCount++;
        }
        this.o.trigger();
        const until = coolingSoon ? Math.min(deadline, snap.nextCoolingExpiry!) : deadline;
        await this.waitForChange(until - now);
      }
    } finally {
      if (waited) this.waitingCount--;
    }
  }

  /** Releases `key` (into cooldown). Unknown keys are a successful no-op: DEL is idempotent. */
  async del(key: AttachmentKey): Promise<Assignment | undefined> {
    const { clock, datastore } = this.o;
    const a = datastore.release(key, clock.now());
    if (!a) return undefined;
    await this.persistOrUndo(() => datastore.restoreAssignment(a));
    this.o.onDel?.(clock.now());
    this.o.trigger();
    return a;
  }

  /** Releases every attachment of `network` that is not in `valid` (CNI GC). Returns how many. */
  async gc(network: string, valid: Array<{ containerId: string; ifName: string }>): Promise<Assignment[]> {
    const keep = new Set(valid.map((v) => `${v.containerId}\u0000${v.ifName}`));
    const stale = this.o.datastore.list().filter((a) => a.network === network && !keep.has(`${a.containerId}\u0000${a.ifName}`));
    const released: Assignment[] = [];
    for (const a of stale) if (await this.del(a)) released.push(a);
    return released;
  }

  /** Writes the current state (used after restore and on shutdown). */
  persist(): Promise<void> {
    const { datastore, clock } = this.o;
    return this.o.checkpointer.save(() => ({
      version: CHECKPOINT_VERSION,
      assignments: datastore.list(),
      cooling: datastore.coolingEntries(clock.now()),
    }));
  }

  private async persistOrUndo(undo: () => void): Promise<void> {
    try {
      await this.persist();
    } catch (err) {
      undo();
      throw err;
    }
  }

  private waitForChange(ms: number): Promise<void> {
    const ac = new AbortController();
    const wake = () => ac.abort();
    this.wakers.add(wake);
    return this.o.clock
      .sleep(Math.max(0, ms), ac.signal)
      .catch(() => {})
      .finally(() => this.wakers.delete(wake));
  }
}
