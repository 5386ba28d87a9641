/**
 * @module netns test tools (privileged tests and benchmark only)
 * Test code may exec `ip`/`ping` with fixed arguments; shipped code never does.
 * Every name made here carries a caller-chosen prefix so cleanup can find it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

// Pod namespace names carry their owner, so a crashed worker's are swept (test/helpers/test-netns.ts).
export { podNsPrefix } from '../helpers/test-netns.js';

export const isRoot = (): boolean => process.getuid?.() === 0;

export async function ip(...args: string[]): Promise<string> {
  return (await run('ip', args, { encoding: 'utf8' })).stdout;
}

export async function ipJson<T>(...args: string[]): Promise<T> {
  return JSON.parse((await run('ip', ['-j', ...args], { encoding: 'utf8' })).stdout || '[]') as T;
}

export async function addNetns(name: string): Promise<string> {
  await ip('netns', 'add', name);
  return `/var/run/netns/${name}`;
}

export async function listNetns(prefix: string): Promise<string[]> {
  const out = await ip('netns', 'list').catch(() => '');
  return out
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(prefix));
}

/** Deletes every netns with the prefix; tolerant (cleanup runs after failures too). */
export async function deleteNetnsWithPrefix(prefix: string): Promise<void> {
  for (const n of await listNetns(prefix)) await ip('netns', 'del', n).catch(() => undefined);
}

export async function linkNames(): Promise<string[]> {
  return (await ipJson<Array<{ ifname: string }>>('link', 'show')).map((l) => l.ifname);
}

export async function deleteLinks(names: string[]): Promise<void> {
  const present = new Set(await linkNames());
  for (const n of names) if (present.has(n)) await ip('link', 'del', n).catch(() => undefined);
}

export interface RuleJson {
  priority: number;
  src?: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  fwmark?: string;
  table: string;
}
export const rules = (): Promise<RuleJson[]> => ipJson<RuleJson[]>('rule', 'show');

export interface RouteJson {
  dst: string;
  dev?: string;
  gateway?: string;
}
export const routes = (): Promise<RouteJson[]> => ipJson<RouteJson[]>('route', 'show', 'table', 'main');

/** Deletes our Pod rules (from-rules at 1536, to-rules at 512) whose address matches. */
export async function deleteRules(match: (ip: string) => boolean): Promise<void> {
  for (const r of await rules()) {
    if (r.priority === 1536 && r.src && match(r.src))
      await ip('rule', 'del', 'priority', '1536', 'from', r.src).catch(() => undefined);
    if (r.priority === 512 && r.dst && match(r.dst))
      await ip('rule', 'del', 'priority', '512', 'to', r.dst).catch(() => undefined);
  }
}

/** One ping from the host, 1 s deadline; true on a reply. */
export async function ping(addr: string): Promise<boolean> {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(addr)) throw new Error(`not an address: ${addr}`);
  try {
    await run('ping', ['-c', '1', '-W', '1', '-q', addr]);
    return true;
  } catch {
    return false;
  }
}

/**
 * A /20 of the sim VPC (10.0.0.0/16) chosen per process, so two runs on one
 * machine (a developer's test run and a benchmark) rarely hand out the same
 * Pod addresses, and each run's cleanup only touches its own rules. Block 0
 * holds the sim's default node subnet and is never used.
 */
export function runSubnet(salt = 0): { cidr: string; contains(ip: string): boolean } {
  const third = 16 * (1 + ((process.pid + salt) % 15));
  return {
    cidr: `10.0.${third}.0/20`,
    contains: (ip) => {
      const m = /^10\.0\.(\d+)\.\d+$/.exec(ip);
      return !!m && Number(m[1]) >= third && Number(m[1]) < third + 16;
    },
  };
}
