/**
 * @module allocator
 * The ADD/DEL path. An assignment is persisted before it is answered (and
 * rolled back if the checkpoint cannot be written); the Pod's wiring runs
 * beside that write ({@link AlongsideWork}), and so may a DEL's teardown. A miss does not fail at
 * once: when the pool can still grow, or a cooling address will soon be free,
 * the ADD waits (bounded) for the growth it triggered, instead of making the
 * kubelet retry the whole sandbox.
 *
 * Callers serialise requests per attachment (api/handler.ts), so the key an
 * ADD or DEL works on does not change under it; other keys do. A rollback
 * that would collide with another attachment's change is therefore refused:
 * memory then stays ahead of the disk in the safe direction (released, not
 * restored), and the next write, or a repeated DEL, makes that durable.
 */
import type { AttachmentKey, PodRef } from '../cni/contract/protocol.js';
import { CheckpointError, PoolExhaustedError } from '../providers/errors.js';
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
  log?: { warn(o: object, m?: string): void };
}

export interface AddOutcome<R = undefined> {
  assignment: Assignment;
  existing: boolean;
  waitedMs: number;
  /** What `alongside.run` returned (a fresh assignment only). */
  alongside?: R;
  /** How long the checkpoint write took (a fresh assignment only). */
  durableMs?: number;
}

/**
 * Work an ADD does for a fresh assignment at the same time as its checkpoint write (the Pod's wiring), so the
 * answer waits for the slower of the two, not their sum. Either failing fails the ADD and undoes both: the work
 * by `undo`, before the address is given back, so it is never handed out while still wired.
 */
export interface AlongsideWork<R> {
  run(a: Assignment): Promise<R>;
  undo(a: Assignment, result: R): Promise<void>;
}

export class Allocator {
  private waitingCount = 0;
  private readonly wakers = new Set<() => void>();
  /** Rollbacks refused so far, and how many of them a successful write has since covered. */
  private refusedRollbacks = 0;
  private durableRollbacks = 0;

  constructor(private readonly o: AllocatorOptions) {}

  /** ADDs currently waiting for an address. */
  get waiting(): number {
    return this.waitingCount;
  }

  /** The pool changed (grew, or growth got blocked): waiting ADDs look again. */
  notify(): void {
    for (const wake of [...this.wakers]) wake();
  }

