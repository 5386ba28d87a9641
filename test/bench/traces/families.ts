/**
 * @module bench trace families
 * A second trace generator, independent of generate.ts (which the adaptive
 * policy was first tuned on): other distributions, and a parameter space per
 * kind, so the pool benchmark judges a policy on FAMILIES of traces, many
 * seeds × many parameters, and reports the worst case of each family.
 *
 * - ci: Poisson job arrivals, burst size 1 + Poisson(mean) or geometric, job
 *   lengths Pareto (heavy tail: most jobs short, a few very long);
 * - cron: several schedules drawn from CronJob periods, random phases,
 *   batch sizes drawn per firing, controller jitter, a little noise;
 * - rollout: Deployments rolled with maxSurge / maxUnavailable, readiness
 *   delays lognormal, plus short Jobs (seconds to minutes) between;
 * - diurnal: HPA-like desired replicas = base + amplitude · day curve +
 *   Gaussian noise, re-evaluated every 15-60 s, with a scale-down window;
 * - steady: a constant level with Poisson replacements (lognormal lives).
 *
 * Pure: (family, params, seed) → CSV text; nothing is written to disk.
 */
import { Prng } from '../../../providers/sim/prng.js';

const MIN = 60;
const HOUR = 3_600;

export type FamilyKind = 'ci' | 'cron' | 'rollout' | 'diurnal' | 'steady';

export interface FamilyParams {
  /** Free-form label used in names and the report, e.g. "jobs 0.5/min, size 4". */
  label: string;
  /** Trace length in seconds. */
  durationS: number;
  /** Most Pods live at once (the scheduler places nothing on a full node). */
  maxPods: number;
  [k: string]: number | string | boolean;
}

/** Random draws with the distributions this generator uses (not those of generate.ts). */
class Draw {
  constructor(private readonly rng: Prng) {}
  u(a = 0, b = 1): number {
    return a + (b - a) * this.rng.next();
  }
  exp(mean: number): number {
    return -mean * Math.log(1 - this.rng.next());
  }
  /** Pareto with scale xm and shape alpha, capped (a job never outlives the trace). */
  pareto(xm: number, alpha: number, cap: number): number {
    return Math.min(cap, xm / Math.pow(1 - this.rng.next(), 1 / alpha));
  }
  normal(): number {
    const u = 1 - this.rng.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.rng.next());
  }
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }
  poisson(mean: number): number {
    // Knuth's method: the means here are small (burst sizes).
    const l = Math.exp(-mean);
    let k = 0;
    for (let p = this.rng.next(); p > l; p *= this.rng.next()) k++;
    return k;
  }
  geometric(mean: number): number {
    // Number of trials to the first success, mean `mean` (≥ 1).
    const p = 1 / Math.max(1, mean);
    return Math.max(1, Math.ceil(Math.log(1 - this.rng.next()) / Math.log(1 - p + 1e-12)));
  }
  int(a: number, b: number): number {
    return a + this.rng.int(b - a + 1);
  }
}

interface Span {
  kind: string;
  start: number;
  end: number;
}

/** Admits Pods in start order while fewer than maxPods are live; writes the CSV. */
function toCsv(spans: Span[], p: FamilyParams, header: string): string {
  const T = p.durationS;
  const sorted = spans.filter((s) => s.start >= 0 && s.start < T && s.end > s.start).sort((a, b) => a.start - b.start);
  const ends: number[] = []; // ends of admitted Pods still live at the last start, unsorted (counts are small)
  const rows: Array<{ t: number; op: 'add' | 'del'; pod: string }> = [];
  let seq = 0;
  for (const s of sorted) {
    for (let i = ends.length - 1; i >= 0; i--) if (ends[i]! <= s.start) ends.splice(i, 1);
    if (ends.length >= p.maxPods) continue;
    ends.push(s.end);
    const pod = `${s.kind}-${seq++}`;
    rows.push({ t: r3(s.start), op: 'add', pod });
    if (s.end < T) rows.push({ t: r3(s.end), op: 'del', pod });
  }
  rows.sort((a, b) => a.t - b.t || (a.op === b.op ? (a.pod < b.pod ? -1 : 1) : a.op === 'del' ? -1 : 1));
  // The trace ends at T even if the last event is earlier: a closing no-op is not expressible, so the replay
  // measures up to the last event; the generators keep events spread to the end.
  return (
    [`# ${header}`, 't_seconds,op,pod', ...rows.map((e) => `${e.t.toFixed(3)},${e.op},${e.pod}`)].join('\n') + '\n'
  );
}

