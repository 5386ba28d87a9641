/**
 * Memory benchmark (`npm run bench:memory [-- sim aws azure gcp]`; not a test).
 * For each provider named (default: every provider this build can run), it
 * starts that cloud's emulator as its own process (`vpc-ipamctl emulate`,
 * so the emulator's memory is not counted), points a real `vpc-ipamd`
 * process at it with the variables the emulator prints, waits until the
 * pool holds BENCH_FILL free addresses (default 16), lets it settle, and
 * reads the daemon's resident memory from /proc/<pid>/status (VmRSS, and
 * VmHWM for the peak). Each provider runs BENCH_RUNS times (default 3) and
 * the median is reported; providers are interleaved run by run so
 * background noise hits them alike.
 *
 * The daemon runs as in production: the bundle (dist/bundle/ipamd/main.js,
 * `npm run build:daemon`) under the V8 flags of ipamd/build/node-flags.ts.
 * With BENCH_COMPARE=1 (default) each run also measures the tsc output
 * (dist/ipamd/main.js) without flags, the way the daemon ran before, so the
 * table shows what the bundle and the flags bought, as ratios from one run;
 * the figures of the last run before them (2026-11-27) stand beside both.
 * BENCH_BASELINE=<dir> also runs `<dir>/dist/bundle/ipamd/main.js` (a copy of
 * an earlier bundle, with a `node_modules` link beside it) under the same
 * launch, interleaved, so a change is measured before → after in one run.
 *
 * Azure runs three ways: `azure`, on the emulator's static test token;
 * `azure-mi`, on the daemon's managed-identity credential
 * (`AZURE_CREDENTIAL=managed-identity`) and `azure-msal`, on
 * `DefaultAzureCredential` (MSAL, `AZURE_CREDENTIAL=default`): both ask a
 * loopback stand-in for IMDS's token endpoint (test/helpers/imds-token-server.ts,
 * in this process) named by `AZURE_POD_IDENTITY_AUTHORITY_HOST`, the path a
 * real node takes, without leaving the machine. Each row also splits RSS into
 * anonymous and file-backed pages (/proc/<pid>/smaps_rollup; file-backed is
 * mostly the node binary).
 *
 * Results go to $BENCH_DOC (default docs/benchmarks.md): one table for the providers of this run
 * between `<!-- bench:memory:start -->`/`<!-- bench:memory:end -->`, and
 * one line per provider between `<!-- bench:memory-<provider>:start/end -->`
 * (blocks that do not exist yet are appended).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { median, replaceBlock } from './bench-doc.js';
import { startEmulator } from '../helpers/emulator-process.js';
import { startTokenServer } from '../helpers/imds-token-server.js';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../../ipamd/build/node-flags.js';
import {
  assertBuilt,
  DAEMON_JS,
  getJson,
  kill,
  PRODUCTION_LAUNCH,
  REPO,
  startDaemon,
  type DaemonHandle,
  type DaemonLaunch,
} from '../helpers/daemon-process.js';

const ALL = ['sim', 'aws', 'azure', 'azure-mi', 'azure-msal', 'gcp'] as const;
/** Azure rows on a credential that asks the token endpoint (see the module comment), by AZURE_CREDENTIAL. */
const AZURE_CREDENTIALS: Record<string, string> = { 'azure-mi': 'managed-identity', 'azure-msal': 'default' };
const cloudOf = (p: string) => (p in AZURE_CREDENTIALS ? 'azure' : p);
// 16 fits every provider's default node (the sim's m5.large holds 27 secondary IPs).
const FILL = Number(process.env.BENCH_FILL ?? 16);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SETTLE_MS = 3000;
const DOC = path.resolve(REPO, process.env.BENCH_DOC ?? 'docs/benchmarks.md');
const COMPARE = process.env.BENCH_COMPARE !== '0';
/** Production's launch (deploy/Dockerfile ENTRYPOINT), and the one before the bundle, for comparison. */
const BUNDLE = PRODUCTION_LAUNCH;
const TSC: DaemonLaunch = { entry: DAEMON_JS, nodeArgs: [] };
const BASELINE_DIR = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined;
const BASELINE: DaemonLaunch | undefined = BASELINE_DIR
  ? { ...PRODUCTION_LAUNCH, entry: path.join(BASELINE_DIR, 'dist/bundle/ipamd/main.js') }
  : undefined;
