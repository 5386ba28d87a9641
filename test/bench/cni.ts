/**
 * CNI benchmark (`npm run bench:cni`, root only; not a test).
 * Times ADD and DEL of this plugin (real ipamd on the sim cloud, netlink plumbing on) as the runtime runs it, the
 * compiled shim (dist/cni/vpc-ipam, ipamd runs the verb), and as the single executable alone (vpc-ipam-node: what
 * the shim's fallback costs), against Debian's `ptp` + `host-local` doing the
 * same job (veth, /32-style point-to-point address, routes), interleaved Pod
 * by Pod so background noise hits all three alike. Every run is a fresh process
 * exec'd as a runtime would, with NODE_OPTIONS / NODE_EXTRA_CA_CERTS unset.
 * Headline: ADD+DEL per Pod as a ratio to ptp+host-local (median and p99). Then, as a separate pass, where
 * one ADD and one DEL of the shim spend their time (cni-breakdown.ts, through a timestamping proxy); bare start-up
 * (VERSION) with those variables unset and set; and the per-Pod ip rule cost (pod-rules.ts, in a namespace of
 * its own). Results go to $BENCH_DOC (default docs/benchmarks.md) between the bench:cni markers.
 *
 * BENCH_PODS (default 100) sets the number of Pods per plugin; BENCH_BREAKDOWN_PODS (default 50) those of the
 * breakdown pass.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hostVethName } from '../../cni/contract/veth-name.js';
import { ChainRunner, type Attachment } from '../cni/chain-runner.js';
import { addNetns, deleteLinks, deleteNetnsWithPrefix, deleteRules, isRoot, runSubnet } from '../cni/netns-tools.js';
import {
  bundledPlugin,
  cniEnv,
  REPO,
  runPlugin,
  seaPlugin,
  shimPlugin,
  type PluginCommand,
} from '../cni/plugin-process.js';
import { kill, PRODUCTION_LAUNCH, startDaemon } from '../helpers/daemon-process.js';
import { writeBlock } from './bench-doc.js';
import { runBreakdown } from './cni-breakdown.js';
import { measureHosted } from './cni-hosted.js';
import { TimingProxy } from './cni-proxy.js';
import { breakdownSection, headlineSection, stats, type Stats } from './cni-report.js';
import { measureRuleCost, ruleCostSection } from './pod-rules.js';

const PODS = Number(process.env.BENCH_PODS ?? 100);
const BREAKDOWN_PODS = Number(process.env.BENCH_BREAKDOWN_PODS ?? 50);
const NS = `vpcb${process.pid}-`;
const DOC = path.resolve(REPO, process.env.BENCH_DOC ?? 'docs/benchmarks.md');

const f = (x: number) => x.toFixed(1);

async function timeRuns(cmd: PluginCommand, env: NodeJS.ProcessEnv, stdin: string, n: number): Promise<Stats> {
  const ms: number[] = [];
  for (let i = 0; i < n + 3; i++) {
    const r = await runPlugin(cmd, env, stdin);
    if (r.code !== 0) throw new Error(`${cmd.join(' ')} VERSION failed: ${r.stdout} ${r.stderr}`);
    if (i >= 3) ms.push(r.ms); // 3 warm-up runs: page cache, not the plugin, is what they measure
  }
  return stats(ms);
}

interface StartupRow {
  label: string;
  median: number;
  /** CPU time of the process (user + system), robust when other work shares the cores. */
  cpu: number;
}

/**
 * Start-up via hyperfine (shell mode, shell spawn subtracted): it reports the
 * children's user+system CPU time, which stays meaningful on a busy machine.
 * Falls back to the wall-clock loop when hyperfine is not installed.
 */
