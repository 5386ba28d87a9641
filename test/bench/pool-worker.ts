/**
 * @module pool benchmark worker
 * One replay of the pool benchmark: a trace (a committed CSV or a family
 * trace, regenerated from its name: the generators are deterministic) under
 * one policy, with its clairvoyant bound. `pool.ts` forks two of these (the
 * machine has 2 cores; the figures are virtual time, so running replays side
 * by side changes only the wall and CPU columns, which are per replay).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { clairvoyantBound } from '../../ipamd/sim/clairvoyant.js';
import { reserveCurve, type ReserveCurve } from '../../ipamd/sim/reserve-bound.js';
import { simulate, type SimulationResult } from '../../ipamd/sim/engine.js';
import type { PoolSample } from '../../ipamd/sim/recorder.js';
import { parseTrace } from '../../ipamd/sim/trace.js';
import { latencyProfile } from '../../providers/sim/index.js';
import { POLICY_CASES, SWEEP_POLICY_CASES } from './pool-cases.js';
import { familyCases } from './pool-families.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Job {
  id: number;
  /** A repository path of a CSV trace, or the name of a family case. */
  trace: { file: string } | { family: string };
  instanceType: string;
  policy: string;
  /** Keep the timeline and waits (for the chart pages). */
  chart: boolean;
}

export interface JobResult {
  id: number;
  result: SimulationResult;
  adds: number;
  /** Clairvoyant bound's average idle for this trace (configured assign latency and cooldown). */
  bound: number;
  /** The online bound's inputs (reserve-bound.ts): waits against a constant reserve, a perfect learner's waits. */
  curve: ReserveCurve;
  wallMs: number;
  cpuMs: number;
  explain: string;
  timeline?: PoolSample[];
  waits?: number[];
}

let families: Map<string, () => string> | undefined;

function traceText(j: Job): { text: string; source: string } {
  if ('file' in j.trace) return { text: fs.readFileSync(path.join(REPO, j.trace.file), 'utf8'), source: j.trace.file };
  families ??= new Map(familyCases().map((c) => [c.name, c.csv]));
  const gen = families.get(j.trace.family);
  if (!gen) throw new Error(`no family trace named ${j.trace.family}`);
  return { text: gen(), source: j.trace.family };
}

export async function runJob(j: Job): Promise<JobResult> {
  const { text, source } = traceText(j);
  const trace = parseTrace(text, source);
  const pc = [...POLICY_CASES, ...SWEEP_POLICY_CASES].find((p) => p.name === j.policy);
  if (!pc) throw new Error(`no policy case ${j.policy}`);
  const latency = latencyProfile('realistic');
  const started = performance.now();
  const cpu = process.cpuUsage();
  const run = await simulate({ trace, instanceType: j.instanceType, env: pc.env, latency, adaptive: pc.adaptive });
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const bound = clairvoyantBound(trace.events, {
    assignMs: latency.actions.AssignPrivateIpAddresses,
    cooldownMs: run.config.cooldownMs,
    durationMs: trace.durationMs,
  }).avgIdle;
  const curve = reserveCurve(trace.events, {
    assignMs: latency.actions.AssignPrivateIpAddresses,
    cooldownMs: run.config.cooldownMs,
    durationMs: trace.durationMs,
    // The node's start is what every policy's warm-up covers (adaptive's: 10 min): the learner does not wait there.
    learnAfterMs: 10 * 60_000,
  });
  return {
    id: j.id,
    result: run.result,
    adds: run.adds,
    bound,
    curve,
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    explain: run.policyExplain,
    ...(j.chart ? { timeline: run.timeline, waits: run.addOutcomes.filter((o) => o.waited).map((o) => o.atMs) } : {}),
  };
}

// As a child process: answer every job message, one at a time.
if (process.send && process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.on('message', (j: Job | 'exit') => {
    if (j === 'exit') process.exit(0);
    runJob(j).then(
      (r) => process.send!(r),
      (err: unknown) => process.send!({ id: j.id, error: String((err as Error)?.stack ?? err) }),
    );
  });
  process.send('ready');
}
