/**
 * @module pool benchmark report
 * The Markdown block `npm run bench:pool` writes between the bench:pool
 * markers of docs/benchmarks.md: the results table and issue 5's goal check
 * under the main timing profile (realistic by default), what of the goal is
 * not met, and, from the same run, the before/after comparison with the
 * legacy timings, ratios side by side (the machine is shared: only figures of
 * one run are compared).
 */
import * as os from 'node:os';
import type { SimulationResult } from '../../ipamd/sim/engine.js';
import type { LatencyTable } from '../../providers/sim/index.js';
import { POLICY_CASES, type GoalCheck } from './pool-cases.js';
import { SEED } from './traces/generate.js';

export const START = '<!-- bench:pool:start -->';
export const END = '<!-- bench:pool:end -->';

export interface Row {
  trace: string;
  instanceType: string;
  policy: string;
  result: SimulationResult;
  adds: number;
  wallMs: number;
  /** CPU time of the replay (user + system): steadier than wall time on a shared machine. */
  cpuMs: number;
  /** The same trace and policy under the comparison profile, when one ran. */
  before?: SimulationResult;
}

export interface HeldOut {
  seed: number;
  trace: string;
  goal: GoalCheck;
  /** The same check under the comparison profile, when one ran. */
  before?: GoalCheck;
}

export interface Profiles {
  /** Name and table of the profile every table but the comparison uses. */
  main: { name: string; table: LatencyTable };
  /** The profile it is compared with (legacy), if any. */
  before?: { name: string; table: LatencyTable };
}

const GOAL_HEAD = 'idle: adaptive ≤ ½ default | p99: adaptive ≤ default | waited: adaptive × 5 ≤ tight';

/** One cell per part of the goal: "met" or "**not met**", with the figures it compared. */
export function describeGoal(g: GoalCheck): string {
  const mark = (ok: boolean) => (ok ? 'met' : '**not met**');
  const idle = `${mark(g.idle.ok)}: ${g.idle.adaptive} ≤ ${round(g.idle.limit)}`;
  const p99 = `${mark(g.p99.ok)}: ${g.p99.adaptive} ≤ ${g.p99.limit} ms`;
  return `${idle} | ${p99} | ${mark(g.waited.ok)}: ${g.waited.adaptive} vs ${g.waited.tight}`;
}

const PARTS = [
  ['idle', 'idle: adaptive ≤ ½ default'],
  ['p99', 'p99: adaptive ≤ default'],
  ['waited', 'waited: adaptive × 5 ≤ tight'],
] as const;

function part(g: GoalCheck, k: (typeof PARTS)[number][0]): string {
  if (k === 'idle') return `adaptive ${g.idle.adaptive} vs ½ default ${round(g.idle.limit)}`;
  if (k === 'p99') return `adaptive ${g.p99.adaptive} vs default ${g.p99.limit} ms`;
  return `adaptive ${g.waited.adaptive} vs tight ${g.waited.tight}`;
}

interface Checked {
  where: string;
  goal: GoalCheck;
  before?: GoalCheck;
}

/** Every part of the goal a check did not meet, named, with its figures and the comparison profile's. */
function misses(checks: Checked[], main: string, before?: string): string[] {
  const out: string[] = [];
  for (const c of checks) {
    for (const [k, label] of PARTS) {
      if (c.goal[k].ok) continue;
      const then = c.before?.[k].ok ? 'met' : 'not met';
      const was = c.before && before ? ` (${before} timings: ${then}, ${part(c.before, k)})` : '';
      out.push(`- ${c.where}, ${label}: **not met**, ${part(c.goal, k)}${was}`);
    }
  }
  if (out.length === 0) return ['', `Every part of the goal is met with the ${main} timings, on every trace above.`];
  return ['', `Not met with the ${main} timings (as measured):`, '', ...out];
}

/** The profile in one sentence, for the block's header. */
function describeProfile(name: string, t: LatencyTable): string {
  const a = t.actions;
  const min = t.metadataPropagationMs;
  const max = t.metadataPropagationMaxMs;
  const lag = max > min ? `${min}-${max} ms (drawn per attach)` : `${min} ms`;
  const detach =
    t.detachSettleMs > 0 ? `detach in progress ${t.detachSettleMs} ms after it answers` : 'detach done when it answers';
  const nf =
    t.consistencyWindowMs > 0
      ? `NotFound ${t.notFoundRatio * 100}% of the time within ${t.consistencyWindowMs} ms of a change`
      : 'no eventual consistency';
  return (
    `**${name}** timings: assign ${a.AssignPrivateIpAddresses} ms, unassign ${a.UnassignPrivateIpAddresses} ms, ` +
    `create ${a.CreateNetworkInterface} ms + attach ${a.AttachNetworkInterface} ms + metadata lag ${lag}, ` +
    `describe ${a.DescribeInstances} ms, detach ${a.DetachNetworkInterface} ms, ` +
    `delete ${a.DeleteNetworkInterface} ms; ${detach}; ${nf}`
  );
}

