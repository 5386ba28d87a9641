/**
 * The emulator kit's metadata timeline: a node's metadata shows each cloud revision after its lag on the
 * emulator's clock (seeded draws within the range), the first view at once, and the live view once caught up.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../ipamd/util/clock.js';
import { MetadataTimeline } from '../../../providers/emulator-kit/metadata-timeline.js';

describe('emulator kit: metadata timeline', () => {
  it('serves the first view at once and each later one after the fixed lag', async () => {
    const clock = new VirtualClock(0);
    const t = new MetadataTimeline<string>(() => clock.now(), { min: 400, max: 400 });
    t.record(1, 'boot');
    expect(t.current()).toBe('boot');
    t.record(2, 'one address');
    await clock.advance(399);
    expect(t.current()).toBe('boot');
    await clock.advance(1);
    expect(t.current()).toBe('one address');
  });

  it('draws each lag within [min, max], the same way for the same seed', () => {
    const lags = (seed: number) => {
      let now = 0;
      const t = new MetadataTimeline<number>(() => now, { min: 1_000, max: 5_000 }, seed);
      t.record(0, 0);
      const out: number[] = [];
      for (let rev = 1; rev <= 20; rev++) {
        const changedAt = now;
        t.record(rev, rev, changedAt);
        while (t.current() !== rev) now += 1;
        out.push(now - changedAt);
      }
      return out;
    };
    const a = lags(3);
    expect(a.every((l) => l >= 1_000 && l <= 5_000)).toBe(true);
    expect(new Set(a).size).toBeGreaterThan(1);
    expect(lags(3)).toEqual(a);
  });

  it('observe: records a new revision once, and builds the live view when nothing is behind', async () => {
    const clock = new VirtualClock(0);
    const t = new MetadataTimeline<string>(() => clock.now(), { min: 100, max: 100 });
    let live = 'v1';
    let builds = 0;
    const build = () => (builds++, live);
    expect(t.observe(1, build)).toBe('v1');
    live = 'v2';
    t.note(2, build);
    expect(t.observe(2, build)).toBe('v1'); // behind: the recorded view
    await clock.advance(100);
    live = 'v2, same revision'; // something the revision does not count: shown live once caught up
    expect(t.observe(2, build)).toBe('v2, same revision');
    expect(builds).toBe(4);
  });

  it('refuses a lag range that is not 0 <= min <= max', () => {
    expect(() => new MetadataTimeline(() => 0, { min: 5, max: 1 })).toThrow(RangeError);
    expect(() => new MetadataTimeline(() => 0, { min: -1, max: 1 })).toThrow(RangeError);
  });
});
