/**
 * @module node netfilter runner
 * Installs, checks and removes the node's SNAT and NodePort connmark rules (snat-rules.ts) with the iptables
 * binaries, always through spawn with an argv array (never a shell), with a clean environment and a timeout.
 *
 * Backend: iptables has two, which write to different kernel subsystems (x_tables and nf_tables). Both
 * work on one kernel, but rules of ours in the backend kube-proxy does not use would run in a different
 * order relative to its rules and confuse whoever reads `iptables-save`. So, like kube-proxy's
 * iptables-wrapper and the AWS VPC CNI's GetIptablesMode: the kubelet's `KUBE-IPTABLES-HINT` /
 * `KUBE-KUBELET-CANARY` chain decides; else the backend holding more rules; a tie goes to nft.
 *
 * Every call runs one at a time (resync, CHECK and uninstall may overlap), and apply() is a no-op when
 * verify() finds everything in place: resync calls it every minute.
 */

import { spawn } from 'node:child_process';
import { IpamError } from '../../providers/errors.js';
import { describeRule, jumpTarget, parseSave, ruleKey, type SavedTable } from './iptables-save.js';
import {
  OWN_CHAIN_PREFIX,
  OWN_CHAIN_RE,
  renderNetfilter,
  validateNetfilterSpec,
  type NodeNetfilterSpec,
  type RenderedNetfilter,
} from './snat-rules.js';

export type NetfilterBackend = 'nft' | 'legacy';

export interface ExecResult {
  /** null when killed (timeout) or never started. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** The binary does not exist. */
  notFound?: boolean;
}

/** Runs `file` with `args` and `input` on stdin; resolves with the outcome, never rejects. */
export type ExecFn = (file: string, args: readonly string[], input?: string) => Promise<ExecResult>;

export interface NetfilterLog {
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
}

/** An iptables command failed, or no iptables is installed. Carries the command, exit code and stderr. */
export class NetfilterError extends IpamError {
  constructor(
    message: string,
    readonly command: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super('NETNS_FAILED', message);
  }
}

const BACKENDS: readonly NetfilterBackend[] = ['nft', 'legacy'];
const TIMEOUT_MS = 10_000;
// Legacy iptables serialises writers with /run/xtables.lock; wait for kube-proxy instead of failing at once.
const WAIT = ['-w', '5'];
// Fixed sbin directories first: the daemon's PATH may lack them, and a PATH entry must not pick the binary.
const CHILD_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };
const HINT_RE = /^:(KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY) /m;
const TABLES = ['nat', 'mangle'] as const;

/** The default {@link ExecFn}: spawn, 10 s timeout, SIGKILL on expiry. */
export const spawnExec: ExecFn = (file, args, input) =>
  new Promise((resolve) => {
    const child = spawn(file, [...args], {
      env: CHILD_ENV,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e: NodeJS.ErrnoException) =>
      resolve({ exitCode: null, stdout: '', stderr: e.message, notFound: e.code === 'ENOENT' }),
    );
    child.on('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({
        exitCode: code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: signal ? `${stderr}killed by ${signal} (timeout ${TIMEOUT_MS} ms?)` : stderr,
      });
    });
    // A binary that exits before reading stdin must not crash us with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });

const countRules = (save: string): number => save.split('\n').filter((l) => l.startsWith('-A ')).length;

export class NodeNetfilter {
  private readonly mode: 'auto' | NetfilterBackend;
  private readonly log?: NetfilterLog;
  private readonly exec: ExecFn;
  private backend?: Promise<NetfilterBackend>;
  private readonly randomFully = new Map<NetfilterBackend, Promise<boolean>>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(o: { mode?: 'auto' | NetfilterBackend; log?: NetfilterLog; exec?: ExecFn } = {}) {
    this.mode = o.mode ?? 'auto';
    this.log = o.log;
    this.exec = o.exec ?? spawnExec;
  }

  /** The backend to use: `mode` when explicit, else detected once (cached; a failure is retried next call). */
  detect(): Promise<NetfilterBackend> {
    this.backend ??= this.detectOnce().catch((err: unknown) => {
      this.backend = undefined;
      throw err;
    });
    return this.backend;
  }

