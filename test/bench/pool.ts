/**
 * @module pool benchmark
 * `npm run bench:pool`: replays traces under every policy through the
 * simulator (the daemon's real pool engine in virtual time against the sim
 * cloud, realistic timings) and writes the result block to $BENCH_DOC
 * (default docs/benchmarks.md) between the bench:pool markers:
 * 1. the engine's own speed (engine.ts): a one-day `simulate`, the monitor's pass over a /16;
 * 2. the committed CSV traces under every policy, issue 5's goal (pool-report.ts), chart pages;
 * 3. the trace FAMILIES of issue 17 (pool-families.ts): many seeds × parameters per kind, from two
 *    independent generators, judged on the worst trace per family against the default and the
 *    clairvoyant bound (pool-family-report.ts), the current adaptive policy beside the issue-5 one.
 * Replays run in two child processes (pool-worker.ts): the figures are virtual time, so parallel replays
 * change only the per-replay wall/CPU columns. Not a test: it prints, it asserts nothing.
 *
 *   npm run bench:pool                       # everything, writes $BENCH_DOC and docs/benchmarks/
 *   npm run bench:pool -- --family ci --no-write   # one family, print only
 *   npm run bench:pool -- --no-families      # the CSV traces only
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderChartPage, type ChartSection } from '../../ipamd/sim/chart.js';
import type { SimulationResult } from '../../ipamd/sim/engine.js';
import { engineTable, measureEngine } from './engine.js';
import {
  ADAPTIVE_R1,
  ADAPTIVE_V1,
  checkGoal,
  POLICY_CASES,
  SWEEP_POLICY_CASES,
  TRACE_CASES,
  type GoalCheck,
} from './pool-cases.js';
import { familyCases, HELD_OUT_SEEDS, TUNING_SEEDS, type FamilyCase } from './pool-families.js';
import { renderFamilies, type FamilyRow } from './pool-family-report.js';
import { END, render, START, type Row } from './pool-report.js';
import type { Job, JobResult } from './pool-worker.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
// The one entry file of the benchmark: where it reads its environment.
const DOC = path.resolve(REPO, process.env.BENCH_DOC ?? 'docs/benchmarks.md');
const CHART_DIR = path.join(path.dirname(DOC), 'benchmarks');

function flag(args: string[], name: string): string | undefined {
  return args.includes(name) ? args[args.indexOf(name) + 1] : undefined;
}

/** Runs `jobs` on `n` forked workers, longest first; resolves with every result by id. */
async function runAll(jobs: Job[], n: number, weight: (j: Job) => number): Promise<Map<number, JobResult>> {
  const queue = [...jobs].sort((a, b) => weight(b) - weight(a));
  const out = new Map<number, JobResult>();
  const total = queue.length;
  const worker = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const child: ChildProcess = fork(path.join(HERE, 'pool-worker.ts'), [], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const next = () => {
        const j = queue.shift();
        if (j) child.send(j);
        else child.send('exit');
      };
      child.on('message', (m: 'ready' | (JobResult & { error?: string })) => {
        if (m === 'ready') return next();
        if (m.error) return reject(new Error(`replay ${m.id} failed: ${m.error}`));
        out.set(m.id, m);
        if (out.size % 25 === 0) console.log(`  ${out.size}/${total} replays`);
        next();
      });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
    });
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const write = !args.includes('--no-write');
  const onlyFamily = flag(args, '--family');
  const withFamilies = !args.includes('--no-families');
  const withCsv = !onlyFamily;
  const workers = Number(flag(args, '--workers') ?? Math.min(2, os.cpus().length));
  const t0 = performance.now();

  const engine = await measureEngine();
  console.log(engineTable(engine).join('\n'));

  const jobs: Job[] = [];
  const csvJobs: Array<{ id: number; tc: (typeof TRACE_CASES)[number]; policy: string }> = [];
  const csvPolicies = [...POLICY_CASES, ADAPTIVE_V1];
  if (withCsv)
    for (const tc of TRACE_CASES)
      for (const pc of csvPolicies) {
        const id = jobs.length;
        jobs.push({ id, trace: { file: tc.file }, instanceType: tc.instanceType, policy: pc.name, chart: true });
        csvJobs.push({ id, tc, policy: pc.name });
      }
  const cases: FamilyCase[] = withFamilies ? familyCases().filter((c) => !onlyFamily || c.family === onlyFamily) : [];
  const famJobs: Array<{ id: number; c: FamilyCase; policy: string }> = [];
  for (const c of cases)
    for (const pc of SWEEP_POLICY_CASES) {
      const id = jobs.length;
      jobs.push({ id, trace: { family: c.name }, instanceType: c.instanceType, policy: pc.name, chart: false });
      famJobs.push({ id, c, policy: pc.name });
    }
  const dayLong = (j: Job) => ('file' in j.trace || j.trace.family.includes('/A ') ? 4 : 1);
  console.log(`${jobs.length} replays on ${workers} workers`);
  const results = await runAll(jobs, workers, dayLong);

  // 2. The CSV traces: the issue-5 table and goal, chart pages.
  const rows: Row[] = [];
  const goals: Record<string, GoalCheck> = {};
  for (const tc of withCsv ? TRACE_CASES : []) {
    const mine = csvJobs.filter((x) => x.tc === tc);
    const byPolicy: Record<string, SimulationResult> = {};
    const sections: ChartSection[] = [];
    for (const x of mine) {
      const r = results.get(x.id)!;
      const pc = csvPolicies.find((p) => p.name === x.policy)!;
      byPolicy[x.policy] = r.result;
      rows.push({
        trace: tc.name,
        instanceType: tc.instanceType,
        policy: x.policy,
        result: r.result,
        adds: r.adds,
        wallMs: r.wallMs,
        cpuMs: r.cpuMs,
      });
      const settings =
        Object.entries(pc.env)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ') || 'WARM_ENI_TARGET=1 (defaults)';
      const note = pc.name.startsWith('adaptive') ? `at the end: ${r.explain}` : pc.why;
      sections.push({
        heading: `${pc.name}: ${settings}`,
        result: r.result,
        timeline: r.timeline!,
        waits: r.waits!,
        note,
      });
    }
    goals[tc.name] = checkGoal(byPolicy);
    if (write) {
      fs.mkdirSync(CHART_DIR, { recursive: true });
      const note = `${tc.why}. Trace ${tc.file}; realistic timings; generated by npm run bench:pool.`;
      fs.writeFileSync(
        path.join(CHART_DIR, `pool-${tc.name}.html`),
        renderChartPage(`Warm pool: ${tc.name} on ${tc.instanceType}`, sections, note),
      );
    }
  }

  // 3. The families.
  const famRows: FamilyRow[] = cases.map((c) => {
    const by: Record<string, SimulationResult> = {};
    let bound = 0;
    let curve: JobResult['curve'] = { waits: [0], learnerWaits: 0, coolingIdle: 0 };
    for (const x of famJobs.filter((f) => f.c === c)) {
      const r = results.get(x.id)!;
      by[x.policy] = r.result;
      bound = r.bound;
      curve = r.curve;
    }
    return { c, bound, curve, by };
  });
  const policies = SWEEP_POLICY_CASES.map((p) => p.name);
  const fam = famRows.length
    ? renderFamilies(famRows, policies, 'adaptive', ADAPTIVE_V1.name, TUNING_SEEDS, HELD_OUT_SEEDS, ADAPTIVE_R1.name)
    : undefined;

  const wallS = (performance.now() - t0) / 1000;
  const cpuMs = [...results.values()].reduce((n, r) => n + r.cpuMs, 0);
  const extra = [
    '',
    ...(fam ? fam.summary : []),
    '',
    ...engineTable(engine),
    '',
    `The whole benchmark: ${jobs.length} replays on ${workers} worker processes ` +
      `in ${wallS.toFixed(0)} s of wall time ` +
      `(${(cpuMs / 1000).toFixed(0)} s of replay CPU summed over the workers).`,
  ];
  const base = withCsv
    ? render(rows, goals, [], { main: { name: 'realistic', table: engine.latency } }, {})
    : `${START}\n${END}`;
  const section = base.replace(END, `${extra.join('\n')}\n${END}`).replace(/\n{3,}/g, '\n\n');
  console.log(`\n${section}`);
  if (write && withCsv && withFamilies && !onlyFamily) {
    writeSection(section);
    if (fam) fs.writeFileSync(path.join(CHART_DIR, 'pool-families.md'), fam.detail);
  } else if (fam) console.log(fam.detail);
}

/** Re-reads the file right before writing: other benchmarks own other sections of it. */
function writeSection(section: string): void {
  const old = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const a = old.indexOf(START);
  const b = old.indexOf(END);
  const next =
    a >= 0 && b > a ? old.slice(0, a) + section + old.slice(b + END.length) : `${old.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(DOC, next);
  console.log(`wrote ${DOC} and ${CHART_DIR}/pool-*`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
