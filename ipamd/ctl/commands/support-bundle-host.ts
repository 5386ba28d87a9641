/**
 * @module support bundle host state
 * The node's network state, read-only: links, addresses, routes and rules (IPv4 and IPv6), netfilter rules,
 * the sysctls Pod routing depends on, and tool and kernel versions. Every command has a fixed argv, run
 * without a shell; nothing from outside (flags, the daemon's answers) reaches an argv.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Collected, reason } from './support-bundle-entries.js';

/** Archive name → argv. */
export const HOST_COMMANDS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['host/ip-link.txt', ['ip', '-d', 'link', 'show']],
  ['host/ip-addr.txt', ['ip', 'addr', 'show']],
  ['host/ip-route.txt', ['ip', 'route', 'show', 'table', 'all']],
  ['host/ip-rule.txt', ['ip', 'rule', 'show']],
  ['host/ip6-addr.txt', ['ip', '-6', 'addr', 'show']],
  ['host/ip6-route.txt', ['ip', '-6', 'route', 'show', 'table', 'all']],
  ['host/ip6-rule.txt', ['ip', '-6', 'rule', 'show']],
  ['host/ip-neigh.txt', ['ip', 'neigh', 'show']],
  ['host/ip-netns.txt', ['ip', 'netns', 'list']],
  ['host/iptables-save.txt', ['iptables-save']],
  ['host/ip6tables-save.txt', ['ip6tables-save']],
  ['host/nft-ruleset.txt', ['nft', 'list', 'ruleset']],
  ['versions/ip.txt', ['ip', '-V']],
  ['versions/iptables.txt', ['iptables', '--version']],
  ['versions/nft.txt', ['nft', '--version']],
];

/** Sysctls under /proc/sys, `*` for every interface. */
export const SYSCTLS: readonly string[] = [
  'net/ipv4/ip_forward',
  'net/ipv4/conf/*/rp_filter',
  'net/ipv4/conf/*/forwarding',
  'net/ipv4/conf/*/proxy_arp',
  'net/ipv4/tcp_early_demux',
  'net/ipv4/udp_early_demux',
  'net/ipv4/ip_local_port_range',
  'net/ipv4/ip_local_reserved_ports',
  'net/ipv6/conf/all/forwarding',
  'net/ipv6/conf/all/disable_ipv6',
  'net/ipv6/conf/*/accept_ra',
  'net/netfilter/nf_conntrack_max',
  'net/netfilter/nf_conntrack_count',
];

const COMMAND_TIMEOUT_MS = 15_000;
const MAX_OUTPUT = 64 * 1024 * 1024;

function run(argv: readonly string[]): Promise<{ out: string; err?: string }> {
  return new Promise((resolve) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      { timeout: COMMAND_TIMEOUT_MS, maxBuffer: MAX_OUTPUT, shell: false, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve({ out: stdout });
        const e = err as NodeJS.ErrnoException & { killed?: boolean };
        const why =
          e.code === 'ENOENT'
            ? `${argv[0]} is not installed`
            : e.killed
              ? `killed after ${COMMAND_TIMEOUT_MS / 1000} s`
              : `exit ${e.code ?? '?'}: ${stderr.trim().slice(0, 500) || e.message}`;
        resolve({ out: stdout, err: why });
      },
    );
  });
}

/** `commands` and `procSys` are the real ones but for tests (a tool that is not installed, a scratch /proc/sys). */
export async function collectHost(c: Collected, commands = HOST_COMMANDS, procSys = '/proc/sys'): Promise<void> {
  for (const [name, argv] of commands) {
    const r = await run(argv);
    if (r.err === undefined) c.file(name, r.out, argv.join(' '));
    else {
      c.missing(argv.join(' '), r.err);
      // What it printed before failing may still help (nft prints part of a ruleset it cannot fully list).
      if (r.out) c.files.push({ name, content: r.out });
    }
  }
  c.file('host/sysctls.txt', readSysctls(procSys), 'sysctls');
  c.file(
    'versions/kernel.txt',
    `${os.type()} ${os.release()} ${os.version()} ${os.machine()}\nhostname ${os.hostname()}\n`,
    'kernel',
  );
}

function readSysctls(root: string): string {
  const lines: string[] = [];
  for (const key of SYSCTLS) {
    const [before, after] = key.split('*') as [string, string | undefined];
    const keys =
      after === undefined
        ? [key]
        : list(path.join(root, before))
            .sort()
            .map((name) => `${before}${name}${after}`);
    for (const k of keys) {
      try {
        lines.push(`${k.replaceAll('/', '.')} = ${fs.readFileSync(path.join(root, k), 'utf8').trim()}`);
      } catch (err) {
        if (after === undefined) lines.push(`${k.replaceAll('/', '.')}: ${reason(err)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

function list(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