  /**
   * Makes the node's rules match `spec`: validates, verifies, and when anything differs restores our chains,
   * makes each jump exist exactly once, removes our chains that are no longer wanted, and removes ours from
   * the other backend. `changed` false: everything was in place and nothing ran but two iptables-save.
   */
  async apply(spec: NodeNetfilterSpec): Promise<{ backend: NetfilterBackend; changed: boolean }> {
    const s = validateNetfilterSpec(spec);
    return this.serial(async () => {
      const backend = await this.detect();
      const r = await this.render(backend, s);
      const before = await this.read(backend);
      const problems = diff(r, before);
      if (!problems.length) return { backend, changed: false };
      this.log?.info({ backend, problems }, 'netfilter: installing node rules');
      if (r.restore) await this.run(`iptables-${backend}-restore`, [...WAIT, '--noflush'], r.restore);
      await this.fixJumps(backend, r, before);
      for (const table of TABLES) {
        const wanted = new Set(r.chains.filter((c) => c.table === table).map((c) => c.chain));
        const t = before.get(table);
        if (t)
          await this.dropChains(
            backend,
            table,
            t,
            [...t.chains].filter((c) => isOwn(c) && !wanted.has(c)),
          );
      }
      await this.cleanOther(backend);
      const left = diff(r, await this.read(backend));
      // Someone changed the rules meanwhile, or iptables-save prints a form ruleKey does not know: the next
      // resync tries again, and this says why it keeps reporting a change.
      if (left.length) this.log?.warn({ backend, problems: left }, 'netfilter: rules still differ after apply');
      return { backend, changed: true };
    });
  }

  /**
   * What differs from what apply() would install, one message per missing, extra or wrong rule or jump;
   * [] when all is in place. Reads `iptables-save -t nat` and `-t mangle`; works in a process that never
   * applied (rules are compared by {@link ruleKey}, not as text).
   */
  async verify(spec: NodeNetfilterSpec): Promise<string[]> {
    const s = validateNetfilterSpec(spec);
    return this.serial(async () => {
      const backend = await this.detect();
      return diff(await this.render(backend, s), await this.read(backend));
    });
  }

