/**
 * @module emulator operation store
 * The long-running operations of an emulated cloud (Azure's LROs, GCE's zone operations): each is pending until
 * a time on the emulator's clock, then done. It lands at that time even if nobody polls (a client that died
 * mid-operation still sees its change, as on the real cloud), and any read at or after that time sees it done
 * whatever the timers did, because the store settles an operation from the clock on every look.
 *
 * `wait` is the long poll (GCE's `zoneOperations.wait`): it returns when the operation is done or after at most
 * `maxMs`. A wait that slept until the due time completes the operation itself, so it never answers "still
 * running" for an operation that is due; that happened when a system timer fired a millisecond before `doneAt`
 * by the wall clock (Node's timers do not follow Date.now()), and made a test flaky under load.
 *
 * What "done" means (apply the change, record an error, stamp an end time) is the emulator's `complete`; the
 * store only decides when, on the injected clock, so a test on a virtual clock ends an operation when it says.
 */
import type { Clock } from '../clock.js';
import { EMULATOR_SYSTEM_CLOCK } from './system-clock.js';

export interface OperationStoreOptions<T> {
  /** Default: the system clock, with timers that do not keep the process alive. */
  clock?: Clock;
  /** Makes `op` done; runs once per operation, at its due time or earlier (`complete`, `flush`). */
  complete(op: T): void;
  /** Finished operations kept for late polls (default 1000); the oldest finished ones are forgotten first. */
  keep?: number;
  /** Runs when a finished operation is forgotten (drop what was indexed by it). */
  forget?(op: T): void;
}

interface Entry<T> {
  op: T;
  /** Clock ms at which it is due; undefined once it is done. */
  doneAt: number | undefined;
  stop: AbortController;
  done: Promise<void>;
  resolve: () => void;
}

export class OperationStore<T> {
  readonly clock: Clock;
  private readonly entries = new Map<string, Entry<T>>();
  private readonly keep: number;

  constructor(private readonly o: OperationStoreOptions<T>) {
    this.clock = o.clock ?? EMULATOR_SYSTEM_CLOCK;
    this.keep = o.keep ?? 1000;
  }

  /** Adds `op`, due `durationMs` from now on the clock; its own timer lands it then. */
  schedule(id: string, op: T, durationMs: number): void {
    const entry = this.add(id, op, this.clock.now() + Math.max(0, durationMs));
    this.clock.sleep(Math.max(0, durationMs), entry.stop.signal).then(
      () => this.finish(entry),
      () => undefined,
    );
  }

  /** Adds an operation that is done already (refused once accepted): kept for polls, never completed. */
  record(id: string, op: T): void {
    const entry = this.add(id, op, undefined);
    entry.resolve();
  }

  /** The operation, settled from the clock first. */
  get(id: string): T | undefined {
    const entry = this.entries.get(id);
    if (entry) this.settleEntry(entry);
    return entry?.op;
  }

  /** The operation as it stands, not settled (to count a poll before the poll ends it). */
  peek(id: string): T | undefined {
    return this.entries.get(id)?.op;
  }

  /** Completes `id` if it is due by the clock. */
  settle(id: string): void {
    const entry = this.entries.get(id);
    if (entry) this.settleEntry(entry);
  }

  /** Every operation kept, oldest first (not settled: call {@link settleAll} first for an up-to-date view). */
  values(): T[] {
    return [...this.entries.values()].map((e) => e.op);
  }

  /** Clock ms at which `id` is due, or undefined when it is done (or unknown). */
  dueAt(id: string): number | undefined {
    return this.entries.get(id)?.doneAt;
  }

  /** Whether `id` is still pending after settling it from the clock. */
  isPending(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    this.settleEntry(entry);
    return entry.doneAt !== undefined;
  }

  /** Completes every operation that is due by the clock (an emulator calls it before serving a request). */
  settleAll(): void {
    for (const entry of this.entries.values()) this.settleEntry(entry);
  }

  /** Completes `id` now, due or not (Azure's poll at the due time, a test's fault). No-op when done. */
  complete(id: string): void {
    const entry = this.entries.get(id);
    if (entry) this.finish(entry);
  }

  /** Completes every pending operation now (emulator shutdown): their changes land and can be saved. */
  flush(): void {
    for (const entry of [...this.entries.values()]) this.finish(entry);
  }

  /** Resolves once `id` is done, or after `maxMs` on the clock, whichever comes first (see the module comment). */
  async wait(id: string, maxMs: number): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.settleEntry(entry);
    if (entry.doneAt === undefined) return;
    const untilDone = entry.doneAt - this.clock.now();
    const ms = Math.min(Math.max(0, maxMs), untilDone);
    if (ms <= 0) return;
    const timer = new AbortController();
    await Promise.race([entry.done, this.clock.sleep(ms, timer.signal).catch(() => undefined)]);
    timer.abort();
    if (ms === untilDone) this.finish(entry);
    else this.settleEntry(entry);
  }

  private add(id: string, op: T, doneAt: number | undefined): Entry<T> {
    let resolve = () => {};
    const done = new Promise<void>((r) => (resolve = r));
    const entry: Entry<T> = { op, doneAt, stop: new AbortController(), done, resolve };
    this.entries.set(id, entry);
    this.trim();
    return entry;
  }

  private settleEntry(entry: Entry<T>): void {
    if (entry.doneAt !== undefined && this.clock.now() >= entry.doneAt) this.finish(entry);
  }

  private finish(entry: Entry<T>): void {
    if (entry.doneAt === undefined) return;
    entry.doneAt = undefined;
    entry.stop.abort();
    try {
      this.o.complete(entry.op);
    } finally {
      entry.resolve();
    }
  }

  private trim(): void {
    if (this.entries.size <= this.keep) return;
    for (const [id, entry] of this.entries) {
      if (this.entries.size <= this.keep) break;
      if (entry.doneAt !== undefined) continue;
      this.entries.delete(id);
      this.o.forget?.(entry.op);
    }
  }
}