  /**
   * Assigns an address to `key` (or returns the one it holds), persisted before it resolves.
   * When none is free it waits, bounded, unless `cancel` fires: a DEL for the same attachment
   * arrived, and the runtime no longer wants this address.
   */
  async add<R = undefined>(
    key: AttachmentKey,
    pod: PodRef,
    waitMs = this.o.addWaitMs,
    cancel?: AbortSignal,
    alongside?: AlongsideWork<R>,
  ): Promise<AddOutcome<R>> {
    const { clock, datastore } = this.o;
    const started = clock.now();
    const deadline = started + Math.min(waitMs, this.o.addWaitMs);
    this.o.onAdd?.(started);
    let waited = false;
    try {
      for (;;) {
        const got = datastore.assign(key, pod, clock.now());
        if (got) {
          const mine = got.assignment;
          const side = got.existing ? undefined : await this.persistAlongside(key, mine, alongside);
          const waitedMs = clock.now() - started;
          this.o.onAddLatency?.(waitedMs, waited);
          this.o.trigger(); // planning is cheap and pure; the planner decides whether anything is due
          return { assignment: got.assignment, existing: got.existing, waitedMs, ...side };
        }
        const now = clock.now();
        const snap = datastore.snapshot(now);
        const growth = this.o.growth();
        const coolingSoon = snap.nextCoolingExpiry !== undefined && snap.nextCoolingExpiry <= deadline;
        if ((!growth.canGrow && !coolingSoon) || now >= deadline || cancel?.aborted) {
          const why = cancel?.aborted
            ? 'not waiting: a DEL for this attachment arrived'
            : !growth.canGrow
              ? growth.reason
              : `no address became free within ${deadline - started} ms`;
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
        await this.waitForChange(until - now, cancel);
      }
    } finally {
      if (waited) this.waitingCount--;
    }
  }

  /**
   * Releases `key` (into cooldown). Unknown keys are a successful no-op (DEL is idempotent), but
   * after a refused rollback memory is ahead of the disk: then the no-op writes first, so its
   * acknowledgement, too, means "on disk".
   */
  async del(
    key: AttachmentKey,
    timing?: { durableMs?: number },
    alongside?: () => Promise<void>,
  ): Promise<Assignment | undefined> {
    const { clock, datastore } = this.o;
    const a = datastore.release(key, clock.now());
    const t0 = performance.now();
    const durable = () => {
      if (timing) timing.durableMs = performance.now() - t0;
    };
    if (!a) {
      if (this.refusedRollbacks > this.durableRollbacks) await this.persist();
      durable();
      await alongside?.();
      return undefined;
    }
    const undo = () => {
      const holder = datastore.restoreAssignment(a);
      return holder && `${a.ip} is now held by ${who(holder)}, so ${who(a)} stays released`;
    };
    if (!alongside) {
      await this.persistOrUndo(undo);
      durable();
    } else {
      // The caller's teardown beside the write; the address is cooling meanwhile, so nobody gets it yet.
      const persisted = this.persistOrUndo(undo).then(durable, (err: unknown) => ({ err }));
      const side = alongside().then(
        () => undefined,
        (err: unknown) => ({ err }),
      );
      const [p, w] = await Promise.all([persisted, side]);
      if (p) throw p.err;
      if (w) {
        // Not unwired, so not released: put it back, durably, for the runtime's retried DEL.
        if (datastore.restoreAssignment(a) === undefined) await this.persist().catch(() => {});
        throw w.err;
      }
    }
    this.o.onDel?.(clock.now());
    this.o.trigger();
    return a;
  }

  /** The attachments of `network` that are not in `valid` (CNI GC); the caller releases each like a DEL. */
  stale(network: string, valid: Array<{ containerId: string; ifName: string }>): Assignment[] {
    const keep = new Set(valid.map((v) => `${v.containerId}\u0000${v.ifName}`));
    const kept = (a: Assignment) => keep.has(`${a.containerId}\u0000${a.ifName}`);
    return this.o.datastore.list().filter((a) => a.network === network && !kept(a));
  }

  /** Writes the current state (used after restore and on shutdown). */
  async persist(): Promise<void> {
    const { datastore, clock } = this.o;
    let covered: number | undefined;
    await this.o.checkpointer.save(() => {
      // Group commit calls only the latest reader; what it read is what became durable.
      covered = this.refusedRollbacks;
      const cooling = datastore.coolingEntries(clock.now());
      return { version: CHECKPOINT_VERSION, assignments: datastore.list(), cooling };
    });
    if (covered !== undefined && covered > this.durableRollbacks) this.durableRollbacks = covered;
  }

  /** A fresh assignment: its checkpoint write and `alongside` concurrently; either failing undoes both. */
  private async persistAlongside<R>(
    key: AttachmentKey,
    mine: Assignment,
    alongside?: AlongsideWork<R>,
  ): Promise<{ alongside?: R; durableMs: number }> {
    // Wall time for the phase metric (sub-ms), not the injected clock, which drives pool decisions only.
    const t0 = performance.now();
    let durableMs = 0;
    const persisted = this.persist().then(
      () => {
        durableMs = performance.now() - t0;
        return undefined;
      },
      (err: unknown) => ({ err }),
    );
    const side = alongside?.run(mine).then(
      (value) => ({ value }),
      (err: unknown) => ({ err }),
    );
    const [p, w] = await Promise.all([persisted, side]);
    if (p) {
      // Not durable: unwire first (the address must not be free while a veth routes it), then take it back.
      if (w && 'value' in w) await alongside!.undo(mine, w.value).catch(() => {});
      await this.persistOrUndo(
        () => (this.o.datastore.unassign(key, mine) ? undefined : `${who(mine)} no longer holds ${mine.ip}`),
        Promise.reject(p.err),
      );
    }
    if (w && 'err' in w) {
      // Durable but not wired (setUp undid its own steps): release it like the DEL the runtime will send.
      await this.del(key).catch(() => {});
      throw w.err;
    }
    return { ...(w ? { alongside: w.value } : {}), durableMs };
  }

  /** Persists; if that fails, runs `undo`, which returns why it refused to roll back (or undefined). */
  private async persistOrUndo(undo: () => string | undefined, write = this.persist()): Promise<void> {
    try {
      await write;
    } catch (err) {
      const refused = undo();
      if (refused === undefined) throw err;
      this.refusedRollbacks++;
      const msg = `${(err as Error).message}; rollback refused: ${refused}`;
      this.o.log?.warn({ err, refused }, 'checkpoint write failed; rollback refused, it would collide');
      throw new CheckpointError(msg, { cause: err });
    }
  }

  private waitForChange(ms: number, cancel?: AbortSignal): Promise<void> {
    const ac = new AbortController();
    const wake = () => ac.abort();
    this.wakers.add(wake);
    cancel?.addEventListener('abort', wake, { once: true });
    return this.o.clock
      .sleep(Math.max(0, ms), ac.signal)
      .catch(() => {})
      .finally(() => {
        this.wakers.delete(wake);
        cancel?.removeEventListener('abort', wake);
      });
  }
}

function who(a: AttachmentKey): string {
  return `${a.containerId}/${a.ifName} (${a.network})`;
}
