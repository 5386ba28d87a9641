import { describe, expect, it } from 'vitest';
import { clairvoyantBound } from '../../ipamd/sim/clairvoyant.js';

const o = { assignMs: 300, cooldownMs: 30_000, durationMs: 100_000 };
const add = (tMs: number) => ({ tMs, op: 'add' as const });
const del = (tMs: number) => ({ tMs, op: 'del' as const });

describe('clairvoyantBound', () => {
  it('counts one assign latency before each ADD and the cooldown after each DEL', () => {
    const b = clairvoyantBound([add(10_000), del(20_000)], o);
    expect(b.idleMs).toBe(300 + 30_000);
    expect(b.avgIdle).toBeCloseTo(0.303, 10);
  });

  it('clips the assign before the start of the trace and the cooldown after its end', () => {
    // ADD at 0.1 s: only 100 ms of lead is inside the trace; DEL 10 s before the end: 10 s of cooldown.
    const b = clairvoyantBound([add(100), del(90_000)], o);
    expect(b.idleMs).toBe(100 + 10_000);
  });

  it('counts nothing for a Pod still running at the end, and overlapping Pods add up', () => {
    const b = clairvoyantBound([add(1_000), add(1_000), add(2_000), del(5_000)], o);
    expect(b.idleMs).toBe(3 * 300 + 30_000);
  });

  it('is zero for an empty span', () => {
    expect(clairvoyantBound([add(0)], { ...o, durationMs: 0 })).toEqual({ idleMs: 0, avgIdle: 0 });
  });
});