  /**
   * Deletes our jumps and chains (every `VPC-IPAM-*` chain, in every table) in both backends whose binaries
   * exist: an uninstall after a backend change must still clean up. Returns what it removed; idempotent.
   */
  remove(): Promise<string[]> {
    return this.serial(async () => {
      const removed: string[] = [];
      for (const b of BACKENDS) removed.push(...(await this.removeFrom(b)));
      if (removed.length) this.log?.info({ removed }, 'netfilter: removed node rules');
      return removed;
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async detectOnce(): Promise<NetfilterBackend> {
    if (this.mode !== 'auto') {
      await this.supportsRandomFully(this.mode); // fails early, with the install hint, when it is missing
      return this.mode;
    }
    // Full saves, no -t: for legacy, naming a table loads its kernel module and creates the table.
    const [nft, legacy] = await Promise.all(BACKENDS.map((b) => this.exec(`iptables-${b}-save`, [])));
    const usable = (x: ExecResult) => !x.notFound && x.exitCode === 0;
    if (!usable(nft!) && !usable(legacy!)) {
      const missing = nft!.notFound && legacy!.notFound;
      throw new NetfilterError(
        missing
          ? 'neither iptables-nft-save nor iptables-legacy-save found: install the iptables package'
          : `iptables-save failed in both backends: nft: ${nft!.stderr.trim()}; legacy: ${legacy!.stderr.trim()}`,
        ['iptables-nft-save', 'iptables-legacy-save'],
        nft!.exitCode,
        `${nft!.stderr}${legacy!.stderr}`,
      );
    }
    const pick = (backend: NetfilterBackend, reason: string): NetfilterBackend => {
      this.log?.info({ backend, reason }, 'netfilter: iptables backend chosen');
      return backend;
    };
    // The kubelet's chains say which backend the node's Kubernetes uses; nft first, as iptables-wrapper does.
    if (usable(nft!) && HINT_RE.test(nft!.stdout)) return pick('nft', 'kubelet hint chain in nft');
    if (usable(legacy!) && HINT_RE.test(legacy!.stdout)) return pick('legacy', 'kubelet hint chain in legacy');
    const n = usable(nft!) ? countRules(nft!.stdout) : -1;
    const l = usable(legacy!) ? countRules(legacy!.stdout) : -1;
    if (l > n) return pick('legacy', `more rules in legacy (${l}) than in nft (${n})`);
    return usable(nft!) ? pick('nft', `rules: nft ${n}, legacy ${l}`) : pick('legacy', 'nft unusable');
  }

  /** `--random-fully` came with iptables 1.6.2; cached per backend. */
  private supportsRandomFully(b: NetfilterBackend): Promise<boolean> {
    let p = this.randomFully.get(b);
    if (!p) {
      p = this.run(`iptables-${b}`, ['--version']).then((out) => {
        const m = /v(\d+)\.(\d+)\.(\d+)/.exec(out);
        const [maj, min, pat] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
        return maj > 1 || (maj === 1 && (min > 6 || (min === 6 && pat >= 2)));
      });
      p.catch(() => this.randomFully.delete(b));
      this.randomFully.set(b, p);
    }
    return p;
  }

  private async render(b: NetfilterBackend, s: NodeNetfilterSpec): Promise<RenderedNetfilter> {
    return renderNetfilter(s, { randomFully: await this.supportsRandomFully(b) });
  }

  private async run(file: string, args: readonly string[], input?: string): Promise<string> {
    const r = await this.exec(file, args, input);
    const command = [file, ...args];
    if (r.notFound) {
      throw new NetfilterError(`${file} not found: install the iptables package`, command, null, r.stderr);
    }
    if (r.exitCode !== 0) {
      const msg = `${command.join(' ')} exited ${r.exitCode}: ${r.stderr.trim() || r.stdout.trim()}`;
      throw new NetfilterError(msg, command, r.exitCode, r.stderr);
    }
    return r.stdout;
  }

  private iptables(b: NetfilterBackend, table: string, ...args: string[]): Promise<string> {
    return this.run(`iptables-${b}`, [...WAIT, '-t', table, ...args]);
  }

  private async read(b: NetfilterBackend): Promise<Map<string, SavedTable>> {
    const texts = await Promise.all(TABLES.map((t) => this.run(`iptables-${b}-save`, ['-t', t])));
    return parseSave(texts.join('\n'));
  }

  /**
   * Each wanted jump exactly once, in its built-in chain and in our form. The new one goes in before the wrong
   * ones go, so Pod traffic is never without the chain. Built-in chains are untouched by restore, so
   * `before` still describes them.
   */
  private async fixJumps(b: NetfilterBackend, r: RenderedNetfilter, before: Map<string, SavedTable>): Promise<void> {
    for (const j of r.jumps) {
      const key = ruleKey(j.args);
      const all = (before.get(j.table)?.rules ?? []).filter((x) => jumpTarget(x.args) === j.target);
      const exact = all.filter((x) => x.chain === j.chain && ruleKey(x.args) === key);
      if (!exact.length) await this.iptables(b, j.table, '-A', j.chain, ...j.args);
      // Left by a crash between restore and the jump, or by an older version: one copy is deleted per call.
      for (let i = 1; i < exact.length; i++) await this.iptables(b, j.table, '-D', j.chain, ...j.args);
      // Saved rules are iptables' own output, fed back as argv: deletion by spec, never by (racy) number.
      for (const x of all.filter((y) => !exact.includes(y))) await this.iptables(b, j.table, '-D', x.chain, ...x.args);
    }
  }

  /** Deletes every jump to `names`, then flushes and deletes them (-X refuses a chain still referenced). */
  private async dropChains(b: NetfilterBackend, table: string, t: SavedTable, names: string[]): Promise<string[]> {
    const done: string[] = [];
    const drop = new Set(names);
    for (const x of t.rules) {
      const target = jumpTarget(x.args);
      if (!target || !drop.has(target) || drop.has(x.chain)) continue;
      await this.iptables(b, table, '-D', x.chain, ...x.args);
      done.push(`${b} ${table} ${x.chain}: jump to ${target}`);
    }
    for (const c of names) await this.iptables(b, table, '-F', c);
    for (const c of names) {
      await this.iptables(b, table, '-X', c);
      done.push(`${b} ${table}: chain ${c}`);
    }
    return done;
  }

  private async removeFrom(b: NetfilterBackend): Promise<string[]> {
    const r = await this.exec(`iptables-${b}-save`, []);
    if (r.notFound) return [];
    if (r.exitCode !== 0) {
      const command = [`iptables-${b}-save`];
      throw new NetfilterError(`${command[0]} exited ${r.exitCode}: ${r.stderr.trim()}`, command, r.exitCode, r.stderr);
    }
    const removed: string[] = [];
    for (const [table, t] of parseSave(r.stdout)) {
      const own = [...t.chains].filter(isOwn);
      if (own.length) removed.push(...(await this.dropChains(b, table, t, own)));
    }
    return removed;
  }

  /** Ours in the backend not chosen (a backend change across restarts) would run beside the new rules. */
  private async cleanOther(chosen: NetfilterBackend): Promise<void> {
    const other = BACKENDS.find((b) => b !== chosen)!;
    try {
      const removed = await this.removeFrom(other);
      if (removed.length) this.log?.info({ backend: other, removed }, 'netfilter: removed rules of the other backend');
    } catch (err) {
      this.log?.warn({ backend: other, err: (err as Error).message }, 'netfilter: could not clean the other backend');
    }
  }
}

/** A chain of ours, by name as read back; anything else on a command line it would reach is refused. */
const isOwn = (chain: string): boolean => chain.startsWith(OWN_CHAIN_PREFIX) && OWN_CHAIN_RE.test(chain);

/** What differs between the rendering and the saved tables, one message per finding. */
export function diff(r: RenderedNetfilter, tables: Map<string, SavedTable>): string[] {
  const out: string[] = [];
  for (const c of r.chains) {
    const t = tables.get(c.table);
    const where = `${c.table} ${c.chain}`;
    if (!t?.chains.has(c.chain)) {
      out.push(`${where}: chain missing`);
      continue;
    }
    const actual = t.rules.filter((x) => x.chain === c.chain);
    const want = c.rules.map(ruleKey);
    const have = actual.map((x) => ruleKey(x.args));
    if (want.join('\n') === have.join('\n')) continue;
    const left = [...have];
    const before = out.length;
    c.rules.forEach((rule, i) => {
      const at = left.indexOf(want[i]!);
      if (at < 0) out.push(`${where}: missing "${describeRule(rule)}"`);
      else left[at] = '\0';
    });
    actual.forEach((x, i) => {
      if (left[i] !== '\0') out.push(`${where}: unexpected "${describeRule(x.args)}"`);
    });
    if (out.length === before) out.push(`${where}: rules out of order`);
  }
  for (const j of r.jumps) {
    const key = ruleKey(j.args);
    const all = (tables.get(j.table)?.rules ?? []).filter((x) => jumpTarget(x.args) === j.target);
    const exact = all.filter((x) => x.chain === j.chain && ruleKey(x.args) === key).length;
    if (exact === 0) out.push(`${j.table} ${j.chain}: jump to ${j.target} missing`);
    if (exact > 1) out.push(`${j.table} ${j.chain}: jump to ${j.target} present ${exact} times`);
    for (const x of all) {
      if (x.chain !== j.chain || ruleKey(x.args) !== key) {
        out.push(`${j.table} ${x.chain}: unexpected jump to ${j.target} "${describeRule(x.args)}"`);
      }
    }
  }
  for (const table of TABLES) {
    const t = tables.get(table);
    const wanted = new Set(r.chains.filter((c) => c.table === table).map((c) => c.chain));
    for (const c of [...(t?.chains ?? [])].filter((x) => isOwn(x) && !wanted.has(x))) {
      out.push(`${table} ${c}: chain present but not wanted`);
      for (const x of t!.rules.filter((y) => jumpTarget(y.args) === c)) {
        out.push(`${table} ${x.chain}: jump to ${c} present but not wanted`);
      }
    }
  }
  return out;
}