const r3 = (t: number) => Math.round(t * 1000) / 1000;
const num = (p: FamilyParams, k: string) => Number(p[k]);

/** DaemonSet Pods at node start: every node has them. */
function daemonSets(d: Draw, n: number): Span[] {
  return Array.from({ length: n }, (_, i) => ({ kind: 'ds', start: i * d.u(0.2, 1.5), end: Infinity }));
}

/** ci: jobsPerMin, meanSize, sizeDist (0 Poisson, 1 geometric), paretoAlpha, minJobS. */
function ci(d: Draw, p: FamilyParams): Span[] {
  const out = daemonSets(d, d.int(2, 4));
  const rate = num(p, 'jobsPerMin') / MIN;
  for (let t = d.exp(1 / rate); t < p.durationS; t += d.exp(1 / rate)) {
    const size = num(p, 'sizeDist') === 1 ? d.geometric(num(p, 'meanSize')) : 1 + d.poisson(num(p, 'meanSize') - 1);
    const len = d.pareto(num(p, 'minJobS'), num(p, 'paretoAlpha'), 3 * HOUR);
    for (let i = 0; i < size; i++) {
      const start = t + d.exp(0.6);
      out.push({ kind: 'job', start, end: start + len * d.u(0.7, 1.2) });
    }
  }
  return out;
}

const CRON_MIN = [2, 5, 10, 15, 20, 30, 60];

/** cron: schedules, maxBatch, jitterS, noisePerHour. */
function cron(d: Draw, p: FamilyParams): Span[] {
  const out = daemonSets(d, d.int(2, 4));
  for (let i = 0; i < d.int(2, 5); i++) out.push({ kind: 'svc', start: d.u(5, 60), end: Infinity });
  for (let j = 0; j < num(p, 'schedules'); j++) {
    const period = CRON_MIN[d.int(0, CRON_MIN.length - 1)]! * MIN;
    const phase = d.int(0, Math.max(0, period / MIN - 1)) * MIN;
    const batch = d.int(1, num(p, 'maxBatch'));
    const run = d.lognormal(Math.min(period * 0.4, 10 * MIN), 0.6);
    for (let at = phase || period; at < p.durationS; at += period) {
      const n = Math.max(1, batch + d.int(-1, 1));
      for (let k = 0; k < n; k++) {
        const start = at + d.u(0, num(p, 'jitterS'));
        out.push({ kind: `cron${j}`, start, end: start + run * d.u(0.6, 1.4) });
      }
    }
  }
  const noise = num(p, 'noisePerHour') / HOUR;
  for (let t = d.exp(1 / noise); noise > 0 && t < p.durationS; t += d.exp(1 / noise))
    out.push({ kind: 'adhoc', start: t, end: t + d.lognormal(3 * MIN, 1) });
  return out;
}

