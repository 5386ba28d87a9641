/**
 * @module CNI time breakdown (part of `npm run bench:cni`; not a test)
 * A separate pass after the headline one: the plugin talks to ipamd through {@link TimingProxy}, and each ADD and
 * DEL is cut into plugin start (exec → connect), request write, ipamd's handling as the socket sees it (request
 * complete → first reply byte), reply read (→ the plugin closes the socket) and exit (→ process exit).
 * ipamd's own phases come from its histogram `vpc_ipam_cni_request_phase_seconds{command,phase}` on /metrics,
 * scraped before and after the pass; a daemon without it prints "n/a".
 */
import { spawn } from 'node:child_process';
import type { Attachment } from '../cni/chain-runner.js';
import { cniEnv, type PluginCommand } from '../cni/plugin-process.js';
import type { ConnTimes, TimingProxy } from './cni-proxy.js';

const METRIC = 'vpc_ipam_cni_request_phase_seconds';
export const IPAMD_PHASES = ['queue', 'allocate', 'durability', 'wiring', 'total'] as const;
type Command = 'ADD' | 'DEL';

interface TimedRun {
  code: number | null;
  stdout: string;
  spawn: number;
  exit: number;
}

/** One plugin process; `exit` is when the child's exit was seen, on the same clock as the proxy's stamps. */
function runTimed(cmd: PluginCommand, env: NodeJS.ProcessEnv, stdin: object): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd[0]!, cmd.slice(1), { env, stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    let exit = NaN;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', reject);
    child.on('exit', () => (exit = performance.now()));
    child.on('close', (code) => resolve({ code, stdout, spawn: t0, exit }));
    child.stdin.end(JSON.stringify(stdin));
  });
}

export const SEGMENTS = ['start', 'request', 'ipamd', 'reply', 'exit', 'total'] as const;
type Segment = (typeof SEGMENTS)[number];
export const SEGMENT_LABELS: Record<Segment, string> = {
  start: 'plugin start (exec → connect)',
  request: 'request write (connect → request line at the socket)',
  ipamd: "ipamd's handling, socket view (request line → first reply byte)",
  reply: 'reply read (first reply byte → plugin closes the socket)',
  exit: 'exit (socket closed → process exit)',
  total: 'total (exec → exit), through the proxy',
};

function segments(r: TimedRun, t: ConnTimes | undefined): Record<Segment, number> | undefined {
  if (!t?.requestDone || !t.replyFirstByte || !t.clientClose) return undefined;
  return {
    start: t.connect - r.spawn,
    request: t.requestDone - t.connect,
    ipamd: t.replyFirstByte - t.requestDone,
    reply: t.clientClose - t.replyFirstByte,
    exit: r.exit - t.clientClose,
    total: r.exit - r.spawn,
  };
}

/** Sum, count and cumulative buckets of each `command/phase` series. */
type Histograms = Map<string, { sum: number; count: number; buckets: Map<number, number> }>;

export function parseHistograms(text: string): Histograms {
  const out: Histograms = new Map();
  const re = new RegExp(`^${METRIC}_(bucket|sum|count)\\{([^}]*)\\} (\\S+)$`);
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const key = `${labels.command}/${labels.phase}`;
    const h = out.get(key) ?? { sum: 0, count: 0, buckets: new Map<number, number>() };
    out.set(key, h);
    const v = Number(m[3]);
    if (m[1] === 'sum') h.sum = v;
    else if (m[1] === 'count') h.count = v;
    else h.buckets.set(labels.le === '+Inf' ? Infinity : Number(labels.le), v);
  }
  return out;
}

export interface PhaseFigure {
  n: number;
  meanMs: number;
  /** Linear interpolation inside the bucket that holds the median. */
  p50Ms: number;
}

/** The pass's own observations: `after` minus `before`, per command and phase. */
export function phaseFigures(before: Histograms, after: Histograms): Map<string, PhaseFigure> {
  const out = new Map<string, PhaseFigure>();
  for (const [key, a] of after) {
    const b = before.get(key);
    const n = a.count - (b?.count ?? 0);
    if (n <= 0) continue;
    const les = [...a.buckets.keys()].sort((x, y) => x - y);
    const cum = les.map((le) => a.buckets.get(le)! - (b?.buckets.get(le) ?? 0));
    const i = cum.findIndex((c) => c >= n / 2);
    const lo = i > 0 ? les[i - 1]! : 0;
    const hi = Number.isFinite(les[i]!) ? les[i]! : lo;
    const below = i > 0 ? cum[i - 1]! : 0;
    const inBucket = cum[i]! - below;
    const p50 = inBucket > 0 ? lo + ((n / 2 - below) / inBucket) * (hi - lo) : lo;
    out.set(key, { n, meanMs: ((a.sum - (b?.sum ?? 0)) / n) * 1000, p50Ms: p50 * 1000 });
  }
  return out;
}

async function scrape(metricsUrl: string | undefined): Promise<Histograms | undefined> {
  if (!metricsUrl) return undefined;
  try {
    const r = await fetch(metricsUrl);
    return r.ok ? parseHistograms(await r.text()) : undefined;
  } catch {
    return undefined;
  }
}

export interface BreakdownResult {
  pods: number;
  /** Per command, per segment: one value per plugin process. */
  segments: Record<Command, Record<Segment, number[]>>;
  /** ipamd's phases by `ADD/total` etc.; undefined when /metrics or the histogram is missing. */
  phases: Map<string, PhaseFigure> | undefined;
}

export interface BreakdownInput {
  plugin: PluginCommand;
  proxy: TimingProxy;
  /** The request configuration on stdin (ipamdSocket = the proxy), given the ADD result for DEL's prevResult. */
  request(prevResult?: Record<string, unknown>): object;
  pods: Attachment[];
  metricsUrl: string | undefined;
}

export async function runBreakdown(o: BreakdownInput): Promise<BreakdownResult> {
  const empty = () => Object.fromEntries(SEGMENTS.map((s) => [s, [] as number[]])) as Record<Segment, number[]>;
  const res: BreakdownResult = { pods: o.pods.length, segments: { ADD: empty(), DEL: empty() }, phases: undefined };
  const before = await scrape(o.metricsUrl);
  const added: Array<Record<string, unknown>> = [];
  const one = async (cmd: Command, a: Attachment, prev?: Record<string, unknown>) => {
    const env = cniEnv({ CNI_COMMAND: cmd, CNI_CONTAINERID: a.containerId, CNI_NETNS: a.netns, CNI_IFNAME: a.ifName });
    o.proxy.take();
    const r = await runTimed(o.plugin, env, o.request(prev));
    if (r.code !== 0) throw new Error(`breakdown ${cmd} ${a.containerId} failed: ${r.stdout}`);
    const s = segments(r, o.proxy.take());
    if (s) for (const k of SEGMENTS) res.segments[cmd][k].push(s[k]);
    return r.stdout;
  };
  for (const a of o.pods) added.push(JSON.parse(await one('ADD', a)) as Record<string, unknown>);
  for (let i = 0; i < o.pods.length; i++) await one('DEL', o.pods[i]!, added[i]);
  const after = await scrape(o.metricsUrl);
  if (before && after) {
    const figures = phaseFigures(before, after);
    if (figures.size > 0) res.phases = figures;
  }
  return res;
}
