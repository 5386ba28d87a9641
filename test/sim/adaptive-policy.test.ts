/**
 * The adaptive pool policy and its signals, as pure functions of what they
 * are fed: no daemon, no clock, hand-computed expectations.
 */
import { describe, expect, it } from 'vitest';
import type { WarmTargets } from '../../ipamd/config.js';
import type { PoolPolicy } from '../../ipamd/pool/policy.js';
import { AdaptivePolicy, type AdaptivePolicyOptions } from '../../ipamd/pool/adaptive-policy.js';
import {
  ArrivalLog,
  DecayingRate,
  LatencyEstimate,
  poissonQuantile,
  RecurringBursts,
} from '../../ipamd/pool/adaptive-signals.js';
import type { InterfaceView, PoolSnapshot } from '../../ipamd/datastore/types.js';
import { iface as makeInterface, M5_LARGE, snap as makeSnapshot } from '../helpers/pool-snapshots.js';

/** What the reconciler does each tick: tell the policy what it plans from, then ask for the targets. */
function tick(p: PoolPolicy, s: PoolSnapshot): WarmTargets {
  p.observeTick?.(s);
  return p.targets(s);
}

const MIN = 60_000;
const HOUR = 60 * MIN;

function iface(id: string, deviceIndex: number, p: Partial<InterfaceView> = {}): InterfaceView {
  return makeInterface({ id, deviceIndex, ...p });
}

/** Default: two interfaces with plenty of room (7 + 9 slots), so growth is an assign call. */
function snap(
  now: number,
  interfaces: InterfaceView[] = [iface('eni-0', 0, { blocks: 2 }), iface('eni-1', 1)],
  mode: 'ip' | 'prefix' = 'ip',
): PoolSnapshot {
  return makeSnapshot(interfaces, { now, mode, blockSize: mode === 'prefix' ? 16 : 1 });
}

/** A policy past its warm-up (first decision at t=0), with measured latencies 300 ms (assign) and 3400 ms (create). */
function policy(o: Partial<AdaptivePolicyOptions> = {}): AdaptivePolicy {
  // These tables pin the issue-5 design ('v1', still the benchmark's before column); the issue-17 design ('v2',
  // the default) has its own tests in adaptive-v2.test.ts.
  const p = new AdaptivePolicy({ floor: 1, ceiling: 64, limits: () => M5_LARGE, design: 'v1', ...o });
  p.observeGrowLatency('assign', 300);
  p.observeGrowLatency('createInterface', 3400);
  tick(p, snap(0));
  return p;
}

describe('poissonQuantile', () => {
  it.each([
    [0, 0.002, 0],
    [0.001, 0.002, 0], // P(X > 0) = 0.1% ≤ 0.2%
    [0.01, 0.002, 1],
    [0.6, 0.002, 4],
    [1, 0.002, 5],
    [3.7, 0.002, 10],
    [5, 0.01, 11],
  ])('mu %f, eps %f → %i', (mu, eps, n) => {
    expect(poissonQuantile(mu, eps)).toBe(n);
  });
});

describe('signals', () => {
  it('DecayingRate: one event is 1/tau, decaying by e per tau', () => {
    const r = new DecayingRate(1000);
    expect(r.value(0)).toBe(0);
    r.record(0);
    expect(r.value(0)).toBeCloseTo(1 / 1000, 12);
    expect(r.value(1000)).toBeCloseTo(Math.exp(-1) / 1000, 12);
    r.record(1000);
    expect(r.value(1000)).toBeCloseTo((Math.exp(-1) + 1) / 1000, 12);
  });

  it('LatencyEstimate: the prior until measured, then an EWMA (alpha 0.3) seeded by the first measurement', () => {
    const l = new LatencyEstimate(1000);
    expect(l.value).toBe(1000);
    l.observe(300);
    expect(l.value).toBe(300);
    l.observe(400);
    expect(l.value).toBeCloseTo(330, 9);
    l.observe(-5); // nonsense is ignored
    expect(l.observed).toBe(2);
  });

  it.each([
    // arrivals, window ms, share, answer
    [[0, 100, 200, 5000], 300, 0, 3], // k = 1, 2, 3, 1 → the largest
    [[0, 100, 200, 5000], 300, 0.25, 2], // one of four may wait: the k=3 one
    [[0, 100, 200, 5000], 50, 0, 1],
    [[0, 1000, 2000, 3000], 999, 0, 1],
    [[], 300, 0, 0],
  ])('ArrivalLog.burstQuantile(%j, %i ms, share %f) = %i', (ts, window, share, want) => {
    const log = new ArrivalLog(HOUR);
    for (const t of ts as number[]) log.record(t);
    expect(log.burstQuantile(window as number, 5000, share as number)).toBe(want);
  });

  it('ArrivalLog forgets ADDs older than its memory', () => {
    const log = new ArrivalLog(1000);
    for (const t of [0, 10, 20, 3000]) log.record(t);
    expect(log.burstQuantile(100, 3000, 0)).toBe(1);
    expect(log.size).toBe(1);
  });
});