/** The last figures before the bundle and the V8 limits (docs/benchmarks.md, 2026-11-27): RSS and peak, MB. */
const PREVIOUS: Record<string, { rss: number; hwm: number }> = {
  sim: { rss: 59.2, hwm: 59.2 },
  aws: { rss: 157.4, hwm: 185.5 },
  azure: { rss: 104.3, hwm: 109.5 },
  gcp: { rss: 196.3, hwm: 197.3 },
};
/** The issue's targets (MiB): RSS after start and fill. */
const TARGET: Record<string, number> = { aws: 64, azure: 64, 'azure-mi': 64, 'azure-msal': 64, gcp: 96 };

interface Sample {
  rssKb: number;
  hwmKb: number;
  /** RSS split (smaps_rollup): anonymous pages, and the rest (file-backed: the node binary, libraries). */
  anonKb: number;
  fileKb: number;
  startMs: number;
  fillMs: number;
}

/** Providers the build can run: a setup module and a provider-factory case (sim needs no emulator). */
function available(): string[] {
  const factory = fs.readFileSync(path.join(REPO, 'ipamd/provider-factory.ts'), 'utf8');
  return ALL.filter(
    (p) =>
      factory.includes(`case '${cloudOf(p)}'`) && fs.existsSync(path.join(REPO, `dist/ipamd/setup/${cloudOf(p)}.js`)),
  );
}

function procKb(pid: number, file: 'status' | 'smaps_rollup', field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/${file}`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/${file}`);
  return Number(m[1]);
}
const statusKb = (pid: number, field: string) => procKb(pid, 'status', field);

