/**
 * @module CNI benchmark report (part of `npm run bench:cni`; not a test)
 * The markdown of the per-Pod ratio (with the figures from before issue 17 beside it) and of the breakdown.
 */
import { IPAMD_PHASES, SEGMENT_LABELS, SEGMENTS, type BreakdownResult } from './cni-breakdown.js';

export interface Stats {
  n: number;
  median: number;
  p99: number;
  min: number;
}

export function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const rank = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  return { n: s.length, median: rank(0.5), p99: rank(0.99), min: s[0]! };
}

const f = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** The last run before issue 17's changes (docs/benchmarks.md of that commit). */
export const BEFORE = {
  date: '2026-12-03',
  commit: '701b5e2',
  oursAdd: 63.8,
  oursDel: 79.9,
  ptpAdd: 19.6,
  ptpDel: 31.9,
  versionStartup: 40.6,
};

export interface HeadlineInput {
  oursAdd: Stats;
  oursDel: Stats;
  ptpAdd: Stats;
  ptpDel: Stats;
  /** ADD + DEL of the same Pod, one value per Pod. */
  oursPod: Stats;
  ptpPod: Stats;
  /** The single executable alone (what the shim falls back to), interleaved in the same run. */
  seaAdd: Stats;
  seaDel: Stats;
  seaPod: Stats;
  /** VERSION of the single executable. */
  versionStartup: number;
  /** VERSION through the shim, which hands it to the single executable. */
  versionStartupShim: number;
}

export function headlineSection(h: HeadlineInput): string[] {
  const beforeRatio = (BEFORE.oursAdd + BEFORE.oursDel) / (BEFORE.ptpAdd + BEFORE.ptpDel);
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  return [
    `**ADD+DEL per Pod, vpc-ipam / ptp+host-local: ${ratio(h.oursPod.median, h.ptpPod.median)} at the median, ` +
      `${ratio(h.oursPod.p99, h.ptpPod.p99)} at p99** (${f(h.oursPod.median)} ms against ${f(h.ptpPod.median)} ms; ` +
      `p99 ${f(h.oursPod.p99)} against ${f(h.ptpPod.p99)}).`,
    '',
    `| figure | before (${BEFORE.date}, commit ${BEFORE.commit}) | now |`,
    '|---|---|---|',
    `| vpc-ipam ADD median ms (now: the shim) | ${f(BEFORE.oursAdd)} | ${f(h.oursAdd.median)} |`,
    `| vpc-ipam DEL median ms (now: the shim) | ${f(BEFORE.oursDel)} | ${f(h.oursDel.median)} |`,
    `| ptp + host-local ADD median ms | ${f(BEFORE.ptpAdd)} | ${f(h.ptpAdd.median)} |`,
    `| ptp + host-local DEL median ms | ${f(BEFORE.ptpDel)} | ${f(h.ptpDel.median)} |`,
    `| ADD+DEL per Pod ratio, median | ${beforeRatio.toFixed(2)}× (sum of the medians) | ` +
      `${ratio(h.oursPod.median, h.ptpPod.median)} |`,
    `| ADD+DEL per Pod ratio, p99 | n/a (not measured) | ${ratio(h.oursPod.p99, h.ptpPod.p99)} |`,
    `| single executable start-up (VERSION) median ms | ${f(BEFORE.versionStartup)} | ${f(h.versionStartup)} |`,
    '',
    `Same run, the single executable alone (vpc-ipam-node, what the shim falls back to; the plugin as the runtime ` +
      `ran it before the shim): ADD ${f(h.seaAdd.median)} ms, DEL ${f(h.seaDel.median)} ms, ADD+DEL per Pod ` +
      `${ratio(h.seaPod.median, h.ptpPod.median)} of ptp+host-local at the median, ` +
      `${ratio(h.seaPod.p99, h.ptpPod.p99)} at p99. The shim takes ADD+DEL per Pod to ` +
      `${ratio(h.oursPod.median, h.seaPod.median)} of the single executable's at the median. A fallback costs the ` +
      `shim's exec on top of the single executable: VERSION through the shim ${f(h.versionStartupShim)} ms, ` +
      `directly ${f(h.versionStartup)} ms.`,
  ];
}

export function breakdownSection(b: BreakdownResult): string[] {
  const seg = (cmd: 'ADD' | 'DEL', k: (typeof SEGMENTS)[number]) => {
    const xs = b.segments[cmd][k];
    return xs.length ? `${f(stats(xs).median)} | ${f(mean(xs))}` : 'n/a | n/a';
  };
  const phase = (cmd: 'ADD' | 'DEL', p: string) => {
    const x = b.phases?.get(`${cmd}/${p}`);
    return x ? `${f(x.p50Ms)} | ${f(x.meanMs)}` : 'n/a | n/a';
  };
  const rows = SEGMENTS.flatMap((k) => {
    const row = `| ${SEGMENT_LABELS[k]} | ${seg('ADD', k)} | ${seg('DEL', k)} |`;
    if (k !== 'ipamd') return [row];
    return [
      row,
      ...IPAMD_PHASES.map(
        (p) => `| → ipamd phase \`${p}\` (its histogram) | ${phase('ADD', p)} | ${phase('DEL', p)} |`,
      ),
    ];
  });
  const p50 = (cmd: 'ADD' | 'DEL') => f(stats(b.segments[cmd].ipamd).median);
  return [
    `Where one ADD and one DEL spend their time (a separate pass, ${b.pods} Pods, the plugin connected to ipamd ` +
      'through a timestamping Unix-socket proxy in the bench; the proxy adds one local hop, so this pass is not the ' +
      'headline). ipamd phases: from `vpc_ipam_cni_request_phase_seconds` on /metrics, the difference of two scrapes ' +
      'around the pass; p50 interpolated in the histogram bucket, on ADD durability and wiring overlap' +
      (b.phases ? '.' : '; n/a: the daemon does not export the histogram.'),
    '',
    `ipamd's handling p50 (socket view, request line → first reply byte): ` +
      `ADD ${p50('ADD')} ms, DEL ${p50('DEL')} ms.`,
    '',
    // Through the shim, the socket view also holds the plugin's own code run in ipamd (cni-hosted.ts measures it).
    "Through the shim the socket view also holds the plugin's own code, run in ipamd (measured alone below).",
    '',
    '| segment | ADD p50 ms | ADD mean ms | DEL p50 ms | DEL mean ms |',
    '|---|---|---|---|---|',
    ...rows,
  ];
}
