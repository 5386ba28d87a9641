/**
 * Start-up benchmark (`npm run bench:startup [-- sim aws azure gcp]`; not a test). For each provider, a real
 * `vpc-ipamd` process against that cloud's emulator (its own process) at the emulator's realistic latencies
 * (REALISTIC below, as docs/sim-cloud.md selects them), measured from the daemon's exec:
 *
 * - a fresh node: exec → healthy (/healthz 200), and exec → the first ADD answered (sent once healthy: the
 *   kubelet starts Pods when the node's network is ready, which follows the socket);
 * - a restart over a node holding BENCH_RESTART_PODS (default 250) checkpointed assignments: exec → healthy,
 *   exec → a DEL of a checkpointed Pod and a repeated ADD answered (both sent once healthy), and exec → the
 *   first cloud call completed (the daemon's /v1/startup), so the order is visible.
 *
 * With BENCH_BASELINE_DIST=<a dist/ of the code before> the same is measured for it in the same run (fresh
 * and restart nodes of its own), so before/after are ratios from one run. BENCH_RUNS runs (default 3), the
 * median reported; providers and variants interleaved run by run. Writes the table between
 * `<!-- bench:startup:start -->` and `<!-- bench:startup:end -->` of BENCH_DOC (default docs/benchmarks.md).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { PROTOCOL_VERSION, type Response } from '../../cni/contract/protocol.js';
import { callIpamd } from '../../cni/contract/socket-client.js';
import {
  getJson,
  kill,
  PRODUCTION_LAUNCH,
  REPO,
  startDaemon,
  type DaemonHandle,
  type DaemonLaunch,
} from '../helpers/daemon-process.js';
import { startEmulator, type EmulatorProcess } from '../helpers/emulator-process.js';
import { median, writeBlock } from './bench-doc.js';

const ALL = ['sim', 'aws', 'azure', 'gcp'] as const;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PODS = Number(process.env.BENCH_RESTART_PODS ?? 250);
const DOC = path.resolve(REPO, process.env.BENCH_DOC ?? 'docs/benchmarks.md');
const BASELINE = process.env.BENCH_BASELINE_DIST;
/** Start to healthy before issue 17 (docs/benchmarks.md, bench:memory: sim at 0.02× latency, aws at 0×). */
const PREVIOUS: Record<string, number> = { sim: 1.78, aws: 9.24, azure: 6.92, gcp: 12.4 };

interface Setup {
  emulate: string[];
  env: Record<string, string>;
}
/**
 * Realistic latencies: the sim's VPC_IPAM_SIM_LATENCY_SCALE=1 (REALISTIC_LATENCY; the test helper's 0.02 is
 * overridden), the EC2 emulator's --latency-scale 1 (its default is 0) with emulate-mode realism (attach,
 * IMDS lag, eventual consistency), Azure's 3 s operations with Retry-After 10 and GCE's 4 s operations (both
 * their `emulate` defaults).
 */
const REALISTIC: Record<string, Setup> = {
  sim: { emulate: [], env: { VPC_IPAM_SIM_LATENCY_SCALE: '1' } },
  aws: { emulate: ['--latency-scale', '1'], env: {} },
  azure: { emulate: [], env: {} },
  gcp: { emulate: [], env: {} },
};
/** A node that holds 250 Pods: prefixes (and a /20) where the default node is smaller, a /22 on Azure. */
const LARGE: Record<string, Setup> = {
  sim: { emulate: [], env: { ENABLE_PREFIX_DELEGATION: 'true', VPC_IPAM_SIM_SUBNET_CIDR: '10.0.0.0/20' } },
  aws: { emulate: ['--subnet', '10.0.0.0/20'], env: { ENABLE_PREFIX_DELEGATION: 'true' } },
  azure: { emulate: ['--subnet', '10.240.0.0/22'], env: {} },
  gcp: { emulate: [], env: {} },
};

type Variant = 'before' | 'after';
/** Before: the baseline tree's tsc output as it ran then; after: the image's launch (the bundle, its flags). */
const launchOf = (v: Variant): DaemonLaunch =>
  v === 'before' ? { entry: path.join(path.resolve(BASELINE!), 'ipamd/main.js'), nodeArgs: [] } : PRODUCTION_LAUNCH;

interface Fresh {
  healthy: number;
  firstAdd: number;
  /** The daemon's own steps, ms since its process began (after only). */
  steps?: Record<string, number>;
}
interface Restart {
  healthy: number;
  del: number;
  add: number;
  firstCloud?: number;
}

async function ask(h: DaemonHandle, op: 'add' | 'del', id: string): Promise<Response> {
  const r = (await callIpamd(h.socket, {
    v: PROTOCOL_VERSION,
    op,
    network: 'vpc-ipam',
    containerId: id,
    ifName: 'eth0',
  })) as Response;
  if (!r.ok) throw new Error(`${op} ${id}: ${JSON.stringify(r)}`);
  return r;
}

