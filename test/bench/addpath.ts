/**
 * ipamd's own handling of a CNI ADD and DEL, in process (no plugin, no socket): the API handler over a real
 * allocator, datastore, checkpointer on this machine's disk and, as root, the real netlink plumber wiring
 * real Pod namespaces. What vpc_ipam_cni_request_phase_seconds measures in the daemon, without the daemon.
 *
 *   env -u NODE_OPTIONS -u NODE_EXTRA_CA_CERTS npm run bench:addpath -- \
 *     [--base DIR] [--pods N] [--rounds R] [--gap-ms MS] [--no-wire]
 *
 * `--base DIR` is another tree of this repository (`mkdir DIR && git archive HEAD ipamd cni providers package.json
 * tsconfig.json | tar -x -C DIR && ln -s $PWD/node_modules DIR/`): its handler, allocator, checkpointer and
 * plumber run in the same process, in alternating rounds with this tree's, so before and after come from one
 * run. Each Pod's namespace is deleted right after its DEL, as a runtime does. Root runs the whole bench in a
 * throwaway network namespace (the host's is never touched); `--no-wire` (or not root) measures without plumbing.
 * Prints the table and each tree's phases (`vet` is the plumber's netns check before the address is taken, a
 * worker round trip of its own, timed here around the plumber) and writes them to $BENCH_DOC (default
 * docs/benchmarks.md) between the bench:addpath markers.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeBlock } from './bench-doc.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const PODS = Number(flag('pods') ?? 100);
const ROUNDS = Number(flag('rounds') ?? 4);
/** Untimed pause between a Pod's ADD and its DEL (default 0: back to back). */
const GAP_MS = Number(flag('gap-ms') ?? 0);
const HERE = path.resolve(import.meta.dirname, '../..');
const DOC = path.resolve(HERE, process.env.BENCH_DOC ?? 'docs/benchmarks.md');
const root = process.getuid?.() === 0 && !args.includes('--no-wire');

