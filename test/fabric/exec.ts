/**
 * @module fabric command runner
 * Every fabric change is an `ip`, `nft`, `iptables-restore` or `sysctl` run with fixed argv (never a shell
 * string), inside one of the fabric's own namespaces. Failures throw with the command and its stderr, so a
 * broken fabric says which step broke; `tryRun` is for cleanup, which must go on after a failure.
 */
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs argv with stdin `input`, killed after `timeoutMs`; resolves with the outcome, never rejects. */
export function runRaw(argv: readonly string[], input?: string, timeoutMs = 10_000): Promise<RunResult> {
  return new Promise((resolve) => {
    // A clean environment: no NODE_OPTIONS, no proxies; tools here are not Node programs.
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: `${stderr}${err.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** Runs argv; throws unless it exits 0. */
export async function run(argv: readonly string[], input?: string, timeoutMs?: number): Promise<string> {
  const r = await runRaw(argv, input, timeoutMs);
  if (r.code !== 0) {
    const shown = input && input.length < 4000 ? `\n--- stdin ---\n${input}` : '';
    throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}${shown}`);
  }
  return r.stdout;
}

/** For cleanup paths: errors are returned as text, not thrown. */
export async function tryRun(argv: readonly string[]): Promise<string | undefined> {
  const r = await runRaw(argv);
  return r.code === 0 ? undefined : `${argv.join(' ')}: ${r.stderr.trim()}`;
}

/** `ip netns exec NS argv…`: a command inside a namespace, with that namespace's /sys. */
export const inNs = (ns: string, ...argv: string[]): string[] => ['ip', 'netns', 'exec', ns, ...argv];

/** `ip -n NS …` (cheaper than netns exec: no new mount namespace). */
export const ipIn = (ns: string, ...args: string[]): Promise<string> => run(['ip', '-n', ns, ...args]);

/** `ip -n NS -batch -`: many changes in one process, failing on the first bad line. */
export async function ipBatch(ns: string, lines: string[]): Promise<void> {
  if (lines.length) await run(['ip', '-n', ns, '-batch', '-'], `${lines.join('\n')}\n`);
}

export async function ipJson<T>(ns: string, ...args: string[]): Promise<T> {
  const out = await run(['ip', '-j', '-n', ns, ...args]);
  return JSON.parse(out.trim() || '[]') as T;
}

/** Sets sysctls inside a namespace (`net.*` keys are per namespace). */
export async function sysctl(ns: string, settings: Record<string, string | number>): Promise<void> {
  const args = Object.entries(settings).map(([k, v]) => `${k}=${v}`);
  await run(inNs(ns, 'sysctl', '-q', '-w', ...args));
}

/** `nft -f -` inside a namespace: one atomic transaction. */
export const nft = (ns: string, script: string): Promise<string> => run(inNs(ns, 'nft', '-f', '-'), script);

/** Named counters of one nft table as name → packets (empty when the table does not exist). */
export async function nftCounters(ns: string, family: string, table: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const r = await runRaw(inNs(ns, 'nft', '-j', 'list', 'counters', 'table', family, table));
  if (r.code !== 0) return out;
  const doc = JSON.parse(r.stdout) as { nftables: Array<{ counter?: { name: string; packets: number } }> };
  for (const e of doc.nftables) if (e.counter) out.set(e.counter.name, e.counter.packets);
  return out;
}
