/**
 * @module persistence health
 * Readiness includes being able to persist: every ADD and DEL is answered
 * only after its checkpoint write, so with a read-only or full state
 * directory ipamd can hand out nothing, and STATUS and /healthz must say so
 * instead of `ready: true`.
 *
 * Wraps the daemon's {@link Checkpointer} and remembers the outcome of the
 * last write (or of the start-up probe): a failure makes the daemon not ready,
 * with a reason naming the state directory, until a write succeeds again.
 * While failing, {@link watch} retries a real checkpoint write every few
 * seconds, because a node that is not ready gets no ADDs (containerd polls
 * CNI STATUS), so no ADD would ever come to prove the disk is back.
 */
import * as path from 'node:path';
import type { Clock } from '../util/clock.js';
import type { CheckpointData, Checkpointer } from './checkpoint.js';

export const PERSIST_RETRY_MS = 5_000;

export class PersistenceHealth implements Checkpointer {
  private failure: { reason: string; since: number } | undefined;

  constructor(
    private readonly inner: Checkpointer,
    private readonly clock: Clock,
  ) {}

  get location(): string | undefined {
    return this.inner.location;
  }

  /** Why ipamd cannot persist right now; undefined when the last write (or probe) succeeded. */
  get problem(): string | undefined {
    const f = this.failure;
    if (!f) return undefined;
    return `cannot persist the checkpoint: ${f.reason} (since ${new Date(f.since).toISOString()})`;
  }

  load(): Promise<CheckpointData | undefined> {
    return this.inner.load();
  }

  async save(read: () => CheckpointData): Promise<void> {
    try {
      await this.inner.save(read);
      this.failure = undefined;
    } catch (err) {
      this.fail(err);
      throw err;
    }
  }

  /** At start, before the first write: sweeps stale temp files, then probes. Returns the files removed. */
  async prepare(): Promise<string[]> {
    const removed = (await this.inner.removeStaleTemps?.()) ?? [];
    try {
      await this.inner.probe?.();
    } catch (err) {
      this.fail(err);
    }
    return removed;
  }

  /** While not healthy, retries `persist` every `everyMs` until it succeeds; ends when `signal` aborts. */
  async watch(persist: () => Promise<void>, signal: AbortSignal, everyMs = PERSIST_RETRY_MS): Promise<void> {
    while (!signal.aborted) {
      const slept = await this.clock.sleep(everyMs, signal).then(
        () => true,
        () => false,
      );
      if (!slept) return;
      if (this.failure) await persist().catch(() => {}); // save() records the outcome either way
    }
  }

  private fail(err: unknown): void {
    const dir = this.inner.location ? path.dirname(this.inner.location) : 'the state directory';
    const msg = (err as Error)?.message ?? String(err);
    // Operators look for the directory (mount, disk, permissions), so every reason starts with it.
    const reason = msg.startsWith('state directory ') ? msg : `state directory ${dir}: ${msg}`;
    this.failure = { reason, since: this.failure?.since ?? this.clock.now() };
  }
}
