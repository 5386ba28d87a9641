import { describe, expect, it } from 'vitest';
import { reserveBound, reserveCurve } from '../../ipamd/sim/reserve-bound.js';

const o = { assignMs: 300, cooldownMs: 30_000, durationMs: 100_000 };
const add = (tMs: number) => ({ tMs, op: 'add' as const });
const del = (tMs: number) => ({ tMs, op: 'del' as const });

describe('reserveCurve', () => {
  it('counts, per reserve, the ADDs that find it spent within one assign latency', () => {
    // A burst of 3 within 300 ms, then a lone ADD: k = 1, 2, 3, 1.
    const c = reserveCurve([add(10_000), add(10_100), add(10_200), add(50_000)], o);
    expect(c.waits).toEqual([4, 2, 1, 0]);
  });

  it('starts a new window once an assign latency has passed (the earlier refill has landed)', () => {
    const c = reserveCurve([add(10_000), add(10_300), add(10_600)], o);
    expect(c.waits).toEqual([3, 0]);
  });

  it('counts the cooldown after each DEL, clipped to the trace', () => {
    const c = reserveCurve([add(1_000), del(20_000), del(90_000)], o);
    expect(c.coolingIdle).toBeCloseTo((30_000 + 10_000) / 100_000, 10);
  });

  it('leaves the node start to the warm-up: no waits counted there, and the learner learns from it', () => {
    const events = [add(1_000), add(1_100), add(1_200), add(60_000), add(60_100), add(80_000), add(80_100)];
    const c = reserveCurve(events, { ...o, learnAfterMs: 30_000 });
    // After the start only pairs: a reserve of 2 never waits.
    expect(c.waits).toEqual([4, 2, 0]);
    // The learner saw 3 at the start: nothing later is larger.
    expect(c.learnerWaits).toBe(0);
  });

  it('makes a perfect learner wait only at a burst larger than every earlier one', () => {
    // Pairs, then a triple: the first pair (nothing learnt yet) and the triple's third ADD wait; the second pair not.
    const events = [add(1_000), add(1_100), add(20_000), add(20_100), add(40_000), add(40_100), add(40_200)];
    expect(reserveCurve(events, o).learnerWaits).toBe(2 + 1);
  });
});

describe('reserveBound', () => {
  it('is the smallest reserve with no more waits than allowed, plus the cooldown idle', () => {
    const c = reserveCurve([add(10_000), add(10_100), add(10_200), del(40_000)], o);
    expect(reserveBound(c, 0)).toEqual({ reserve: 3, avgIdle: 3 + 0.3 });
    expect(reserveBound(c, 1).reserve).toBe(2);
    expect(reserveBound(c, 99).reserve).toBe(0);
  });
});
