/**
 * @module pool benchmark family report
 * Issue 17's judgement of the policies on trace families: per family, the
 * WORST trace (never the mean) of adaptive ÷ aws-default average idle, of
 * the Pods that waited and the p99 wait against the default's, and of every
 * policy's average idle ÷ the clairvoyant bound; tuning seeds and held-out
 * seeds/parameters apart. The per-trace detail goes to a linked file.
 */
import type { SimulationResult } from '../../ipamd/sim/engine.js';
import type { FamilyCase } from './pool-families.js';

export interface FamilyRow {
  c: FamilyCase;
  bound: number;
  /** Results by policy name. */
  by: Record<string, SimulationResult>;
}

interface Worst {
  traces: number;
  idleRatio: number;
  idleAt: string;
  /** Largest (adaptive − default) Pods waited, and on how many traces adaptive waited more. */
  waitedExcess: number;
  waitedWorse: number;
  p99Excess: number;
  p99Worse: number;
  met: number;
  /** Worst idle ÷ bound per policy. */
  bound: Record<string, number>;
}

const DEFAULT = 'aws-default';

/** The goal on one trace for `adaptive` (a policy name): idle ≤ ½ default, waited and p99 no worse. */
export function meets(r: FamilyRow, adaptive: string): boolean {
  const a = r.by[adaptive]!;
  const d = r.by[DEFAULT]!;
  return a.avgIdleIps <= d.avgIdleIps / 2 && a.podsWaited <= d.podsWaited && a.podWaitP99Ms <= d.podWaitP99Ms;
}

function worst(rows: FamilyRow[], adaptive: string, policies: string[]): Worst {
  const w: Worst = {
    traces: rows.length,
    idleRatio: 0,
    idleAt: '',
    waitedExcess: 0,
    waitedWorse: 0,
    p99Excess: 0,
    p99Worse: 0,
    met: 0,
    bound: {},
  };
  for (const r of rows) {
    const a = r.by[adaptive]!;
    const d = r.by[DEFAULT]!;
    const ratio = d.avgIdleIps > 0 ? a.avgIdleIps / d.avgIdleIps : 0;
    if (ratio > w.idleRatio) [w.idleRatio, w.idleAt] = [ratio, r.c.name];
    w.waitedExcess = Math.max(w.waitedExcess, a.podsWaited - d.podsWaited);
    if (a.podsWaited > d.podsWaited) w.waitedWorse++;
    w.p99Excess = Math.max(w.p99Excess, a.podWaitP99Ms - d.podWaitP99Ms);
    if (a.podWaitP99Ms > d.podWaitP99Ms) w.p99Worse++;
    if (meets(r, adaptive)) w.met++;
    for (const p of policies) {
      const x = r.by[p];
      if (x && r.bound > 0) w.bound[p] = Math.max(w.bound[p] ?? 0, x.avgIdleIps / r.bound);
    }
  }
  return w;
}

const f2 = (n: number) => n.toFixed(2);
const mark = (ok: boolean) => (ok ? '' : ' ✗');

/** The summary block (for docs/benchmarks.md) and the detail page (docs/benchmarks/pool-families.md). */
export function renderFamilies(
  rows: FamilyRow[],
  policies: string[],
  after: string,
  before: string,
  tuningSeeds: number[],
  heldOutSeeds: number[],
): { summary: string[]; detail: string } {
  const families = [...new Set(rows.map((r) => r.c.family))];
  const split = (held: boolean) => rows.filter((r) => r.c.heldOut === held);
  const line = (fam: string, set: string, rs: FamilyRow[]) => {
    const a = worst(rs, after, policies);
    const b = worst(rs, before, policies);
    const cells = [
      fam,
      set,
      String(a.traces),
      `${f2(b.idleRatio)} → **${f2(a.idleRatio)}**${mark(a.idleRatio <= 0.5)}`,
      `${b.waitedExcess} (${b.waitedWorse}) → **${a.waitedExcess} (${a.waitedWorse})**${mark(a.waitedWorse === 0)}`,
      `${b.p99Excess} (${b.p99Worse}) → **${a.p99Excess} (${a.p99Worse})**${mark(a.p99Worse === 0)}`,
      `${b.met} → **${a.met}** of ${a.traces}`,
    ];
    return `| ${cells.join(' | ')} |`;
  };
  const boundLine = (fam: string, set: string, rs: FamilyRow[]) => {
    const a = worst(rs, after, policies);
    return `| ${fam} | ${set} | ${policies.map((p) => f2(a.bound[p] ?? 0)).join(' | ')} |`;
  };
  const sets: Array<[string, boolean]> = [
    ['tuning', false],
    ['held-out', true],
  ];
  const table = (fn: typeof line) =>
    families.flatMap((fam) =>
      sets
        .map(([name, held]) => [name, split(held).filter((r) => r.c.family === fam)] as const)
        .filter(([, rs]) => rs.length > 0)
        .map(([name, rs]) => fn(fam, name, rs)),
    );
  const summary = [
    `#### Trace families: worst case per family (${rows.length} traces, ${before} → ${after}, same run)`,
    '',
    `Worst trace of each family, never the mean. Tuning seeds ${tuningSeeds.join(', ')}; held-out seeds ` +
      `${heldOutSeeds.join(', ')} and, on every seed, the last parameter set of each kind (marked held-out in ` +
      'the detail) were never looked at while tuning. "waited +N (k)": the most Pods that waited beyond the ' +
      "default's on one trace, and on how many traces adaptive waited more; p99 the same in ms. ✗ = goal not met.",
    '',
    '| family | seeds | traces | worst adaptive ÷ default idle | waited beyond default: most (traces) ' +
      '| p99 beyond default ms: most (traces) | traces meeting all three |',
    '|---|---|---|---|---|---|---|',
    ...table(line),
    '',
    'Worst average idle ÷ clairvoyant bound per family (the bound: each address assigned one assign latency before ' +
      'its Pod, and the cooldown after its DEL, counted idle; aim ≤ 3):',
    '',
    `| family | seeds | ${policies.join(' | ')} |`,
    `|---|---|${policies.map(() => '---').join('|')}|`,
    ...table(boundLine),
    '',
    'Every trace, every policy: [the family detail](benchmarks/pool-families.md).',
  ];
  const head = policies.map((p) => `${p} idle (÷ bound) / waited / p99`).join(' | ');
  const detail = [
    '# Warm pool on trace families (detail)',
    '',
    'Written by `npm run bench:pool`; the summary is in [../benchmarks.md](../benchmarks.md). Generator A is',
    '`test/bench/traces/generate.ts` (one day), B is `test/bench/traces/families.ts` (other distributions).',
    '',
    `| trace | held-out | bound | ${head} | goal (${after}) |`,
    `|---|---|---|${policies.map(() => '---').join('|')}|---|`,
    ...rows.map((r) => {
      const cells = policies.map((p) => {
        const x = r.by[p];
        return x ? `${x.avgIdleIps} (${f2(x.avgIdleIps / r.bound)}) / ${x.podsWaited} / ${x.podWaitP99Ms}` : '';
      });
      const goal = meets(r, after) ? 'met' : '**not met**';
      return `| ${r.c.name} | ${r.c.heldOut ? 'yes' : ''} | ${f2(r.bound)} | ${cells.join(' | ')} | ${goal} |`;
    }),
    '',
  ].join('\n');
  return { summary, detail };
}
