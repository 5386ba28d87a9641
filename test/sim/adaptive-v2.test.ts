/**
 * The issue-17 design of the adaptive policy ('v2', the default) and its pure
 * parts, with hand-computed expectations: the burst tracker (a sliding
 * maximum, never a quantile), the decaying start-up reserve, and what the
 * policy asks for while a burst is in progress.
 */
import { describe, expect, it } from 'vitest';
import type { WarmTargets } from '../../ipamd/config.js';
import { AdaptivePolicy, type AdaptivePolicyOptions } from '../../ipamd/pool/adaptive-policy.js';
import { BurstTracker, startupPrior } from '../../ipamd/pool/adaptive-reserve.js';
import { DEFAULT_RECURRING } from '../../ipamd/pool/adaptive-signals.js';
import type { PoolSnapshot } from '../../ipamd/datastore/types.js';
import { iface, M5_LARGE, snap as makeSnapshot } from '../helpers/pool-snapshots.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

describe('BurstTracker', () => {
  it('short: the most ADDs inside one window, remembered for its memory', () => {
    const b = new BurstTracker(HOUR, 2_000);
    for (const t of [0, 100, 200, 900, 5_000]) b.record(t, 450);
    // [0,100,200] are within 450 ms of 200; 900 sees 900 only (200 is 700 ms before).
    expect(b.short(5_000)).toBe(3);
    expect(b.short(HOUR + 199)).toBe(3); // the count of 200 is still remembered
    expect(b.short(HOUR + 901)).toBe(1); // only 5_000's count (1) is left
  });

  it('total: the largest burst (ADDs < gap apart), the one in progress included', () => {
    const b = new BurstTracker(HOUR, 2_000);
    for (const t of [0, 1_000, 2_500, 10_000]) b.record(t, 450); // a burst of 3 (gaps ≤ 2 s), then one
    expect(b.total(10_000)).toBe(3);
    expect(b.inProgress(10_000)).toBe(1);
    expect(b.inProgress(12_001)).toBe(0);
    for (const t of [20_000, 20_500, 21_000, 21_500]) b.record(t, 450);
    expect(b.total(21_500)).toBe(4); // in progress, already larger than any before
  });
});

describe('startupPrior', () => {
  it.each([
    [0, 14],
    [10 * MIN - 1, 14],
    [10 * MIN, 14],
    [40 * MIN, 7], // half-way through the decay
    [69 * MIN, 1], // ceil(14 × 1/60)
    [70 * MIN, 0],
  ])('at %d ms: %d', (age, want) => {
    expect(startupPrior(age, 14, 10 * MIN, 60 * MIN)).toBe(want);
  });
  it('without a decay it is the v1 warm-up: all, then nothing', () => {
    expect(startupPrior(10 * MIN - 1, 9, 10 * MIN, 0)).toBe(9);
    expect(startupPrior(10 * MIN, 9, 10 * MIN, 0)).toBe(0);
  });
});

function snap(now: number): PoolSnapshot {
  return makeSnapshot([iface({ id: 'eni-0', deviceIndex: 0, blocks: 2 }), iface({ id: 'eni-1', deviceIndex: 1 })], {
    now,
    mode: 'ip',
    blockSize: 1,
  });
}

function policy(o: Partial<AdaptivePolicyOptions> = {}): AdaptivePolicy {
  const p = new AdaptivePolicy({ floor: 1, ceiling: 64, limits: () => M5_LARGE, ...o });
  p.observeGrowLatency('assign', 300);
  p.observeGrowLatency('createInterface', 3400);
  p.observeTick(snap(0));
  return p;
}

const warmAt = (p: AdaptivePolicy, now: number): WarmTargets => {
  p.observeTick(snap(now));
  return p.targets(snap(now));
};

describe('AdaptivePolicy v2', () => {
  it('keeps one and a half interfaces free during the warm-up, then decays that over the next hour', () => {
    const p = policy();
    expect(warmAt(p, 5 * MIN).warmIps).toBe(14); // ceil(1.5 × 9)
    expect(warmAt(p, 40 * MIN).warmIps).toBe(7); // ceil(14 × 0.5), above rate and burst (no ADD yet)
    expect(warmAt(p, 71 * MIN).warmIps).toBe(1); // the floor: nothing learnt, nothing likely
  });

  it('does not learn bursts from the warm-up (DaemonSets and the Pods waiting for a new node)', () => {
    const p = policy();
    for (const t of [1_000, 1_050, 1_100, 1_150, 1_200]) p.observeAdd(t);
    p.observeAdd(3 * HOUR);
    // One ADD a while ago: the pair reserve (2) remains, the warm-up's five-at-once does not.
    expect(warmAt(p, 3 * HOUR + 10 * MIN).warmIps).toBe(2);
  });

  it('remembers the largest burst of a refill window for a day, not 6 hours', () => {
    const p = policy();
    const at = 2 * HOUR;
    for (const dt of [0, 100, 200, 300]) p.observeAdd(at + dt); // 4 within 1.5 × 300 ms
    expect(warmAt(p, at + 20 * HOUR).warmIps).toBe(4);
    expect(warmAt(p, at + 25 * HOUR).warmIps).toBeLessThan(4);
  });

  it('while a burst is in progress, asks for the rest of the largest burst seen, or as many again', () => {
    const p = policy();
    // A burst of 8 spread over 7 s (never more than 1 per window): short 1, total 8.
    for (let i = 0; i < 8; i++) p.observeAdd(2 * HOUR + i * 1_000);
    // Later, a new burst starts: 1 ADD so far, so 8 − 1 = 7 more are asked for at once.
    p.observeAdd(3 * HOUR);
    expect(warmAt(p, 3 * HOUR + 100).warmIps).toBe(7);
    // The burst is over 2 s after its last ADD: back to the everyday reserve.
    expect(warmAt(p, 3 * HOUR + 2_500).warmIps).toBeLessThan(7);
  });

  it("predicts recurring bursts only when asked: it holds the day's largest burst, predicted ones included", () => {
    const cron = (p: AdaptivePolicy) => {
      // 6 ADDs every 5 min from 20 min on, 300 ms apart: the fifth is due at 40 min.
      for (let i = 0; i < 4; i++) for (let k = 0; k < 6; k++) p.observeAdd(20 * MIN + i * 5 * MIN + k * 300);
      return p.decide(snap(40 * MIN - 10_000));
    };
    expect(cron(policy())).toMatchObject({ scheduled: 0, recurring: { periodsMs: [] } });
    expect(cron(policy({ recurring: DEFAULT_RECURRING }))).toMatchObject({ scheduled: 6 });
  });
});
