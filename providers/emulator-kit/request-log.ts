/**
 * @module emulator request log
 * What an emulator was asked, newest last: tests read it to count calls and retries and to check the status,
 * error code and headers each request got. It is bounded (the oldest go first), so a long emulate session does
 * not grow without end, and counted per key separately, so counts stay right after the oldest entries go.
 */

export class RequestLog<E extends object> {
  /** The entries kept, oldest first. The array is live: an emulator that exposed it keeps doing so. */
  readonly entries: E[] = [];
  private readonly counts = new Map<string, number>();

  /** `limit`: entries kept (default: all). */
  constructor(private readonly limit = Infinity) {}

  /** Adds `entry` (the caller may fill in its outcome later: the object is kept, not copied). */
  push(entry: E): E {
    this.entries.push(entry);
    if (this.entries.length > this.limit) this.entries.shift();
    return entry;
  }

  /** Counts one request under `key` (an API method or action), whether or not its entry is kept. */
  count(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Requests counted per key, since the emulator started. */
  countsByKey(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  /** A copy of the entries kept that match `keep` (all by default). */
  list(keep: (e: E) => boolean = () => true): E[] {
    return this.entries.filter(keep);
  }
}