async function startupTable(
  rows: Array<{ label: string; cmd: PluginCommand; env: Record<string, string> }>,
  stdinFile: string,
): Promise<StartupRow[]> {
  const hasHyperfine = (() => {
    try {
      execFileSync('hyperfine', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  const out: StartupRow[] = [];
  for (const r of rows) {
    if (!hasHyperfine) {
      const st = await timeRuns(r.cmd, cniEnv(r.env), fs.readFileSync(stdinFile, 'utf8'), 40);
      out.push({ label: r.label, median: st.median, cpu: NaN });
      continue;
    }
    const json = `${stdinFile}.${out.length}.json`;
    const envArgs = Object.entries(r.env).map(([k, v]) => `${k}=${v}`);
    const command = ['env', '-i', 'PATH=/usr/bin:/bin', ...envArgs, ...r.cmd].join(' ') + ` < ${stdinFile}`;
    execFileSync('hyperfine', ['-w', '3', '-r', '40', '--style', 'none', '--export-json', json, command], {
      stdio: 'ignore',
    });
    const res = (
      JSON.parse(fs.readFileSync(json, 'utf8')) as { results: Array<{ median: number; user: number; system: number }> }
    ).results[0]!;
    out.push({ label: r.label, median: res.median * 1000, cpu: (res.user + res.system) * 1000 });
  }
  return out;
}

async function main(): Promise<void> {
  if (!isRoot()) {
    console.log('bench:cni needs root (network namespaces, veth); skipped');
    return;
  }
  for (const k of ['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS']) delete process.env[k];
  const sea = await seaPlugin();
  const shim = await shimPlugin();
  const bundle = await bundledPlugin();
  const subnet = runSubnet(7);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vpc-bench-hostlocal-'));
  // Pre-warmed pool: the benchmark measures the plugin path, not the simulated cloud's growth.
  // The daemon runs as the image runs it (the bundle, its V8 flags): the flags shape its latency too.
  const ipamd = await startDaemon(
    {
      VPC_IPAM_PLUMBING: 'on',
      VPC_IPAM_SIM_SUBNET_CIDR: subnet.cidr,
      VPC_IPAM_SIM_INSTANCE_TYPE: 'm5.4xlarge',
      // Both passes' Pods: a released address cools down before reuse, so the breakdown pass needs its own.
      MINIMUM_IP_TARGET: String(2 * PODS + BREAKDOWN_PODS + 10),
      VPC_IPAM_LOG_LEVEL: 'warn',
    },
    undefined,
    PRODUCTION_LAUNCH,
  );
  const oursPlugin = (socket: string) => ({ type: 'vpc-ipam', ipamdSocket: socket, mtu: 9001, logLevel: 'warn' });
  const oursConf = { cniVersion: '1.1.0', name: 'vpc-net', plugins: [oursPlugin(ipamd.socket)] };
  // The shim forwards to the configuration's ipamdSocket (a plain absolute path), so both run the same conf.
  const ours = new ChainRunner(oursConf, () => shim);
  const oursSea = new ChainRunner(oursConf, () => sea);
  const proxy = new TimingProxy(path.join(ipamd.dir, 'proxy.sock'), ipamd.socket);
  const ptp = new ChainRunner(
    {
      cniVersion: '1.0.0',
      name: 'bench-ptp',
      plugins: [
        {
          type: 'ptp',
          mtu: 9001,
          ipMasq: false,
          ipam: { type: 'host-local', subnet: '198.19.0.0/16', dataDir, routes: [{ dst: '0.0.0.0/0' }] },
        },
      ],
    },
    (type) => [`/usr/lib/cni/${type}`],
  );
  const pods: Array<{ a: Attachment; b: Attachment; c: Attachment }> = [];
  // Each breakdown Pod gets a namespace of its own, as a real Pod does: reusing the main pass's would find its eth0
  // still there (a DEL leaves the veth to the namespace's deletion) and time a stale-veth replacement instead.
  const breakdownPods: Attachment[] = [];
  const t: Record<string, number[]> = { oursAdd: [], oursDel: [], seaAdd: [], seaDel: [], ptpAdd: [], ptpDel: [] };
  try {
    // Wait until the pool holds the Pods (not timed).
    for (let i = 0; i < 600; i++) {
      const pool = (await (await fetch(`http://${ipamd.introspection}/v1/pool`)).json()) as { available: number };
      if (pool.available >= 2 * PODS + BREAKDOWN_PODS) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (let i = 0; i < PODS; i++) {
      pods.push({
        a: { containerId: `bench${process.pid}-v${i}`, netns: await addNetns(`${NS}v${i}`), ifName: 'eth0' },
        b: { containerId: `bench${process.pid}-p${i}`, netns: await addNetns(`${NS}p${i}`), ifName: 'eth0' },
        c: { containerId: `bench${process.pid}-c${i}`, netns: await addNetns(`${NS}c${i}`), ifName: 'eth0' },
      });
      if (i < BREAKDOWN_PODS)
        breakdownPods.push({
          containerId: `bench${process.pid}-bd${i}`,
          netns: await addNetns(`${NS}b${i}`),
          ifName: 'eth0',
        });
    }
    const results: Array<Record<'a' | 'b' | 'c', Record<string, unknown>>> = [];
    for (const { a, b, c } of pods) {
      const ra = await ours.add(a);
      const rc = await oursSea.add(c);
      const rb = await ptp.add(b);
      t.oursAdd!.push(ra.runs[0]!.ms);
      t.seaAdd!.push(rc.runs[0]!.ms);
      t.ptpAdd!.push(rb.runs[0]!.ms);
      results.push({ a: ra.result, b: rb.result, c: rc.result });
    }
    for (let i = 0; i < pods.length; i++) {
      t.oursDel!.push((await ours.del(pods[i]!.a, results[i]!.a))[0]!.ms);
      t.seaDel!.push((await oursSea.del(pods[i]!.c, results[i]!.c))[0]!.ms);
      t.ptpDel!.push((await ptp.del(pods[i]!.b, results[i]!.b))[0]!.ms);
    }

    await proxy.start();
    const breakdown = await runBreakdown({
      plugin: shim,
      proxy,
      request: (prevResult) => ({
        cniVersion: '1.1.0',
        name: 'vpc-net',
        ...oursPlugin(proxy.path),
        ...(prevResult ? { prevResult } : {}),
      }),
      pods: breakdownPods,
      metricsUrl: ipamd.metrics ? `http://${ipamd.metrics}/metrics` : undefined,
    });

    const hosted = await measureHosted(pods[0]!.a.netns);
    const stdinFile = path.join(dataDir, 'version.json');
    fs.writeFileSync(stdinFile, '{"cniVersion":"1.1.0"}');
    const dirty = {
      NODE_OPTIONS: '--max-old-space-size=64',
      NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt',
    };
    const startup = await startupTable(
      [
        { label: 'vpc-ipam single executable, clean env', cmd: sea, env: { CNI_COMMAND: 'VERSION' } },
        {
          label: 'vpc-ipam single executable, NODE_OPTIONS + NODE_EXTRA_CA_CERTS set',
          cmd: sea,
          env: { CNI_COMMAND: 'VERSION', ...dirty },
        },
        {
          label: 'vpc-ipam shim handing VERSION to the single executable (the fallback path), clean env',
          cmd: shim,
          env: { CNI_COMMAND: 'VERSION' },
        },
        { label: '`node vpc-ipam.cjs` (plain Node), clean env', cmd: bundle, env: { CNI_COMMAND: 'VERSION' } },
        {
          label: '`node vpc-ipam.cjs` (plain Node), NODE_OPTIONS + NODE_EXTRA_CA_CERTS set',
          cmd: bundle,
          env: { CNI_COMMAND: 'VERSION', ...dirty },
        },
        { label: 'Go ptp', cmd: ['/usr/lib/cni/ptp'], env: { CNI_COMMAND: 'VERSION' } },
      ],
      stdinFile,
    );
    const ruleCost = ruleCostSection(measureRuleCost());
    const load = os.loadavg()[0]!.toFixed(1);
    const s = {
      oursAdd: stats(t.oursAdd!),
      oursDel: stats(t.oursDel!),
      ptpAdd: stats(t.ptpAdd!),
      ptpDel: stats(t.ptpDel!),
      oursPod: stats(t.oursAdd!.map((x, i) => x + t.oursDel![i]!)),
      seaAdd: stats(t.seaAdd!),
      seaDel: stats(t.seaDel!),
      seaPod: stats(t.seaAdd!.map((x, i) => x + t.seaDel![i]!)),
      ptpPod: stats(t.ptpAdd!.map((x, i) => x + t.ptpDel![i]!)),
    };
    const row = (...xs: Stats[]) => xs.map((x) => `${f(x.median)} | ${f(x.p99)}`).join(' | ');
    const ratio = (a: Stats, b: Stats) =>
      `${(a.median / b.median).toFixed(2)}× median, ${(a.p99 / b.p99).toFixed(2)}× p99`;
    const lines = [
      `### CNI plugin: ADD/DEL latency (\`npm run bench:cni\`)`,
      '',
      `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} cores ` +
        `(1-min load average at the end: ${load}), Node ${process.version}, ${PODS} Pods per plugin, ` +
        'interleaved; each value is one',
      'plugin process from exec to exit (spawned by Node, env = CNI_* + PATH only, NODE_OPTIONS / ' +
        'NODE_EXTRA_CA_CERTS unset).',
      'vpc-ipam = the compiled shim, ipamd running the verb (warm ipamd: sim cloud, pool pre-warmed, netlink ' +
        'plumbing on); vpc-ipam-node = the single executable alone, what the shim falls back to; ptp = Debian ' +
        'containernetworking-plugins ptp + host-local.',
      '',
      '| plugin | ADD median ms | ADD p99 ms | DEL median ms | DEL p99 ms | ADD+DEL per Pod median ms | p99 ms |',
      '|---|---|---|---|---|---|---|',
      `| vpc-ipam (shim) | ${row(s.oursAdd, s.oursDel, s.oursPod)} |`,
      `| vpc-ipam-node (single executable, the fallback) | ${row(s.seaAdd, s.seaDel, s.seaPod)} |`,
      `| ptp + host-local | ${row(s.ptpAdd, s.ptpDel, s.ptpPod)} |`,
      '',
      `Ratio vpc-ipam / ptp+host-local: ADD ${ratio(s.oursAdd, s.ptpAdd)}; DEL ${ratio(s.oursDel, s.ptpDel)}.`,
      '',
      ...headlineSection({ ...s, versionStartup: startup[0]!.median, versionStartupShim: startup[2]!.median }),
      '',
      ...breakdownSection(breakdown),
      '',
      `The plugin's own code run in ipamd for the shim (plugin-host.ts runExec in the bench's process, a handler ` +
        `answering at once, ${hosted.add.n} runs each): ADD ${hosted.add.median.toFixed(2)} ms p50 ` +
        `(${hosted.add.p99.toFixed(2)} p99), DEL ${hosted.del.median.toFixed(2)} ms p50 ` +
        `(${hosted.del.p99.toFixed(2)} p99).`,
      '',
      startup.some((r) => Number.isNaN(r.cpu))
        ? 'Start-up alone (`CNI_COMMAND=VERSION`, 40 runs after 3 warm-ups, wall clock; ' +
          'hyperfine not installed, so no CPU time):'
        : 'Start-up alone (`CNI_COMMAND=VERSION`, hyperfine, 40 runs after 3 warm-ups, env -i; ' +
          'CPU = user + system time of the process):',
      '',
      '| binary | median ms | CPU ms |',
      '|---|---|---|',
      ...startup.map((r) => `| ${r.label} | ${f(r.median)} | ${Number.isNaN(r.cpu) ? 'n/a' : f(r.cpu)} |`),
      '',
      ...ruleCost,
    ];
    const section = lines.join('\n');
    console.log(section);
    writeBlock(DOC, 'cni', section);
    console.log(`wrote ${path.relative(REPO, DOC)}`);
  } finally {
    for (let i = 0; i < pods.length; i++) {
      await ours.del(pods[i]!.a).catch(() => undefined);
      await ptp.del(pods[i]!.b).catch(() => undefined);
      await oursSea.del(pods[i]!.c).catch(() => undefined);
    }
    for (const a of breakdownPods) await ours.del(a).catch(() => undefined);
    await proxy.close();
    await kill(ipamd, 'SIGKILL');
    await deleteLinks(
      [...pods.flatMap((p) => [p.a, p.c]), ...breakdownPods].map((a) => hostVethName(a.containerId, 'eth0')),
    );
    await deleteRules(subnet.contains);
    await deleteNetnsWithPrefix(NS);
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(ipamd.dir, { recursive: true, force: true });
    fs.rmSync(path.dirname(bundle[1]!), { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
