/**
 * @module group commit
 * The checkpointers' write queue: one write at a time, and while one is in flight later saves wait and are
 * written together (only the latest reader is called), so 50 concurrent ADDs cost a couple of syncs, not
 * fifty, and every caller still returns only after a write that started after its change is done.
 */
export class GroupCommit<T> {
  private chain: Promise<void> = Promise.resolve();
  /** A write that has been queued but not started: later changes ride on it. */
  private pending: Promise<void> | undefined;
  private latest: (() => T) | undefined;

  constructor(private readonly write: (data: T) => Promise<void>) {}

  save(read: () => T): Promise<void> {
    this.latest = read;
    if (this.pending) return this.pending;
    const p = this.chain.then(() => {
      this.pending = undefined;
      return this.write(this.latest!());
    });
    this.pending = p;
    this.chain = p.catch(() => {});
    return p;
  }

  /** Queues `job` after the writes queued so far (its failure is its own); later saves wait for it. */
  then(job: () => Promise<void>): void {
    this.chain = this.chain.then(job).catch(() => {});
  }

  /** The latest reader a save was given, if any. */
  read(): T | undefined {
    return this.latest?.();
  }

  /** Resolves once every write queued so far has ended. */
  idle(): Promise<void> {
    return this.chain;
  }
}