/** rollout: deployments, replicas, surge, maxUnavailable, rolloutsPerHour, jobsPerMin (short Jobs). */
function rollout(d: Draw, p: FamilyParams): Span[] {
  const out = daemonSets(d, d.int(2, 4));
  const deps = Array.from({ length: num(p, 'deployments') }, (_, k) => {
    const pods: Span[] = [];
    for (let i = 0; i < Math.max(1, num(p, 'replicas') + d.int(-1, 1)); i++) {
      const s = { kind: `app${k}`, start: d.u(5, 40), end: Infinity };
      pods.push(s);
      out.push(s);
    }
    return { k, pods };
  });
  const surge = num(p, 'surge');
  const unavailable = num(p, 'maxUnavailable');
  const rate = num(p, 'rolloutsPerHour') / HOUR;
  let busy = 0;
  for (let t = d.exp(1 / rate); t < p.durationS; t += d.exp(1 / rate)) {
    const dep = deps[d.int(0, deps.length - 1)]!;
    let now = Math.max(t, busy);
    const old = [...dep.pods];
    const fresh: Span[] = [];
    while (old.length > 0) {
      // maxUnavailable old Pods go at once; maxSurge new ones start; the rest of the old wait for readiness.
      const kill = old.splice(0, Math.min(old.length, unavailable));
      for (const o of kill) o.end = Math.min(o.end, now + d.u(0, 0.5));
      const wave = Math.max(1, Math.min(surge + kill.length, old.length + kill.length));
      for (let i = 0; i < wave; i++) {
        const s = { kind: `app${dep.k}`, start: now + d.u(0, 0.4), end: Infinity };
        fresh.push(s);
        out.push(s);
      }
      const ready = now + d.lognormal(12, 0.5);
      for (const o of old.splice(0, Math.max(0, wave - kill.length))) o.end = Math.min(o.end, ready);
      now = ready + d.u(0.2, 1.5);
    }
    dep.pods = fresh.slice(0, Math.max(1, fresh.length));
    busy = now;
  }
  const jobs = num(p, 'jobsPerMin') / MIN;
  for (let t = d.exp(1 / jobs); jobs > 0 && t < p.durationS; t += d.exp(1 / jobs))
    out.push({ kind: 'job', start: t, end: t + d.pareto(5, 1.3, 20 * MIN) });
  return out;
}

/** diurnal: base, amplitude, noise (sd in Pods), evalS, periodH (the "day"; 24 for a real one). */
function diurnal(d: Draw, p: FamilyParams): Span[] {
  const out = daemonSets(d, d.int(2, 4));
  const live: Span[] = [];
  const period = num(p, 'periodH') * HOUR;
  const phase0 = d.u(0, period);
  let lastUp = 0;
  for (let t = 10; t < p.durationS; t += num(p, 'evalS') * d.u(0.8, 1.2)) {
    const curve = (1 - Math.cos((2 * Math.PI * (t + phase0)) / period)) / 2;
    const want = Math.max(1, Math.round(num(p, 'base') + num(p, 'amplitude') * curve + num(p, 'noise') * d.normal()));
    if (want > live.length) {
      for (let i = live.length; i < want; i++) {
        const s = { kind: 'web', start: t + d.u(0, 0.8), end: Infinity };
        live.push(s);
        out.push(s);
      }
      lastUp = t;
    } else if (want < live.length && t - lastUp > 5 * MIN) {
      // The HPA's scale-down stabilisation: only after 5 min without a scale-up; the newest Pods go.
      for (const s of live.splice(want)) s.end = t + d.u(0.5, 2);
    }
    // Crash-looping or evicted Pods are replaced at once (a new sandbox).
    if (live.length && d.u() < 0.02) {
      const i = d.int(0, live.length - 1);
      const v = live[i]!;
      if (v.start < t) {
        v.end = t;
        live[i] = { kind: 'web', start: t + d.u(1, 3), end: Infinity };
        out.push(live[i]!);
      }
    }
  }
  return out;
}

/** steady: level, lifeMedianS, lifeSigma. */
function steady(d: Draw, p: FamilyParams): Span[] {
  const out = daemonSets(d, d.int(2, 4));
  for (let i = 0; i < num(p, 'level'); i++) {
    // Each slot is refilled when its Pod ends (a ReplicaSet keeping its count), a moment later.
    let t = d.u(2, 30);
    while (t < p.durationS) {
      const end = t + d.lognormal(num(p, 'lifeMedianS'), num(p, 'lifeSigma'));
      out.push({ kind: 'rs', start: t, end });
      t = end + d.u(0.5, 3);
    }
  }
  return out;
}

const GEN: Record<FamilyKind, (d: Draw, p: FamilyParams) => Span[]> = { ci, cron, rollout, diurnal, steady };

/** One trace of a family as CSV text: deterministic for (kind, params, seed). */
export function familyTrace(kind: FamilyKind, p: FamilyParams, seed: number): string {
  const d = new Draw(new Prng(seed * 7919 + kind.length * 104_729 + 17));
  const spans = GEN[kind](d, p);
  return toCsv(spans, p, `family ${kind} (${p.label}), seed ${seed}, ${p.durationS / HOUR} h, families.ts`);
}
