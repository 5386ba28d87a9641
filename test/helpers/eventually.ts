/**
 * @module eventually
 * The one way a test waits for something to become true: poll a probe until it gives a value, on a clock
 * (the wall clock by default; a test's virtual or jump clock where the code under test runs on one), bounded by
 * a deadline that only guards a hang and is never a timing assertion. A probe that throws is retried, and the
 * last error is named when the deadline passes.
 */
import { SystemClock, type Clock } from '../../ipamd/util/clock.js';

export interface EventuallyOptions {
  /** The clock to poll on and to measure the deadline with. Default: the wall clock. */
  clock?: Clock;
  /** Default 20 s (the suite's test timeout is 60 s). */
  timeoutMs?: number;
  /** Default 25 ms. */
  everyMs?: number;
}

/** What a probe gives while the wait goes on: nothing yet. */
type NotYet = undefined | null | false;

/** Resolves with the first value `probe` gives that is not undefined, null or false. */
export async function eventually<T>(
  what: string,
  probe: () => T | NotYet | Promise<T | NotYet>,
  o: EventuallyOptions = {},
): Promise<T> {
  const clock = o.clock ?? new SystemClock();
  const deadline = clock.now() + (o.timeoutMs ?? 20_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (clock.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    }
    await clock.sleep(o.everyMs ?? 25);
  }
}

/** Polls `read` until `holds(value)`; resolves with that value. */
export function eventuallyHolds<T>(
  what: string,
  read: () => T | Promise<T>,
  holds: (v: T) => boolean,
  o: EventuallyOptions = {},
): Promise<T> {
  return eventually(
    what,
    async () => {
      const v = await read();
      return holds(v) ? { v } : undefined;
    },
    o,
  ).then((box) => box.v);
}

/**
 * The end-to-end tests' wait for a daemon or emulator on the wall clock: {@link eventuallyHolds} with a
 * deadline just under the suite's 60 s test timeout, so a hang is reported as the condition, not as a timeout.
 */
export function until<T>(read: () => Promise<T> | T, holds: (v: T) => boolean): Promise<T> {
  return eventuallyHolds('the condition', read, holds, { timeoutMs: 55_000, everyMs: 50 });
}