async function waitFilled(h: DaemonHandle): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const p = await getJson<{
      total: number;
      available: number;
      growthBlocked: { reason: string } | null;
      why?: string;
    }>(h, '/v1/pool');
    if (p.available >= FILL) return;
    if (p.growthBlocked) throw new Error(`pool cannot fill: ${p.growthBlocked.reason}`);
    if (Date.now() > deadline)
      throw new Error(`pool did not reach ${FILL} free addresses in 120 s: ${p.why ?? JSON.stringify(p)}`);
    if (h.proc.exitCode !== null) throw new Error(`daemon exited: ${h.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function measure(p: string, launch: DaemonLaunch): Promise<Sample> {
  const tokens = p in AZURE_CREDENTIALS ? await startTokenServer() : undefined;
  const emu = p === 'sim' ? undefined : await startEmulator(cloudOf(p));
  const t0 = Date.now();
  let h: DaemonHandle | undefined;
  try {
    h = await startDaemon(
      {
        ...(emu?.env ?? {}),
        ...(tokens ? { AZURE_CREDENTIAL: AZURE_CREDENTIALS[p]!, AZURE_POD_IDENTITY_AUTHORITY_HOST: tokens.url } : {}),
        VPC_IPAM_PROVIDER: cloudOf(p),
        WARM_IP_TARGET: String(FILL),
        VPC_IPAM_METRICS_ADDRESS: 'off',
      },
      undefined,
      launch,
    );
    const startMs = Date.now() - t0;
    await waitFilled(h);
    const fillMs = Date.now() - t0 - startMs;
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const pid = h.proc.pid!;
    const rss: number[] = [];
    const anon: number[] = [];
    for (let i = 0; i < 3; i++) {
      rss.push(statusKb(pid, 'VmRSS'));
      anon.push(procKb(pid, 'smaps_rollup', 'Anonymous'));
      await new Promise((r) => setTimeout(r, 500));
    }
    // The credential must have been asked: a row that never reached the token endpoint measures nothing.
    if (tokens && tokens.issued() === 0) throw new Error(`${p}: the daemon asked the token endpoint for no token`);
    const rssKb = median(rss);
    const anonKb = median(anon);
    return { rssKb, hwmKb: statusKb(pid, 'VmHWM'), anonKb, fileKb: rssKb - anonKb, startMs, fillMs };
  } finally {
    if (h) await kill(h, 'SIGTERM');
    await emu?.close();
    await tokens?.close();
  }
}

const mb = (kb: number) => (kb / 1024).toFixed(1);
const sec = (ms: number) => (ms / 1000).toFixed(2);

interface Row {
  p: string;
  rss: number;
  hwm: number;
  anon: number;
  file: number;
  start: number;
  fill: number;
}

function summarise(p: string, ss: Sample[]): Row {
  const m = (f: (s: Sample) => number) => median(ss.map(f));
  return {
    p,
    rss: m((s) => s.rssKb),
    hwm: m((s) => s.hwmKb),
    anon: m((s) => s.anonKb),
    file: m((s) => s.fileKb),
    start: m((s) => s.startMs),
    fill: m((s) => s.fillMs),
  };
}

/** "157.4 → 64.0 (0.41×)": a figure beside the one it replaces, in MB. */
function beside(before: number | undefined, afterKb: number): string {
  if (before === undefined) return '–';
  return `${before.toFixed(1)} (${(afterKb / 1024 / before).toFixed(2)}×)`;
}

/** "67.0 / 95.2 (0.91×)": another launch's RSS and peak in this run, and this launch's RSS over its. */
function against(r: Row, t: Row | undefined): string {
  return t ? ` ${mb(t.rss)} / ${mb(t.hwm)} (${(r.rss / t.rss).toFixed(2)}×) |` : ' – |';
}

function table(rows: Row[], tsc: Map<string, Row>, base: Map<string, Row>, env: string): string {
  const cmp = tsc.size > 0;
  const head =
    (base.size ? ' before (BENCH_BASELINE bundle): RSS / peak (MB) |' : '') +
    (cmp ? ' tsc output, no flags: RSS / peak (MB) |' : '');
  return [
    '### Daemon memory by provider (`npm run bench:memory`)',
    '',
    `Measured ${env}. One real \`vpc-ipamd\` process per provider against that cloud's emulator (a separate`,
    `process, not counted), pool filled to ${FILL} free addresses (\`WARM_IP_TARGET=${FILL}\`), ` +
      `${SETTLE_MS / 1000} s settle, then`,
    `/proc/<pid>/status; median of ${RUNS} runs, providers interleaved. The daemon runs as the image runs it: ` +
      `\`${Object.entries(DAEMON_ENV)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')} ` +
      `node ${DAEMON_NODE_FLAGS.join(' ')} dist/bundle/ipamd/main.js\`.`,
    'ipamd is healthy once it can answer (node known, checkpoint loaded, socket serving; the fill runs after), so ' +
      `"start to healthy" excludes the fill; "pool fill" is healthy to ${FILL} free addresses. ` +
      '"2026-11-27" is the last run before the bundle and the V8 limits, with the ratio now/then' +
      (cmp ? '; "tsc output, no flags" is the old launch (`node dist/ipamd/main.js`), measured in this run' : '') +
      (base.size ? '; "before" is the bundle of BENCH_BASELINE, same launch, measured in this run' : '') +
      '. "anon / file" splits the RSS (smaps_rollup): anonymous pages (heap, malloc, code) and file-backed ones ' +
      "(the node binary). azure-mi and azure-msal: Azure on managed identity, through the daemon's credential " +
      'and through DefaultAzureCredential (MSAL), both against a loopback token endpoint.',
    '',
    `| provider | RSS after start + fill (MB) | peak RSS, VmHWM (MB) | anon / file (MB) | target (MiB) | ` +
      `start to healthy (s) | pool fill (s) | 2026-11-27 RSS (MB) | 2026-11-27 peak (MB) |${head}`,
    `|---|---|---|---|---|---|---|---|---|${base.size ? '---|' : ''}${cmp ? '---|' : ''}`,
    ...rows.map((r) => {
      const was = PREVIOUS[r.p];
      const old = (base.size ? against(r, base.get(r.p)) : '') + (cmp ? against(r, tsc.get(r.p)) : '');
      return (
        `| ${r.p} | ${mb(r.rss)} | ${mb(r.hwm)} | ${mb(r.anon)} / ${mb(r.file)} | ` +
        `${TARGET[r.p] ? `≤ ${TARGET[r.p]}` : '–'} | ${sec(r.start)} | ` +
        `${sec(r.fill)} | ${beside(was?.rss, r.rss)} | ${beside(was?.hwm, r.hwm)} |${old}`
      );
    }),
  ].join('\n');
}

