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
 * Results go to docs/benchmarks.md: one table for the providers of this run
 * between `<!-- bench:memory:start -->`/`<!-- bench:memory:end -->`, and
 * one line per provider between `<!-- bench:memory-<provider>:start/end -->`
 * (blocks that do not exist yet are appended).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertBuilt, getJson, kill, REPO, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';

const ALL = ['sim', 'aws', 'azure', 'gcp'] as const;
// 16 fits every provider's default node (the sim's m5.large holds 27 secondary IPs).
const FILL = Number(process.env.BENCH_FILL ?? 16);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SETTLE_MS = 3000;
const DOC = path.join(REPO, 'docs/benchmarks.md');
const CTL = path.join(REPO, 'dist/ipamd/ctl/main.js');

interface Sample {
  rssKb: number;
  hwmKb: number;
  startMs: number;
  fillMs: number;
}

/** Providers the build can run: a setup module and a provider-factory case (sim needs no emulator). */
function available(): string[] {
  const factory = fs.readFileSync(path.join(REPO, 'ipamd/provider-factory.ts'), 'utf8');
  return ALL.filter(
    (p) => factory.includes(`case '${p}'`) && fs.existsSync(path.join(REPO, `dist/ipamd/setup/${p}.js`)),
  );
}

function statusKb(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Starts `vpc-ipamctl emulate --provider p` and collects the `export K=V` lines it prints. */
async function startEmulator(p: string): Promise<{ proc: ChildProcess; env: Record<string, string> }> {
  const proc = spawn(process.execPath, [CTL, 'emulate', '--provider', p, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const text = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('Ctrl-C stops it.')) resolve(out);
    });
    proc.stderr!.on('data', (d) => (err += d));
    proc.once('exit', (code) => reject(new Error(`emulate --provider ${p} exited with ${code}: ${err}`)));
  });
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*export\s+(.*)$/.exec(line);
    if (!m) continue;
    for (const tok of m[1]!.split(/\s+/)) {
      const eq = tok.indexOf('=');
      if (eq > 0) env[tok.slice(0, eq)] = tok.slice(eq + 1);
    }
  }
  return { proc, env };
}

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

async function measure(p: string): Promise<Sample> {
  const emu = p === 'sim' ? undefined : await startEmulator(p);
  const t0 = Date.now();
  let h: DaemonHandle | undefined;
  try {
    h = await startDaemon({
      ...(emu?.env ?? {}),
      VPC_IPAM_PROVIDER: p,
      WARM_IP_TARGET: String(FILL),
      VPC_IPAM_METRICS_ADDRESS: 'off',
    });
    const startMs = Date.now() - t0;
    await waitFilled(h);
    const fillMs = Date.now() - t0 - startMs;
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const pid = h.proc.pid!;
    const rss: number[] = [];
    for (let i = 0; i < 3; i++) {
      rss.push(statusKb(pid, 'VmRSS'));
      await new Promise((r) => setTimeout(r, 500));
    }
    return { rssKb: median(rss), hwmKb: statusKb(pid, 'VmHWM'), startMs, fillMs };
  } finally {
    if (h) await kill(h, 'SIGTERM');
    if (emu) {
      emu.proc.kill('SIGTERM');
      await new Promise((r) => (emu.proc.exitCode !== null ? r(undefined) : emu.proc.once('exit', r)));
    }
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

const mb = (kb: number) => (kb / 1024).toFixed(1);
const sec = (ms: number) => (ms / 1000).toFixed(2);

function replaceBlock(doc: string, name: string, body: string): string {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${start}\n${body.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) return doc.slice(0, i) + block + doc.slice(j + end.length);
  return `${doc.trimEnd()}\n\n${block}\n`;
}

async function main(): Promise<void> {
  assertBuilt();
  const can = available();
  const asked = process.argv.slice(2).filter((a) => a !== '--');
  for (const a of asked)
    if (!can.includes(a)) throw new Error(`provider "${a}" cannot run in this build (available: ${can.join(', ')})`);
  const providers = asked.length ? asked : can;
  const samples = new Map<string, Sample[]>(providers.map((p) => [p, []]));
  const failed = new Map<string, string>();
  for (let run = 1; run <= RUNS; run++) {
    for (const p of providers) {
      if (failed.has(p)) continue;
      try {
        const s = await measure(p);
        samples.get(p)!.push(s);
        process.stdout.write(
          `run ${run}/${RUNS} ${p}: RSS ${mb(s.rssKb)} MB, peak ${mb(s.hwmKb)} MB, ` +
            `healthy after ${sec(s.startMs)} s, filled ${sec(s.fillMs)} s later\n`,
        );
      } catch (err) {
        // One provider's failure must not cost the others' figures; it is reported and fails the run.
        failed.set(p, (err as Error).message);
        process.stderr.write(`run ${run}/${RUNS} ${p}: FAILED: ${(err as Error).message}\n`);
      }
    }
  }
  const measured = providers.filter((p) => !failed.has(p));
  const date = new Date().toISOString().slice(0, 10);
  const env = `${date}, ${os.cpus().length} cores, Node ${process.version}, ${os.platform()} ${os.release()}`;
  const rows = measured.map((p) => {
    const ss = samples.get(p)!;
    return {
      p,
      rss: median(ss.map((s) => s.rssKb)),
      hwm: median(ss.map((s) => s.hwmKb)),
      start: median(ss.map((s) => s.startMs)),
      fill: median(ss.map((s) => s.fillMs)),
    };
  });
  const table = [
    '### Daemon memory by provider (`npm run bench:memory`)',
    '',
    `Measured ${env}. One real \`vpc-ipamd\` process per provider against that cloud's emulator (a separate`,
    `process, not counted), pool filled to ${FILL} free addresses (\`WARM_IP_TARGET=${FILL}\`), ` +
      `${SETTLE_MS / 1000} s settle, then`,
    `/proc/<pid>/status; median of ${RUNS} runs, providers interleaved. Only the selected provider's SDK is loaded.`,
    'ipamd reports healthy after its first pool tick, so "start to healthy" includes the first fill; "pool fill" is ' +
      'what remained after.',
    '',
    '| provider | RSS after start + fill (MB) | peak RSS, VmHWM (MB) | start to healthy (s) | pool fill (s) |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.p} | ${mb(r.rss)} | ${mb(r.hwm)} | ${sec(r.start)} | ${sec(r.fill)} |`),
  ].join('\n');
  let doc = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  doc = replaceBlock(doc, 'memory', table);
  for (const r of rows) {
    doc = replaceBlock(
      doc,
      `memory-${r.p}`,
      `**${r.p}**: daemon RSS ${mb(r.rss)} MB after start + pool fill of ${FILL} addresses ` +
        `(peak ${mb(r.hwm)} MB; median of ${RUNS}; ${env}; \`npm run bench:memory -- ${r.p}\`).`,
    );
  }
  if (rows.length) fs.writeFileSync(DOC, doc);
  process.stdout.write(`${table}\n\nwritten to ${DOC}\n`);
  if (failed.size) throw new Error(`not measured: ${[...failed].map(([p, m]) => `${p} (${m})`).join('; ')}`);
}

main().catch((err) => {
  process.stderr.write(`bench:memory: ${(err as Error).message}\n`);
  process.exit(1);
});
