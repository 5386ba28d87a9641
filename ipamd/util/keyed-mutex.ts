/**
 * @module keyed mutex
 * Runs async jobs one at a time per key, in arrival order; jobs of different
 * keys run concurrently. ipamd serialises the requests of one attachment with
 * it (api/handler.ts): a retried ADD, or a DEL racing its ADD, must see the
 * other's outcome on disk and in the kernel, not half of it in memory.
 *
 * A per-key promise chain (the shape the netlink plumber uses per veth), not
 * a p-queue per key: keys come and go with Pods, and an idle key must cost
 * nothing. The entry of a key is dropped as soon as its last job settles.
 */

export class KeyedMutex {
  /** Per key: settles when the last job queued for it settles (never rejects). */
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `job` after every job queued earlier for `key` has settled; resolves or rejects with `job`'s outcome. */
  run<T>(key: string, job: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key);
    const result = prev ? prev.then(job) : Promise.resolve().then(job);
    const tail = result.then(
      () => undefined,
      () => undefined, // a failed job must not block the ones behind it
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with a job running or queued (for tests and introspection). */
  get size(): number {
    return this.tails.size;
  }

  /** Whether `key` has a job running or queued. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }
}
