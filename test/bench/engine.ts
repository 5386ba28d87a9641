/**
 * @module engine benchmark
 * How fast the pool engine itself is (issue 17): the wall and CPU time of
 * `simulate` replaying a one-day trace (what `vpc-ipamctl simulate` runs),
 * and of the exhaustion monitor's pure pass over one subnet — analyzeSubnet
 * + buildReport, what SubnetMonitor.sample does per subnet once the cloud
 * has answered — on a /16 with 5,000 used addresses. Run by bench:pool
 * (before its replays, alone on the machine's cores); standalone:
 * `npx tsx test/bench/engine.ts`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildReport } from '../../ipamd/monitor/report.js';
import { analyzeSubnet, RESERVED_RULES } from '../../ipamd/monitor/subnet-space.js';
import { simulate } from '../../ipamd/sim/engine.js';
import { parseTrace } from '../../ipamd/sim/trace.js';
import { Prng } from '../../providers/sim/prng.js';
import { latencyProfile, type LatencyTable } from '../../providers/sim/index.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DAY_TRACE = 'test/bench/traces/ci-bursty.csv';

export interface Timing {
  what: string;
  wallMs: number;
  cpuMs: number;
  note: string;
}

export interface EngineFigures {
  latency: LatencyTable;
  timings: Timing[];
}

async function timed(fn: () => unknown | Promise<unknown>): Promise<{ wallMs: number; cpuMs: number }> {
  const t = performance.now();
  const c = process.cpuUsage();
  await fn();
  const u = process.cpuUsage(c);
  return { wallMs: performance.now() - t, cpuMs: (u.user + u.system) / 1000 };
}

/** `n` distinct random addresses of 10.0.0.0/16 (the reserved ends excluded), as /32 CIDRs. */
function usedAddresses(n: number, seed: number): string[] {
  const rng = new Prng(seed);
  const seen = new Set<number>();
  while (seen.size < n) seen.add(4 + rng.int(65_536 - 5));
  return [...seen].map((x) => `10.0.${x >> 8}.${x & 255}/32`);
}

/** One monitor pass's pure work for one subnet. */
function monitorPass(used: string[]): void {
  const opts = { reserved: RESERVED_RULES.aws, prefixLength: 28 };
  const space = analyzeSubnet('10.0.0.0/16', used, opts);
  const subnet = {
    id: 'subnet-1',
    cidr: '10.0.0.0/16',
    zone: 'z',
    vpcId: 'vpc-1',
    availableAddresses: space.free,
    tags: {},
  };
  buildReport({ subnet, sampledAt: 0, mode: 'prefix', prefixLength: 28, space });
}

export async function measureEngine(): Promise<EngineFigures> {
  const latency = latencyProfile('realistic');
  const trace = parseTrace(fs.readFileSync(path.join(REPO, DAY_TRACE), 'utf8'), DAY_TRACE);
  const timings: Timing[] = [];
  for (const [name, env] of [
    ['aws-default', {}],
    ['adaptive', { WARM_POOL_POLICY: 'adaptive' }],
  ] as const) {
    const t = await timed(() => simulate({ trace, instanceType: 'm5.large', env, latency }));
    timings.push({
      what: `simulate, one day (${DAY_TRACE.split('/').pop()}, ${trace.events.length} events), ${name}`,
      ...t,
      note: 'virtual clock; the daemon core as run.ts builds it',
    });
  }
  // Each pass gets new strings (a fresh cloud answer) for the first figure: the parse cache starts cold.
  const cold = usedAddresses(5_000, 1);
  timings.push({
    what: 'monitor pass, /16 with 5,000 used, first (cold parse cache)',
    ...(await timed(() => monitorPass(cold))),
    note: 'analyzeSubnet + buildReport',
  });
  const runs: Array<{ wallMs: number; cpuMs: number }> = [];
  for (let i = 0; i < 20; i++) runs.push(await timed(() => monitorPass(cold)));
  runs.sort((a, b) => a.wallMs - b.wallMs);
  timings.push({
    what: 'monitor pass, same subnet again (median of 20)',
    ...runs[10]!,
    note: 'the steady state: most strings repeat',
  });
  return { latency, timings };
}

export function engineTable(e: EngineFigures): string[] {
  return [
    '#### Engine speed (same run, one process, before the replays)',
    '',
    '| what | wall ms | CPU ms | note |',
    '|---|---|---|---|',
    ...e.timings.map((t) => `| ${t.what} | ${t.wallMs.toFixed(1)} | ${t.cpuMs.toFixed(1)} | ${t.note} |`),
  ];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  measureEngine().then(
    (e) => console.log(engineTable(e).join('\n')),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
