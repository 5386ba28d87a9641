/**
 * @module pool study
 * A policy study over the trace families (issue 17), for tuning, never for the report: replays the TUNING traces
 * (seed 11, never the held-out ones) under the AWS default and adaptive variants, and breaks adaptive's idle down
 * by where it comes from, integrated over the trace the way the recorder integrates idle:
 * - cooling: addresses in their cooldown after a DEL (the clairvoyant bound counts these too);
 * - reserve: free addresses up to the warm target, charged to the demand that set the target (warm-up, burst,
 *   rate/floor, scheduled);
 * - surplus: free addresses above the target not yet released (after a burst, the shrink hold, block rounding).
 *
 *   npx tsx test/bench/pool-study.ts [--family ci] [--variant '{"priorDecayMs":0}'] [--held-out]
 */
import * as fs from 'node:fs';
import { AdaptivePolicy, type AdaptivePolicyOptions } from '../../ipamd/pool/adaptive-policy.js';
import { clairvoyantBound } from '../../ipamd/sim/clairvoyant.js';
import { simulate } from '../../ipamd/sim/engine.js';
import { reserveBound, reserveCurve } from '../../ipamd/sim/reserve-bound.js';
import { parseTrace } from '../../ipamd/sim/trace.js';
import { latencyProfile } from '../../providers/sim/index.js';
import { familyCases } from './pool-families.js';

/** The default's results do not depend on the variant: replayed once per trace and kept here. */
const SHOW_WAITS = process.argv.includes('--waits');
const CACHE_DIR = '/tmp/pool-study-default';

type Part = 'cooling' | 'warmup' | 'burst' | 'rate' | 'scheduled' | 'surplus';
const PARTS: Part[] = ['cooling', 'warmup', 'burst', 'rate', 'scheduled', 'surplus'];

async function run(name: string, csv: string, it: string, env: Record<string, string>, adaptive?: object) {
  const trace = parseTrace(csv, name);
  const latency = latencyProfile('realistic');
  const acc: Record<Part, number> = { cooling: 0, warmup: 0, burst: 0, rate: 0, scheduled: 0, surplus: 0 };
  let last: { t: number; parts: Record<Part, number> } | undefined;
  const states: Array<{ t: number; free: number; warm: number; burst: number; warmup: number; sched: number }> = [];
  const observe = adaptive
    ? (daemon: Parameters<NonNullable<Parameters<typeof simulate>[0]['observe']>>[0], t: number) => {
        const s = daemon.snapshot();
        if (last) for (const p of PARTS) acc[p] += last.parts[p] * Math.max(0, Math.min(t, trace.durationMs) - last.t);
        const pol = daemon.policy as AdaptivePolicy;
        const d = pol.decide(s);
        const free = s.total - s.assigned - s.cooling;
        const parts: Record<Part, number> = {
          cooling: s.cooling,
          warmup: 0,
          burst: 0,
          rate: 0,
          scheduled: 0,
          surplus: 0,
        };
        const reserve = Math.min(free, d.warm);
        const top: Part =
          d.warm === d.warmup && d.warmup > 0
            ? 'warmup'
            : d.warm === d.scheduled && d.scheduled > 0
              ? 'scheduled'
              : d.warm === d.burst
                ? 'burst'
                : 'rate';
        parts[top] = reserve;
        parts.surplus = Math.max(0, free - d.warm);
        last = { t: Math.min(t, trace.durationMs), parts };
        if (SHOW_WAITS) states.push({ t, free, warm: d.warm, burst: d.burst, warmup: d.warmup, sched: d.scheduled });
      }
    : undefined;
  const r = await simulate({ trace, instanceType: it, env, latency, adaptive, ...(observe ? { observe } : {}) });
  const bound = clairvoyantBound(trace.events, {
    assignMs: latency.actions.AssignPrivateIpAddresses,
    cooldownMs: r.config.cooldownMs,
    durationMs: trace.durationMs,
  }).avgIdle;
  const T = trace.durationMs;
  if (SHOW_WAITS && adaptive) {
    let j = 0;
    for (const o of r.addOutcomes.filter((x) => x.waited)) {
      while (j + 1 < states.length && states[j + 1]!.t < o.atMs) j++;
      const st = states[j];
      const near = r.addOutcomes.filter((x) => Math.abs(x.atMs - o.atMs) <= 2000).length;
      console.log(
        `   wait ${name} t=${(o.atMs / 1000).toFixed(1)}s ${o.waitMs}ms; ADDs within 2 s: ${near}; ` +
          `before: free ${st?.free} warm ${st?.warm} burst ${st?.burst} warmup ${st?.warmup} sched ${st?.sched}`,
      );
    }
  }
  const breakdown = Object.fromEntries(PARTS.map((p) => [p, Math.round((acc[p] / T) * 100) / 100]));
  return { res: r.result, bound, breakdown };
}

async function main() {
  const args = process.argv.slice(2);
  const get = (k: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : undefined);
  const fam = get('--family');
  const variant = JSON.parse(get('--variant') ?? '{}') as Partial<AdaptivePolicyOptions>;
  const held = args.includes('--held-out');
  const env = { WARM_POOL_POLICY: 'adaptive', ...(JSON.parse(get('--env') ?? '{}') as Record<string, string>) };
  const cases = familyCases().filter((c) => c.heldOut === held && (!fam || c.family === fam));
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const CACHE = `${CACHE_DIR}/${fam ?? 'all'}-${held ? 'held' : 'tuning'}.json`;
  const cache = (fs.existsSync(CACHE) ? JSON.parse(fs.readFileSync(CACHE, 'utf8')) : {}) as Record<
    string,
    Awaited<ReturnType<typeof run>>
  >;
  let met = 0;
  let worst = 0;
  for (const c of cases) {
    const csv = c.csv();
    const d = cache[c.name] ?? (cache[c.name] = await run(c.name, csv, c.instanceType, {}));
    fs.writeFileSync(CACHE, JSON.stringify(cache));
    const a = await run(c.name, csv, c.instanceType, env, variant);
    const ratio = a.res.avgIdleIps / d.res.avgIdleIps;
    const tr = parseTrace(csv, c.name);
    const curve = reserveCurve(tr.events, {
      assignMs: 300,
      cooldownMs: 30_000,
      durationMs: tr.durationMs,
      learnAfterMs: 600_000,
    });
    const rb = reserveBound(curve, d.res.podsWaited);
    const online =
      `online R*=${rb.reserve} idle ${rb.avgIdle.toFixed(2)} (${(rb.avgIdle / d.res.avgIdleIps).toFixed(2)}) ` +
      `learner waits ${curve.learnerWaits}`;
    const ok =
      ratio <= 0.5 && a.res.podsWaited <= d.res.podsWaited && a.res.podWaitP99Ms <= d.res.podWaitP99Ms ? 'met' : '---';
    if (ok === 'met') met++;
    worst = Math.max(worst, ratio);
    const b = Object.entries(a.breakdown)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    console.log(
      `${ok} ${c.name}: bound ${a.bound.toFixed(2)} | default ${d.res.avgIdleIps} w${d.res.podsWaited} ` +
        `p99 ${d.res.podWaitP99Ms} api ${d.res.apiCalls.total} | adaptive ${a.res.avgIdleIps} (${ratio.toFixed(2)}) ` +
        `w${a.res.podsWaited} p99 ${a.res.podWaitP99Ms} api ${a.res.apiCalls.total} | ${b} | ${online}`,
    );
  }
  console.log(
    `met ${met} of ${cases.length}; worst idle ratio ${worst.toFixed(2)}; variant ${JSON.stringify(variant)}`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
