/**
 * @module clock (the seam's)
 * What a provider needs of time, declared at the bottom layer so `providers/` imports nothing of `ipamd/`
 * (imports go one way). `ipamd/util/clock.ts` implements it (SystemClock, VirtualClock) and re-exports it,
 * so the daemon, the tests and the simulator hand providers the same clocks they use themselves.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch (virtual clocks may start anywhere). */
  now(): number;
  /** Resolves after `ms`; rejects with an AbortError if `signal` fires first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