function ratio(before: number, after: number): string {
  if (before === after) return '×1';
  if (before === 0) return 'new';
  return `×${(after / before).toFixed(2)}`;
}

const pair = (before: number, after: number) => `${before} → ${after} (${ratio(before, after)})`;

/** Per trace × policy: the four figures under both profiles; then the calls per action, summed over the runs. */
function comparison(rows: Row[], goalsBefore: Record<string, GoalCheck>, p: Required<Profiles>): string[] {
  const runs = rows.filter((r) => r.before);
  if (runs.length === 0) return [];
  const actionsOf = (r: Row) => [r.before!, r.result].flatMap((x) => Object.keys(x.apiCalls.byAction));
  const actions = [...new Set(runs.flatMap(actionsOf))].sort();
  const sum = (k: string, pick: (r: Row) => SimulationResult) =>
    runs.reduce((n, r) => n + (pick(r).apiCalls.byAction[k] ?? 0), 0);
  const b = p.before.name;
  const m = p.main.name;
  const row = (r: Row) => {
    const [x, y] = [r.before!, r.result];
    const cells = [
      pair(x.podWaitP99Ms, y.podWaitP99Ms),
      pair(x.podsWaited, y.podsWaited),
      pair(x.failedAdds, y.failedAdds),
      pair(x.apiCalls.total, y.apiCalls.total),
    ];
    return `| ${r.trace} | ${r.policy} | ${cells.join(' | ')} |`;
  };
  return [
    '',
    `#### Before/after: ${b} → ${m} timings, same run`,
    '',
    summary(
      runs,
      actions.map((k) => ({ k, x: sum(k, (r) => r.before!), y: sum(k, (r) => r.result) })),
      b,
      m,
    ),
    '',
    `Each cell is ${b} → ${m} (${m} ÷ ${b}); "new" where the ${b} figure was 0.`,
    '',
    '| trace | policy | Pod wait p99 ms | Pods waited | failed ADDs | cloud calls |',
    '|---|---|---|---|---|---|',
    ...runs.map(row),
    '',
    `Cloud calls by action, summed over the ${runs.length} replays above:`,
    '',
    `| action | ${b} | ${m} | ratio |`,
    '|---|---|---|---|',
    ...actions.map((k) => {
      const [x, y] = [sum(k, (r) => r.before!), sum(k, (r) => r.result)];
      return `| ${k} | ${x} | ${y} | ${ratio(x, y)} |`;
    }),
    '',
    `The goal check under the ${b} timings, for comparison with the one above:`,
    '',
    `| trace | ${GOAL_HEAD} |`,
    '|---|---|---|---|',
    ...Object.entries(goalsBefore).map(([t, g]) => `| ${t} | ${describeGoal(g)} |`),
  ];
}

/** Why the realistic timings add calls of an action (docs/sim-cloud.md, "Latency"). */
const WHY_MORE: Readonly<Record<string, string>> = {
  DescribeNetworkInterfaces: 'reads waiting for a detach to finish',
  ModifyNetworkInterfaceAttribute: 'sent again after NotFound just after the attach',
  AssignPrivateIpAddresses: 'sent again after NotFound just after a change',
  UnassignPrivateIpAddresses: 'sent again after NotFound just after a change',
  DeleteNetworkInterface: 'sent again while refused "in use" or NotFound',
};

/** What changed, in one paragraph computed from the rows (so it is always this run's). */
function summary(runs: Row[], calls: Array<{ k: string; x: number; y: number }>, b: string, m: string): string {
  const total = (pick: (x: SimulationResult) => number, side: 'before' | 'result') =>
    runs.reduce((n, r) => n + pick(r[side]!), 0);
  const slower = runs.filter((r) => r.result.podWaitP99Ms > r.before!.podWaitP99Ms);
  const worst = slower.reduce<Row | undefined>((w, r) => {
    const k = (x: Row) => x.result.podWaitP99Ms - x.before!.podWaitP99Ms;
    return !w || k(r) > k(w) ? r : w;
  }, undefined);
  const waited = (s: 'before' | 'result') => total((x) => x.podsWaited, s);
  const failed = (s: 'before' | 'result') => total((x) => x.failedAdds, s);
  const allCalls = (s: 'before' | 'result') => total((x) => x.apiCalls.total, s);
  const grew = calls
    .filter((c) => c.y > c.x)
    .sort((p, q) => q.y - q.x - (p.y - p.x))
    .slice(0, 3);
  const added = grew.map((c) => `${c.k} +${c.y - c.x}${WHY_MORE[c.k] ? ` (${WHY_MORE[c.k]})` : ''}`).join(', ');
  const [c0, c1] = [allCalls('before'), allCalls('result')];
  const worstText = worst
    ? `, most in ${worst.trace} / ${worst.policy} (${worst.before!.podWaitP99Ms} → ${worst.result.podWaitP99Ms} ms)`
    : '';
  return (
    `Pod wait: the p99 rose in ${slower.length} of the ${runs.length} replays${worstText}; Pods that waited, ` +
    `${waited('before')} → ${waited('result')} in all; failed ADDs, ${failed('before')} → ${failed('result')}. ` +
    `Cloud calls: ${c0} → ${c1} (${ratio(c0, c1)}), the most added by ${added} (${m} against ${b}).`
  );
}