type Startup = { steps: Record<string, number>; firstCloudCall?: number; sinceProcessMs: Record<string, number> };

/** Polls /v1/startup until `done` says so (60 s at most). */
async function startupView(h: DaemonHandle, done: (s: Startup) => boolean): Promise<Startup> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await getJson<Startup>(h, '/v1/startup');
    if (done(s)) return s;
    if (Date.now() > deadline) throw new Error(`start not done in 60 s: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function fresh(p: string, v: Variant): Promise<Fresh> {
  const emu = p === 'sim' ? undefined : await startEmulator(p, REALISTIC[p]!.emulate);
  let h: DaemonHandle | undefined;
  try {
    const env = { ...emu?.env, VPC_IPAM_PROVIDER: p, ...REALISTIC[p]!.env, WARM_IP_TARGET: '16' };
    const t0 = Date.now();
    h = await startDaemon({ ...env, VPC_IPAM_METRICS_ADDRESS: 'off' }, undefined, launchOf(v));
    const healthy = Date.now() - t0;
    await ask(h, 'add', 'first');
    const firstAdd = Date.now() - t0;
    const steps = v === 'after' ? (await startupView(h, (s) => s.steps.filled !== undefined)).sinceProcessMs : {};
    return { healthy, firstAdd, ...(v === 'after' ? { steps } : {}) };
  } finally {
    if (h) await kill(h, 'SIGTERM');
    await emu?.close();
  }
}

interface Node {
  emu?: EmulatorProcess;
  /** The stopped daemon: its env, state dir and ports are the restart's. */
  prev: DaemonHandle;
  runs: number;
}

/** A node holding PODS assignments (each on disk before its answer), its daemon stopped. */
async function prepare(p: string, v: Variant): Promise<Node> {
  const emu = p === 'sim' ? undefined : await startEmulator(p, [...REALISTIC[p]!.emulate, ...LARGE[p]!.emulate]);
  const env = {
    ...emu?.env,
    VPC_IPAM_PROVIDER: p,
    ...REALISTIC[p]!.env,
    ...LARGE[p]!.env,
    MINIMUM_IP_TARGET: String(PODS + RUNS + 4),
    VPC_IPAM_ADD_WAIT_SECONDS: '120',
    VPC_IPAM_METRICS_ADDRESS: 'off',
  };
  const h = await startDaemon(env, undefined, launchOf(v));
  for (let i = 0; i < PODS; i += 25) {
    await Promise.all(Array.from({ length: Math.min(25, PODS - i) }, (_, j) => ask(h, 'add', `c${i + j}`)));
  }
  await kill(h, 'SIGTERM');
  return { ...(emu ? { emu } : {}), prev: h, runs: 0 };
}

/** Restarts `n`'s daemon: DEL of one checkpointed Pod and a repeated ADD of another, both sent once healthy. */
async function restart(n: Node, v: Variant): Promise<Restart> {
  const k = n.runs++;
  const t0 = Date.now();
  const h = await startDaemon({}, n.prev, launchOf(v));
  try {
    const healthy = Date.now() - t0;
    const [del, add] = await Promise.all([
      ask(h, 'del', `c${k}`).then(() => Date.now() - t0),
      ask(h, 'add', `c${k + 1}`).then(() => Date.now() - t0),
    ]);
    let firstCloud: number | undefined;
    if (v === 'after') {
      const s = await startupView(h, (x) => x.steps.filled !== undefined);
      firstCloud = s.firstCloudCall === undefined ? undefined : s.firstCloudCall - t0;
    }
    // Back to PODS assignments for the next run (a new address: the old one cools down).
    await ask(h, 'add', `c${k}`);
    return { healthy, del, add, ...(firstCloud !== undefined ? { firstCloud } : {}) };
  } finally {
    await kill(h, 'SIGTERM');
  }
}

const sec = (ms: number | undefined) => (ms === undefined ? '—' : (ms / 1000).toFixed(2));
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? '—' : `${(a / b).toFixed(2)}×`;
const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
const med = <T>(xs: T[], f: (x: T) => number | undefined) => {
  const v = xs.map(f).filter((x): x is number => x !== undefined);
  return v.length ? median(v) : undefined;
};

function render(providers: string[], fr: Map<string, Fresh[]>, rs: Map<string, Restart[]>, env: string): string {
  const b = (p: string) => fr.get(`${p}/before`) ?? [];
  const a = (p: string) => fr.get(`${p}/after`) ?? [];
  const rb = (p: string) => rs.get(`${p}/before`) ?? [];
  const ra = (p: string) => rs.get(`${p}/after`) ?? [];
  const step = (p: string, from: string, to: string) =>
    med(a(p), (f) => (f.steps?.[to] ?? NaN) - (from === 'process' ? 0 : (f.steps?.[from] ?? NaN)));
  return [
    '### Start-up by provider (`npm run bench:startup`)',
    '',
    `Measured ${env}. A real \`vpc-ipamd\` process against each cloud's emulator (its own process) at the`,
    "emulators' realistic latencies (sim `VPC_IPAM_SIM_LATENCY_SCALE=1`, EC2 `--latency-scale 1` with emulate",
    'realism, Azure 3 s operations with `Retry-After: 10`, GCE 4 s operations); times from the exec; median of',
    `${RUNS} runs, providers and before/after interleaved. "before": the code before issue 17` +
      `${BASELINE ? '' : ' (not run)'};`,
    '"doc before": start to healthy as `bench:memory` reported it before issue 17 (sim at 0.02× latency, aws at 0×).',
    '',
    'Fresh node (`WARM_IP_TARGET=16`): ready no longer waits for the first fill, which continues in the background.',
    '',
    '| provider | healthy, doc before (s) | healthy, before (s) | healthy, after (s) | after/before | ' +
      'first ADD answered, before (s) | after (s) |',
    '|---|---|---|---|---|---|---|',
    ...providers.map((p) => {
      const hb = med(b(p), (f) => f.healthy);
      const ha = med(a(p), (f) => f.healthy);
      const fb = med(b(p), (f) => f.firstAdd);
      const fa = med(a(p), (f) => f.firstAdd);
      return row([p, PREVIOUS[p]?.toFixed(2) ?? '—', sec(hb), sec(ha), ratio(ha, hb), sec(fb), sec(fa)]);
    }),
    '',
    'Where the fresh start goes (after; ms from the process start, /v1/startup): node and modules → config parsed,',
    '→ provider built (its SDK loaded, identity read from metadata), → node described (first cloud calls), →',
    'serving (checkpoint, host networking, listeners), → first fill done.',
    '',
    '| provider | modules + config (ms) | provider (ms) | describe node (ms) | to serving (ms) | first fill (ms) |',
    '|---|---|---|---|---|---|',
    ...providers.map((p) => {
      const f = (from: string, to: string) => step(p, from, to)?.toFixed(0) ?? '—';
      const spans = [f('process', 'config'), f('config', 'provider'), f('provider', 'node'), f('node', 'serving')];
      return row([p, ...spans, f('serving', 'filled')]);
    }),
    '',
    `Restart over ${PODS} checkpointed assignments (graceful stop, then start): a DEL of a checkpointed Pod and a`,
    'repeated ADD, both sent once healthy; "first cloud call" is when the restarted daemon got its first cloud answer.',
    '',
    '| provider | healthy, before (s) | after (s) | DEL answered, before (s) | after (s) | ' +
      'repeated ADD answered, before (s) | after (s) | first cloud call completed, after (s) |',
    '|---|---|---|---|---|---|---|---|',
    ...providers.map((p) => {
      const m = (xs: Restart[], k: keyof Restart) => sec(med(xs, (r) => r[k]));
      const pairs = (['healthy', 'del', 'add'] as const).flatMap((k) => [m(rb(p), k), m(ra(p), k)]);
      return row([p, ...pairs, m(ra(p), 'firstCloud')]);
    }),
  ].join('\n');
}

