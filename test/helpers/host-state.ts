/**
 * @module the real host's network state, as the test run found and left it
 * test/global-setup.ts records it when the run starts and compares when it
 * ends: privileged tests run in throwaway namespaces (test/priv-setup.ts), so
 * any difference is something a test (or the code under test) did to the
 * host, or failed to clean up.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { foreignLive, netnsNames } from './test-netns.js';

export type HostState = Record<string, string[]>;

const ip = (...args: string[]): string => {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // No IPv6 (or no iproute2) on this machine, say: the same answer at start and end, so no difference.
    return `(ip ${args.join(' ')} failed: ${(err as Error).message.split('\n')[0]})`;
  }
};

interface LinkJson {
  ifname: string;
  link_type?: string;
  address?: string;
  mtu?: number;
  flags?: string[];
  master?: string;
}

/**
 * One sorted list of lines per kind. Only what a test could change is kept:
 * carrier (LOWER_UP), counters and route expiry timers move on their own.
 */
export function hostState(runPid = process.pid): HostState {
  const linkJson = ip('-j', 'link', 'show');
  const links = (linkJson.startsWith('(') ? [] : (JSON.parse(linkJson || '[]') as LinkJson[])).map((l) =>
    [
      l.ifname,
      l.link_type,
      l.address,
      `mtu ${l.mtu}`,
      (l.flags ?? []).filter((f) => f !== 'LOWER_UP').join(','),
      l.master ? `master ${l.master}` : '',
    ]
      .filter(Boolean)
      .join(' '),
  );
  const lines = (s: string) =>
    s
      .split('\n')
      .map((l) => l.replace(/\s+expires \S+/g, '').trim())
      .filter(Boolean);
  const netns = ip('netns', 'list').startsWith('(') ? ['(ip netns list failed)'] : netnsNames();
  // Another developer's run on this machine has namespaces of its own while it runs: not ours to judge.
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && !(m.startsWith('/run/netns/') && foreignLive(m.slice(11), runPid)));
  const state: HostState = {
    'ip netns': netns.filter((n) => !foreignLive(n, runPid)),
    'ip link': links,
    'ip rule': lines(ip('rule', 'show')),
    'ip -6 rule': lines(ip('-6', 'rule', 'show')),
    'ip route show table all': lines(ip('route', 'show', 'table', 'all')),
    'ip -6 route show table all': lines(ip('-6', 'route', 'show', 'table', 'all')),
    mounts,
  };
  for (const k of Object.keys(state)) state[k] = [...new Set(state[k])].sort();
  return state;
}

/** What appeared and what disappeared, per kind; empty when nothing changed. */
export function diffHostState(before: HostState, after: HostState): string[] {
  const out: string[] = [];
  for (const kind of Object.keys(before)) {
    const b = new Set(before[kind]);
    const a = new Set(after[kind]);
    for (const x of a) if (!b.has(x)) out.push(`${kind}: left behind: ${x}`);
    for (const x of b) if (!a.has(x)) out.push(`${kind}: gone: ${x}`);
  }
  return out;
}