function resultRow(r: Row): string {
  const x = r.result;
  const cells = [
    `${r.trace} (${r.instanceType})`,
    r.policy,
    x.avgIdleIps,
    x.peakIpsHeld,
    `${x.podWaitP50Ms} / ${x.podWaitP99Ms} / ${x.podWaitMaxMs}`,
    `${x.podsWaited} of ${r.adds}`,
    x.failedAdds,
    x.apiCalls.total,
    `${(r.wallMs / 1000).toFixed(1)} (${(r.cpuMs / 1000).toFixed(1)})`,
  ];
  return `| ${cells.join(' | ')} |`;
}

function heldOutTable(heldOut: HeldOut[], main: string): string[] {
  if (heldOut.length === 0) return [];
  return [
    '',
    `The policy's constants were chosen on the traces above (generator seed ${SEED}, legacy timings). The same check`,
    'on traces the generator makes with seeds it was never tuned on (`generate.ts --seed N`), same shapes, other',
    `randomness, ${main} timings:`,
    '',
    `| seed | trace | ${GOAL_HEAD} |`,
    '|---|---|---|---|---|',
    ...heldOut.map((h) => `| ${h.seed} | ${h.trace} | ${describeGoal(h.goal)} |`),
  ];
}

export function render(
  rows: Row[],
  goals: Record<string, GoalCheck>,
  heldOut: HeldOut[],
  profiles: Profiles,
  goalsBefore: Record<string, GoalCheck>,
): string {
  const main = profiles.main;
  const dayRuns = rows.filter((r) => r.result.durationS >= 86_000);
  const slowestDay = dayRuns.length ? dayRuns.reduce((a, b) => (b.wallMs > a.wallMs ? b : a)) : undefined;
  const day = new Date().toISOString().slice(0, 10);
  const measured = `Measured ${day} on ${os.cpus().length} cores, Node ${process.version}.`;
  const before = profiles.before;
  const checked: Checked[] = [
    ...Object.entries(goals).map(([t, g]) => ({ where: t, goal: g, before: goalsBefore[t] })),
    ...heldOut.map((h) => ({ where: `${h.trace} (held-out seed ${h.seed})`, goal: h.goal, before: h.before })),
  ];
  const out = [
    START,
    '### Warm-pool policies on Pod churn traces (`npm run bench:pool`)',
    '',
    `${measured} Each row replays a one-node trace through the daemon's own pool engine (datastore,`,
    'planner, reconciler, allocator) in virtual time against the sim cloud, with the same timings for every policy.',
    `${describeProfile(main.name, main.table)} (see docs/sim-cloud.md, "Latency").`,
    ...(before ? ['', `Compared below with the ${describeProfile(before.name, before.table)}.`] : []),
    '',
    'Idle = held but not assigned, cooling included, time-weighted. A wait is an ADD that found no ready address.',
    'Traces: `test/bench/traces/` (generated by `generate.ts` from a fixed seed; `steady` is the shared trace). How to',
    'read and reproduce: [tuning.md](tuning.md).',
    slowestDay !== undefined
      ? `\nA day of churn replays in at most ${(slowestDay.wallMs / 1000).toFixed(1)} s of wall time here ` +
        `(${(slowestDay.cpuMs / 1000).toFixed(1)} s of CPU; the slowest 24 h run below, ${main.name} timings).`
      : '',
    '',
    '| trace (instance) | policy | avg idle IPs | peak held | Pod wait p50 / p99 / max ms | Pods waited ' +
      '| failed ADDs | cloud calls | replay s (CPU s) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map(resultRow),
    '',
    'Policies: ' + POLICY_CASES.map((p) => `**${p.name}**: ${p.why}`).join('; ') + '.',
    '',
    `Goal (issue 5), checked on these results (${main.name} timings): adaptive holds at most half the default's`,
    "average idle IPs, its p99 Pod wait is no worse than the default's, and at least 5x fewer Pods wait than with",
    '`tight`.',
    '',
    `| trace | ${GOAL_HEAD} | charts |`,
    '|---|---|---|---|---|',
    ...Object.entries(goals).map(([t, g]) => `| ${t} | ${describeGoal(g)} | ${chartLink(t)} |`),
    ...heldOutTable(heldOut, main.name),
    ...misses(checked, main.name, before?.name),
    ...(profiles.before ? comparison(rows, goalsBefore, profiles as Required<Profiles>) : []),
    END,
  ];
  return out.filter((l, i) => !(l === '' && out[i - 1] === '')).join('\n');
}

const chartLink = (trace: string) => `[pool-${trace}.html](benchmarks/pool-${trace}.html)`;

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
