/**
 * @module names of the network namespaces tests make, and the sweep of dead ones
 * Every namespace a privileged test file makes is named after the process
 * that owns it: `vpcit-<pid>.<start>-host` is the throwaway "host" namespace
 * of that test worker (test/priv-setup.ts), `vpcit-<pid>.<start>-<tag>-<n>`
 * its Pod namespaces. The start time (clock ticks since boot, from
 * /proc/<pid>/stat) tells a live owner from a recycled PID, so the sweep in
 * test/global-setup.ts can delete exactly the namespaces whose owner died
 * (a SIGKILLed or aborted worker never runs its afterAll).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const TEST_NS_PREFIX = 'vpcit-';
const OWNED = /^vpcit-(\d+)\.(\d+)-/;
/** Names of the test files before run-unique names (`vpcp<pid>-3`): only their PID is known. */
const LEGACY = /^vpc[a-z]*?(\d+)-/;

/** Start time of `pid` in clock ticks since boot, undefined when no such process. */
export function startTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may contain spaces and parentheses, so count after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** `<pid>.<start>` of this process: unique on this machine until reboot. */
export function ownerTag(pid = process.pid): string {
  return `${pid}.${startTicks(pid) ?? '0'}`;
}

export const hostNsName = (pid = process.pid): string => `${TEST_NS_PREFIX}${ownerTag(pid)}-host`;

/** Prefix for this process's Pod namespaces; `tag` tells the test files apart in `ip netns` output. */
export const podNsPrefix = (tag: string): string => `${TEST_NS_PREFIX}${ownerTag()}-${tag}-`;

export type Owner = 'dead' | 'alive' | 'unknown';

/** Whether the process a namespace name belongs to still runs ('unknown': not a name tests make). */
export function ownerOf(name: string): { state: Owner; pid?: number } {
  const m = OWNED.exec(name);
  if (m) {
    const pid = Number(m[1]);
    return { state: startTicks(pid) === m[2] ? 'alive' : 'dead', pid };
  }
  const legacy = LEGACY.exec(name);
  if (legacy) {
    const pid = Number(legacy[1]);
    return { state: startTicks(pid) === undefined ? 'dead' : 'alive', pid };
  }
  return { state: 'unknown' };
}

/** True when `pid` is `ancestor` or one of its descendants. */
export function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p: number | undefined = pid, hops = 0; p && p > 1 && hops < 64; p = parentOf(p), hops++) {
    if (p === ancestor) return true;
  }
  return false;
}

/**
 * A namespace (or its /run/netns mount) that a live test process outside this
 * run made: another developer's run on the same machine, not our leftover.
 */
export function foreignLive(name: string, runPid: number): boolean {
  const o = ownerOf(name);
  return o.state === 'alive' && !descendsFrom(o.pid!, runPid);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export function netnsNames(): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
}

/**
 * Deletes every `vpcit-` namespace whose owner is dead, and with `alsoOurs`
 * those whose owner is a live process of this run (the run is over, so its
 * workers are done with them), after killing the processes left in them.
 * Returns what it deleted.
 */
export function sweepTestNamespaces(opts: { alsoOurs?: number } = {}): string[] {
  const deleted: string[] = [];
  let names: string[];
  try {
    names = netnsNames();
  } catch {
    return deleted; // no iproute2: no test could have made a namespace
  }
  for (const name of names) {
    if (!name.startsWith(TEST_NS_PREFIX)) continue;
    const o = ownerOf(name);
    const ours = o.state === 'alive' && opts.alsoOurs !== undefined && descendsFrom(o.pid!, opts.alsoOurs);
    if (o.state !== 'dead' && !ours) continue;
    try {
      // Processes still in it were started by the dead worker's tests (ipamd, a plugin): orphans now.
      const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).split('\n').filter(Boolean);
      for (const pid of pids.map(Number)) if (pid !== process.pid) killQuietly(pid);
      // Deleting a namespace deletes every veth, route and rule in it.
      execFileSync('ip', ['netns', 'del', name], { stdio: ['ignore', 'ignore', 'pipe'] });
      deleted.push(pids.length ? `${name} (killed ${pids.join(', ')})` : name);
    } catch {
      // Raced with its owner's own cleanup, or another run's sweep: gone either way.
    }
  }
  return deleted;
}
