/**
 * The test harness's drive(): virtual time for timers, patience for real I/O.
 * A real wait (a worker thread starting, netlink) used to burn the whole
 * virtual budget in a fraction of a second and fail as "still pending".
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../ipamd/util/clock.js';
import { drive } from './virtual-daemon.js';

describe('drive', () => {
  it('waits for a promise that needs a second of real time, without using up the virtual budget', async () => {
    const clock = new VirtualClock(0);
    const realWait = new Promise<string>((resolve) => setTimeout(() => resolve('io done'), 1_000));
    expect(await drive(clock, realWait, 10, 1_000)).toBe('io done');
  });

  it('still runs timers at full speed, and fails a virtual hang naming virtual and real time', async () => {
    const clock = new VirtualClock(0);
    const sleeper = clock.sleep(30_000).then(() => clock.now());
    expect(await drive(clock, sleeper)).toBe(30_000);
    const spinning = (async () => {
      for (;;) await clock.sleep(1_000);
    })();
    await expect(drive(clock, spinning, 10, 60_000)).rejects.toThrow(
      /still pending after \d+ virtual ms \(60000 with timers due; limit 60000\) and \d+ real ms/,
    );
  });

  it('fails a real wait that never ends, naming both clocks', async () => {
    const clock = new VirtualClock(0);
    await expect(drive(clock, new Promise(() => {}), 10, 600_000, 200)).rejects.toThrow(
      /still pending after \d+ virtual ms \(0 with timers due; limit 600000\) and \d+ real ms \(limit 200\)/,
    );
  });
});