async function main(): Promise<void> {
  assertBuilt();
  if (!fs.existsSync(BUNDLE.entry)) throw new Error(`${BUNDLE.entry} is missing: run "npm run build:daemon"`);
  if (BASELINE && !fs.existsSync(BASELINE.entry)) throw new Error(`BENCH_BASELINE: ${BASELINE.entry} is missing`);
  const can = available();
  const asked = process.argv.slice(2).filter((a) => a !== '--');
  for (const a of asked)
    if (!can.includes(a)) throw new Error(`provider "${a}" cannot run in this build (available: ${can.join(', ')})`);
  const providers = asked.length ? asked : can;
  const launches: Array<[string, DaemonLaunch]> = [
    ['bundle', BUNDLE],
    ...(BASELINE ? [['before', BASELINE] as [string, DaemonLaunch]] : []),
    ...(COMPARE ? [['tsc', TSC] as [string, DaemonLaunch]] : []),
  ];
  const samples = new Map<string, Sample[]>();
  const failed = new Map<string, string>();
  for (let run = 1; run <= RUNS; run++) {
    for (const p of providers) {
      for (const [name, launch] of launches) {
        const key = `${name}:${p}`;
        if (failed.has(key)) continue;
        try {
          const s = await measure(p, launch);
          samples.set(key, [...(samples.get(key) ?? []), s]);
          process.stdout.write(
            `run ${run}/${RUNS} ${p} (${name}): RSS ${mb(s.rssKb)} MB, peak ${mb(s.hwmKb)} MB, ` +
              `healthy after ${sec(s.startMs)} s, filled ${sec(s.fillMs)} s later\n`,
          );
        } catch (err) {
          // One provider's failure must not cost the others' figures; it is reported and fails the run.
          failed.set(key, (err as Error).message);
          process.stderr.write(`run ${run}/${RUNS} ${p} (${name}): FAILED: ${(err as Error).message}\n`);
        }
      }
    }
  }
  const date = new Date().toISOString().slice(0, 10);
  const env = `${date}, ${os.cpus().length} cores, Node ${process.version}, ${os.platform()} ${os.release()}`;
  const rows = providers
    .filter((p) => !failed.has(`bundle:${p}`))
    .map((p) => summarise(p, samples.get(`bundle:${p}`)!));
  const of = (launch: string) =>
    new Map(
      providers
        .filter((p) => samples.has(`${launch}:${p}`) && !failed.has(`${launch}:${p}`))
        .map((p) => [p, summarise(p, samples.get(`${launch}:${p}`)!)]),
    );
  const text = table(rows, of('tsc'), of('before'), env);
  let doc = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  doc = replaceBlock(doc, 'memory', text);
  for (const r of rows) {
    doc = replaceBlock(
      doc,
      `memory-${r.p}`,
      `**${r.p}**: daemon RSS ${mb(r.rss)} MB after start + pool fill of ${FILL} addresses ` +
        `(peak ${mb(r.hwm)} MB; median of ${RUNS}; ${env}; \`npm run bench:memory -- ${r.p}\`).`,
    );
  }
  if (rows.length) fs.writeFileSync(DOC, doc);
  process.stdout.write(`${text}\n\nwritten to ${DOC}\n`);
  // The baseline is an older build: a row it cannot run (azure-mi's credential is new) is a "–", not a failure.
  const fatal = [...failed].filter(([k]) => !k.startsWith('before:'));
  if (fatal.length) throw new Error(`not measured: ${fatal.map(([p, m]) => `${p} (${m})`).join('; ')}`);
}

main().catch((err) => {
  process.stderr.write(`bench:memory: ${(err as Error).message}\n`);
  process.exit(1);
});