if (root && !process.env.ADDPATH_BENCH_INNER) {
  // Re-run inside a throwaway namespace: the host veths, routes and rules of the bench land there.
  const ns = `addpath-bench-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['netns', 'exec', ns, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, ADDPATH_BENCH_INNER: '1' },
    });
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
  process.exit(0);
}

interface Tree {
  label: string;
  phases: Map<string, number[]>;
  handler: { handle(req: unknown): Promise<{ ok: boolean; error?: unknown }> };
  syncs: () => number;
  close: () => Promise<void>;
}

const mod = async (dir: string, file: string) => import(pathToFileURL(path.join(dir, file)).href);

async function tree(dir: string, label: string): Promise<Tree> {
  const phases = new Map<string, number[]>();
  const { Datastore } = await mod(dir, 'ipamd/datastore/datastore.ts');
  const { Allocator } = await mod(dir, 'ipamd/allocator.ts');
  const { ApiHandler } = await mod(dir, 'ipamd/api/handler.ts');
  const { SystemClock } = await mod(dir, 'ipamd/util/clock.ts');
  const cpMod = await mod(dir, 'ipamd/datastore/checkpoint.ts');
  const jMod = await mod(dir, 'ipamd/datastore/journal-checkpointer.ts').catch(() => undefined);
  const state = path.join(mkdtempSync(path.join(tmpdir(), 'addpath-')), 'ipam.json');
  const inner = jMod ? new jMod.JournalCheckpointer(state) : new cpMod.JsonFileCheckpointer(state);
  let syncs = 0;
  // The whole-file writer does one file fsync and one directory fsync per write.
  const checkpointer = jMod
    ? inner
    : { load: () => inner.load(), save: (r: unknown) => inner.save(r).then(() => void (syncs += 2)) };
  const datastore = new Datastore('ip', 0);
  const blocks = Array.from({ length: 250 }, (_, i) => ({ cidr: `10.99.0.${i + 2}/32`, kind: 'ip' }));
  const nic = { id: 'eni-0', deviceIndex: 0, mac: '02:00:00:00:00:01', subnetId: 's', subnetCidr: '10.99.0.0/24' };
  datastore.upsertInterface({ ...nic, primaryIp: '10.99.0.1', securityGroups: [], blocks, tags: {} }, Date.now());
  const allocator = new Allocator({
    datastore,
    checkpointer,
    clock: new SystemClock(),
    addWaitMs: 0,
    trigger: () => {},
    growth: () => ({ canGrow: false, reason: 'bench' }),
  });
  let plumber;
  if (root) plumber = await (await mod(dir, 'ipamd/netns/netlink-plumber.ts')).createNetlinkPlumber();
  else plumber = new (await mod(dir, 'ipamd/netns/plumber.ts')).NoopPlumber();
  const observe = (cmd: string, phase: string, ms: number) => {
    const k = `${cmd} ${phase}`;
    phases.set(k, [...(phases.get(k) ?? []), ms]);
  };
  const vet = plumber.vetNetns?.bind(plumber);
  if (vet) {
    plumber.vetNetns = async (p: string) => {
      const t0 = performance.now();
      await vet(p);
      observe('ADD', 'vet', performance.now() - t0);
    };
  }
  const handler = new ApiHandler({
    allocator,
    datastore,
    plumber,
    vpcCidrs: () => ['10.99.0.0/16'],
    status: () => ({}),
    version: 'bench',
    phases: { observe },
  });
  await allocator.persist();
  return {
    label,
    phases,
    handler,
    syncs: () => (jMod ? (inner as { syncs: number }).syncs : syncs),
    close: async () => {
      await (handler as { keptVeths?: { flush(): Promise<void> } }).keptVeths?.flush();
      await plumber.close();
      rmSync(path.dirname(state), { recursive: true, force: true });
    },
  };
}

const netns = (i: number) => `addpath-pod-${i}`;
const nsDel = (i: number) => execFileSync('ip', ['netns', 'del', netns(i)]);
const req = (op: string, i: number, withNetns: boolean) => ({
  v: 1,
  op,
  network: 'bench',
  containerId: `bench-container-${i}`,
  ifName: 'eth0',
  ...(withNetns ? { netns: { path: `/var/run/netns/${netns(i)}` } } : {}),
});

async function round(t: Tree, add: number[], del: number[], base: number): Promise<void> {
  for (let i = 0; i < PODS; i++) if (root) execFileSync('ip', ['netns', 'add', netns(base + i)]);
  try {
    await cycles(t, add, del, base);
  } finally {
    // What a failed round left (none when it succeeded: each DEL's namespace went right after it).
    for (let i = 0; i < PODS; i++) if (root && existsSync(`/var/run/netns/${netns(base + i)}`)) nsDel(base + i);
  }
}

async function cycles(t: Tree, add: number[], del: number[], base: number): Promise<void> {
  for (let i = 0; i < PODS; i++) {
    let t0 = performance.now();
    const a = await t.handler.handle(req('add', base + i, root));
    add.push(performance.now() - t0);
    if (!a.ok) throw new Error(`${t.label} ADD: ${JSON.stringify(a.error)}`);
    if (GAP_MS > 0) await new Promise((r) => setTimeout(r, GAP_MS));
    t0 = performance.now();
    const d = await t.handler.handle(req('del', base + i, root));
    del.push(performance.now() - t0);
    if (!d.ok) throw new Error(`${t.label} DEL: ${JSON.stringify(d.error)}`);
    // As the runtime does right after DEL: the namespace goes, and the kernel destroys what is left in it.
    if (root) nsDel(base + i);
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const ms = (x: number) => x.toFixed(2);

async function main(): Promise<void> {
  const trees = [await tree(HERE, 'this tree')];
  const baseDir = flag('base');
  if (baseDir) trees.unshift(await tree(path.resolve(baseDir), 'base tree'));
  const results = trees.map(() => ({ add: [] as number[], del: [] as number[], syncs0: 0 }));
  trees.forEach((t, i) => (results[i]!.syncs0 = t.syncs()));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, t] of trees.entries())
      await round(t, results[i]!.add, results[i]!.del, (r * trees.length + i) * PODS);
  }
  const out: string[] = [
    `ipamd handling, in process, ${PODS * ROUNDS} ADD+DEL per tree, ${root ? 'real netlink' : 'no plumbing'}` +
      `${baseDir ? ', trees in alternating rounds' : ''}${GAP_MS ? `, ${GAP_MS} ms between ADD and DEL` : ''}`,
    '',
    '| tree | ADD p50 ms | ADD p99 ms | DEL p50 ms | DEL p99 ms | syncs per ADD+DEL |',
    '|---|---|---|---|---|---|',
  ];
  for (const [i, t] of trees.entries()) {
    const r = results[i]!;
    const perPod = (t.syncs() - r.syncs0) / (PODS * ROUNDS);
    out.push(
      `| ${t.label} | ${ms(pct(r.add, 50))} | ${ms(pct(r.add, 99))} | ` +
        `${ms(pct(r.del, 50))} | ${ms(pct(r.del, 99))} | ${perPod.toFixed(2)} |`,
    );
  }
  if (trees.length === 2) {
    const ratio = (k: 'add' | 'del') => (pct(results[1]![k], 50) / pct(results[0]![k], 50)).toFixed(2);
    out.push('', `this tree ÷ base tree, p50: ADD ${ratio('add')}, DEL ${ratio('del')}`);
  }
  const keys = [...new Set(trees.flatMap((t) => [...t.phases.keys()]))].sort();
  out.push(
    '',
    `| phase (p50 / p99 ms) | ${trees.map((t) => t.label).join(' | ')} |`,
    `|---|${'---|'.repeat(trees.length)}`,
  );
  for (const k of keys) {
    const cell = (t: Tree) => {
      const v = t.phases.get(k);
      return v ? `${ms(pct(v, 50))} / ${ms(pct(v, 99))}` : '-';
    };
    out.push(`| ${k} | ${trees.map(cell).join(' | ')} |`);
  }
  console.log(out.join('\n'));
  writeBlock(DOC, 'addpath', out.join('\n'));
  console.log(`\nwritten to ${DOC}`);
  for (const t of trees) await t.close();
}

await main();