async function main(): Promise<void> {
  const asked = process.argv.slice(2).filter((x) => x !== '--');
  for (const x of asked) if (!(ALL as readonly string[]).includes(x)) throw new Error(`unknown provider "${x}"`);
  const providers = asked.length ? asked : [...ALL];
  const variants: Variant[] = BASELINE ? ['before', 'after'] : ['after'];
  const fr = new Map<string, Fresh[]>();
  const rs = new Map<string, Restart[]>();
  const nodes = new Map<string, Node>();
  try {
    for (const p of providers) for (const v of variants) nodes.set(`${p}/${v}`, await prepare(p, v));
    for (let run = 1; run <= RUNS; run++) {
      for (const p of providers) {
        for (const v of variants) {
          const key = `${p}/${v}`;
          const f = await fresh(p, v);
          const r = await restart(nodes.get(key)!, v);
          fr.set(key, [...(fr.get(key) ?? []), f]);
          rs.set(key, [...(rs.get(key) ?? []), r]);
          process.stdout.write(
            `run ${run}/${RUNS} ${key}: healthy ${sec(f.healthy)} s, first ADD ${sec(f.firstAdd)} s; restart: ` +
              `healthy ${sec(r.healthy)}, DEL ${sec(r.del)}, ADD ${sec(r.add)}, first cloud ${sec(r.firstCloud)} s\n`,
          );
        }
      }
    }
  } finally {
    for (const n of nodes.values()) await n.emu?.close();
  }
  const date = new Date().toISOString().slice(0, 10);
  const env = `${date}, ${os.cpus().length} cores, Node ${process.version}, ${os.platform()} ${os.release()}`;
  const table = render(providers, fr, rs, env);
  writeBlock(DOC, 'startup', table);
  process.stdout.write(`${table}\n\nwritten to ${DOC}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench:startup: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
