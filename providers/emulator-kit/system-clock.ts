/**
 * @module emulator system clock
 * The clock an emulator runs on when it is given none: wall time, with timers that do not keep the process
 * alive. An emulator's pending operation or injected latency must not hold a test run or a daemon open after
 * everything else has stopped; closing the emulator lands what is still pending.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../clock.js';

export const EMULATOR_SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  // Rejects with an AbortError when `signal` fires first, as the Clock seam says.
  sleep: (ms, signal) => delay(Math.max(0, ms), undefined, { ref: false, ...(signal ? { signal } : {}) }),
};

/** A clock that may only tell the time (the sim cloud's `TimeSource`) can still wait: on the system's timers. */
export function withSleep(clock: { now(): number; sleep?: Clock['sleep'] } | undefined): Clock {
  if (!clock) return EMULATOR_SYSTEM_CLOCK;
  if (clock.sleep) return clock as Clock;
  return { now: () => clock.now(), sleep: EMULATOR_SYSTEM_CLOCK.sleep };
}
