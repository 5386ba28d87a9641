/**
 * The forecast on synthetic consumption, with exact numbers: a steady
 * consumer, a consumer with noise that least squares cancels, windows that
 * forget old history, and the flat, freeing and empty cases.
 */
import { describe, expect, it } from 'vitest';
import { SampleWindow, trend } from '../../ipamd/monitor/forecast.js';

const MIN = 60_000;

describe('trend', () => {
  it('recovers a steady consumer exactly: 6 addresses a minute = 0.1/s, 940 free → 9400 s', () => {
    const pts = Array.from({ length: 11 }, (_, k) => ({ t: 1_700_000_000_000 + k * MIN, v: 1000 - 6 * k }));
    expect(trend(pts)).toEqual({ ratePerSecond: 0.1, etaSeconds: 9400, samples: 11 });
  });

  it('cancels noise orthogonal to the line: slope 3 per minute under a +5/−10/+5 wobble', () => {
    const wobble = [5, -10, 5];
    const pts = Array.from({ length: 9 }, (_, k) => ({ t: k * MIN, v: 900 - 3 * k + wobble[k % 3]! }));
    const t = trend(pts)!;
    expect(t.ratePerSecond).toBe(0.05);
    // Latest observed free is 900 − 24 + 5 = 881; 881 / 0.05 = 17620 s.
    expect(t.etaSeconds).toBe(17_620);
  });

  it('a two-point slope would be fooled by a step at the end; least squares is not', () => {
    // Steady −2/min, then the last sample drops by a whole interface (9) at once.
    const pts = Array.from({ length: 10 }, (_, k) => ({ t: k * MIN, v: 500 - 2 * k - (k === 9 ? 9 : 0) }));
    const t = trend(pts)!;
    const twoPoint = (pts[0]!.v - pts[9]!.v) / 540;
    expect(twoPoint).toBeCloseTo(27 / 540, 12);
    // Least squares: 2/60 plus the step's leverage, 9·(x9 − x̄)/Σ(x − x̄)² = 9·4.5/82.5 per minute.
    expect(t.ratePerSecond).toBeCloseTo((2 + (9 * 4.5) / 82.5) / 60, 12);
    expect(t.ratePerSecond).toBeLessThan(twoPoint);
  });

  it('gives +Infinity when flat or freeing, 0 when empty, and nothing without enough samples', () => {
    expect(trend([0, 1, 2].map((k) => ({ t: k * MIN, v: 50 })))).toEqual({
      ratePerSecond: 0,
      etaSeconds: Infinity,
      samples: 3,
    });
    const freeing = trend([0, 1, 2].map((k) => ({ t: k * MIN, v: 50 + 6 * k })))!;
    expect([freeing.ratePerSecond, freeing.etaSeconds]).toEqual([-0.1, Infinity]);
    expect(trend([0, 1, 2].map((k) => ({ t: k * MIN, v: 12 - 6 * k })))!.etaSeconds).toBe(0);
    expect(
      trend([
        { t: 0, v: 5 },
        { t: MIN, v: 4 },
      ]),
    ).toBeUndefined();
    expect(
      trend(
        [
          { t: 0, v: 5 },
          { t: MIN, v: 4 },
        ],
        2,
      ),
    ).toEqual({ ratePerSecond: 1 / 60, etaSeconds: 240, samples: 2 });
    expect(trend([0, 0, 0].map((t) => ({ t, v: 5 })))).toBeUndefined();
  });
});

describe('SampleWindow', () => {
  it('forgets samples older than the window, so a new trend takes over', () => {
    const w = new SampleWindow({ windowMs: 10 * MIN });
    // An hour of fast consumption (12/min), then steady 6/min for 10 minutes.
    let free = 5000;
    for (let k = 0; k <= 60; k++) w.add({ t: k * MIN, free: (free -= k === 0 ? 0 : 12), freeBlocks: 100 });
    for (let k = 61; k <= 71; k++) w.add({ t: k * MIN, free: (free -= 6), freeBlocks: 100 - (k - 60) });
    expect(w.samples()).toHaveLength(11);
    expect(w.samples()[0]!.t).toBe(61 * MIN);
    expect(w.addresses()!.ratePerSecond).toBe(0.1);
    expect(w.addresses()!.etaSeconds).toBe(free * 10);
    // Blocks: 1 per minute over the window, 89 left → 89 minutes.
    expect(w.prefixBlocks()).toEqual({ ratePerSecond: 1 / 60, etaSeconds: 89 * 60, samples: 11 });
  });

  it('replaces a sample that is not newer than the last, and rejects a zero window', () => {
    const w = new SampleWindow({ windowMs: MIN });
    w.add({ t: 1000, free: 10 });
    w.add({ t: 1000, free: 9 });
    expect(w.samples()).toEqual([{ t: 1000, free: 9 }]);
    expect(() => new SampleWindow({ windowMs: 0 })).toThrow(/window must be > 0/);
  });
});
