/**
 * The emulator kit's default clock: the seam's contract (a sleep ends, an abort rejects it with an AbortError),
 * and a time source without `sleep` gains one.
 */
import { describe, expect, it } from 'vitest';
import { EMULATOR_SYSTEM_CLOCK, withSleep } from '../../../providers/emulator-kit/system-clock.js';

describe('emulator kit: system clock', () => {
  it('sleeps, and rejects with an AbortError when aborted first', async () => {
    await expect(EMULATOR_SYSTEM_CLOCK.sleep(0)).resolves.toBeUndefined();
    const stop = new AbortController();
    const long = EMULATOR_SYSTEM_CLOCK.sleep(60_000, stop.signal);
    stop.abort();
    await expect(long).rejects.toMatchObject({ name: 'AbortError' });
    await expect(EMULATOR_SYSTEM_CLOCK.sleep(0, stop.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('gives a time source a sleep on system timers, and keeps a clock that has one', () => {
    const source = { now: () => 42 };
    const clock = withSleep(source);
    expect(clock.now()).toBe(42);
    expect(clock.sleep).toBe(EMULATOR_SYSTEM_CLOCK.sleep);
    const full = { now: () => 1, sleep: () => Promise.resolve() };
    expect(withSleep(full)).toBe(full);
    expect(withSleep(undefined)).toBe(EMULATOR_SYSTEM_CLOCK);
  });
});