describe('RecurringBursts', () => {
  /** Bursts of `sizes[i]` ADDs, 1 s apart, starting at i × period. */
  function bursts(r: RecurringBursts, period: number, sizes: number[], offset = 0): void {
    sizes.forEach((n, i) => {
      for (let k = 0; k < n; k++) r.record(offset + i * period + k * 1000);
    });
  }

  it('predicts the next burst of a series seen three times, with its size, within the lead time', () => {
    const r = new RecurringBursts();
    bursts(r, 5 * MIN, [4, 4, 4]);
    const at = 15 * MIN;
    expect(r.due(at - 60_000, 15_000)).toEqual([]); // a minute early: not yet
    expect(r.due(at - 10_000, 15_000)).toEqual([{ at, periodMs: 5 * MIN, size: 4 }]);
    expect(r.periods(at - 10_000)).toEqual([5 * MIN]);
  });

  it('believes nothing from two bursts, or from single ADDs', () => {
    const two = new RecurringBursts();
    bursts(two, 5 * MIN, [4, 4]);
    expect(two.due(10 * MIN - 5000, 15_000)).toEqual([]);
    const singles = new RecurringBursts();
    bursts(singles, 5 * MIN, [1, 1, 1, 1]);
    expect(singles.due(20 * MIN - 5000, 15_000)).toEqual([]);
  });

  it('sizes a prediction by the median of its series, so one big burst in it does not inflate the next', () => {
    const r = new RecurringBursts();
    // Every 5 min 2 ADDs; at 15 min an hourly job adds 11 more (13 in that burst).
    bursts(r, 5 * MIN, [2, 2, 2, 13]);
    const next = r.due(20 * MIN - 5000, 15_000);
    expect(next[0]).toMatchObject({ periodMs: 5 * MIN, size: 2 });
  });

  it('expectedAdd: the ADDs a due burst accounts for, up to its predicted size', () => {
    const r = new RecurringBursts();
    bursts(r, 5 * MIN, [3, 3, 3]);
    const at = 15 * MIN;
    const got: boolean[] = [];
    for (let k = 0; k < 5; k++) {
      got.push(r.expectedAdd(at + k * 500, 15_000));
      r.record(at + k * 500);
    }
    expect(got).toEqual([true, true, true, false, false]);
  });
});

