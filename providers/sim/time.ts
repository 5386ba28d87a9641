/**
 * @module sim time
 * The slices of a clock the sim needs, declared here so `providers/` does
 * not import from `ipamd/` (imports go one way). `ipamd/util/clock.ts`'s
 * `SystemClock` and `VirtualClock` satisfy both structurally.
 */

/** Reads the time; the cloud model only stamps records with it. */
export interface TimeSource {
  /** Milliseconds (virtual clocks may start anywhere). */
  now(): number;
}

/** Reads the time and waits; the provider sleeps each call's latency on it. */
export interface SimClock extends TimeSource {
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