describe('AdaptivePolicy.targets', () => {
  it('keeps the IP-target mode and reports its inputs', () => {
    const p = policy();
    const t = tick(p, snap(20 * MIN));
    expect(t).toEqual({ warmInterfaces: 0, warmIps: 1, minimumIps: 0, warmPrefixes: 0, keepInterfaces: 1 });
    expect(p.explain()).toContain(
      'adaptive: warm target 1 = max(rate 0, burst 0, scheduled 0) within floor 1..ceiling 64',
    );
    expect(p.explain()).toContain('refill 0.30 s per assign, 3.40 s per new interface; horizon 0.60 s');
  });

  it.each([
    // name, options, ADD times, decision time, expected warm
    ['floor with no demand', { floor: 3 }, [], 20 * MIN, 3],
    ['floor 0 with no demand (minimum 1 keeps IP-target mode)', { floor: 0 }, [], 20 * MIN, 0],
    ['floor 0, one ADD 10 min ago: one kept ready', { floor: 0 }, [10 * MIN], 20 * MIN, 1],
    ['floor 0, one ADD 3 h ago: none likely any more', { floor: 0 }, [10 * MIN], 3 * HOUR + 10 * MIN, 0],
    ['a burst of 4 within 0.6 s', {}, [15 * MIN, 15 * MIN + 100, 15 * MIN + 200, 15 * MIN + 300], 20 * MIN, 4],
    [
      'the burst clamped by the ceiling',
      { ceiling: 2 },
      [15 * MIN, 15 * MIN + 100, 15 * MIN + 200, 15 * MIN + 300],
      20 * MIN,
      2,
    ],
    [
      'a burst forgotten after the burst memory',
      { burstMemoryMs: HOUR },
      [15 * MIN, 15 * MIN + 100, 15 * MIN + 200],
      2 * HOUR,
      1,
    ],
    // One ADD every 2 s for 10 min: λ ≈ 0.51/s; horizon 0.6 s → μ ≈ 0.3 → 3 more may come → 1 + 3.
    ['a steady 30 ADDs/min', {}, Array.from({ length: 300 }, (_, i) => 15 * MIN + i * 2000), 15 * MIN + 299 * 2000, 4],
  ])('%s', (_name, o, adds, at, warm) => {
    const p = policy(o as Partial<AdaptivePolicyOptions>);
    for (const t of adds as number[]) p.observeAdd(t);
    const t = tick(p, snap(at as number));
    expect(t.warmIps).toBe(warm);
    expect(t.minimumIps).toBe(warm === 0 ? 1 : 0);
  });

  it('uses an interface create as the horizon when the interfaces are nearly full, so the create starts early', () => {
    const p = policy();
    const adds = Array.from({ length: 300 }, (_, i) => 15 * MIN + i * 2000);
    for (const t of adds) p.observeAdd(t);
    const now = adds.at(-1)!;
    const full = [iface('eni-0', 0, { blocks: 9, assigned: 8 })]; // room 0, 1 of 3 interfaces
    const d = p.decide(snap(now, full));
    // λ ≈ 0.51/s over 3.4 + 0.3 s → μ ≈ 1.88 → 7 more → 8.
    expect(d).toMatchObject({ needsInterface: true, horizonMs: 3700, rate: 8, warm: 8, room: 0 });
    const atMax = [
      iface('eni-0', 0, { blocks: 9, assigned: 8 }),
      iface('eni-1', 1, { blocks: 9, assigned: 9 }),
      iface('eni-2', 2, { blocks: 9, assigned: 9 }),
    ];
    expect(p.decide(snap(now, atMax))).toMatchObject({ needsInterface: false, horizonMs: 600, warm: 4 });
  });

  it('honours MINIMUM_IP_TARGET as a floor on the addresses held', () => {
    const p = policy({ minimumIps: 12 });
    expect(tick(p, snap(20 * MIN)).minimumIps).toBe(12);
  });

  it('warms up like the AWS default until there is history: an interface of IPs, or one prefix', () => {
    const ip = new AdaptivePolicy({ floor: 1, ceiling: 64, limits: () => M5_LARGE, design: 'v1' });
    expect(tick(ip, snap(0)).warmIps).toBe(9);
    expect(ip.explain()).toContain('warm-up 9');
    expect(tick(ip, snap(10 * MIN)).warmIps).toBe(1);
    const pd = new AdaptivePolicy({ floor: 1, ceiling: 64, limits: () => M5_LARGE, design: 'v1' });
    expect(tick(pd, snap(0, [iface('eni-0', 0)], 'prefix')).warmIps).toBe(16);
  });

  it('warms up just before a predicted CronJob burst, and does not let its ADDs raise the everyday target', () => {
    const p = policy();
    const cron = (at: number, n: number) => {
      for (let k = 0; k < n; k++) p.observeAdd(at + k * 300);
    };
    // 6 ADDs every 5 min from 20 min on (within 1.5 s: a burst of 3 per 0.6 s).
    for (let i = 0; i < 3; i++) cron(20 * MIN + i * 5 * MIN, 6);
    const next = 35 * MIN;
    expect(tick(p, snap(next - 60_000)).warmIps).toBeLessThan(6); // the first three bursts count as bursts: 3
    expect(tick(p, snap(next - 10_000)).warmIps).toBe(6);
    expect(p.explain()).toContain('scheduled 6');
    expect(p.explain()).toContain(
      'recurring bursts every 5 min: 6 ADDs expected in 10 s (every 5 min), warming up for them',
    );
    // After the memory of the unpredicted bursts is gone, predicted bursts leave the everyday target alone.
    const q = policy({ burstMemoryMs: 20 * MIN });
    for (let i = 0; i < 8; i++) for (let k = 0; k < 6; k++) q.observeAdd(20 * MIN + i * 5 * MIN + k * 300);
    expect(q.decide(snap(20 * MIN + 7 * 5 * MIN + 60_000)).burst).toBe(0);
  });

  it('keeps interfaces the pool used in the last hour attached, even empty', () => {
    const p = policy();
    const two = [iface('eni-0', 0, { blocks: 9, assigned: 9 }), iface('eni-1', 1, { blocks: 2, assigned: 1 })];
    expect(tick(p, snap(20 * MIN, two)).keepInterfaces).toBe(2);
    const emptied = [iface('eni-0', 0, { blocks: 3, assigned: 2 }), iface('eni-1', 1)];
    expect(tick(p, snap(50 * MIN, emptied)).keepInterfaces).toBe(2);
    expect(p.explain()).toContain('2 interfaces kept attached');
    expect(tick(p, snap(20 * MIN + HOUR + 1, emptied)).keepInterfaces).toBe(1);
  });

  it('asking for the targets changes nothing: only the ticks of the reconciler are remembered', () => {
    const p = new AdaptivePolicy({ floor: 1, ceiling: 64, limits: () => M5_LARGE, design: 'v1' });
    const two = [iface('eni-0', 0, { blocks: 9, assigned: 9 }), iface('eni-1', 1, { blocks: 2, assigned: 1 })];
    const emptied = [iface('eni-0', 0, { blocks: 3, assigned: 2 }), iface('eni-1', 1)];
    // GET /v1/pool, the publisher and the monitor ask as often as they like, with whatever snapshot they hold.
    for (let i = 0; i < 5; i++) p.targets(snap(20 * MIN, two));
    expect(p.explain()).toBe('adaptive: no decision yet (floor 1, ceiling 64)');
    expect(p.targets(snap(50 * MIN, emptied)).keepInterfaces).toBe(1);
    // The same questions after a tick that saw both interfaces in use: that tick is what keeps the second one.
    p.observeTick(snap(20 * MIN, two));
    const before = p.explain();
    for (let i = 0; i < 5; i++) p.targets(snap(30 * MIN, emptied));
    expect(p.explain()).toBe(before);
    expect(p.targets(snap(50 * MIN, emptied)).keepInterfaces).toBe(2);
  });

  it('explains itself before its first decision, and rejects a floor above the ceiling', () => {
    expect(new AdaptivePolicy({ floor: 1, ceiling: 64 }).explain()).toBe(
      'adaptive: no decision yet (floor 1, ceiling 64)',
    );
    expect(() => new AdaptivePolicy({ floor: 5, ceiling: 4 })).toThrow(/floor 5 is above ceiling 4/);
  });

  it('counts ADDs and DELs into the rates it explains', () => {
    const p = policy();
    for (let i = 0; i < 10; i++) p.observeAdd(20 * MIN + i * 6000);
    for (let i = 0; i < 5; i++) p.observeDel(20 * MIN + i * 12_000);
    const d = p.decide(snap(20 * MIN + 60_000));
    // 10 ADDs in the last minute through a 1-minute decaying rate: between 10·e^-1 and 10 per minute.
    expect(d.addsPerMin.fast).toBeGreaterThan(10 * Math.exp(-1));
    expect(d.addsPerMin.fast).toBeLessThan(10);
    expect(d.delsPerMin).toBeGreaterThan(0);
  });
});
