/**
 * @module the AWS CNI's netfilter rules, removed after ours are in place
 * What aws-node installs in iptables (pkg/networkutils/network.go and iptables_connmark.go @b52188387f2e):
 * - nat `POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0` and that chain;
 * - nat `PREROUTING -i eni+ ... -j AWS-CONNMARK-CHAIN-0`, that chain, and `PREROUTING -m comment --comment
 *   "AWS, CONNMARK" -j CONNMARK --restore-mark`;
 * - mangle `PREROUTING -m comment --comment "AWS, primary ENI" ...` (NodePort mark and its restores).
 * The caller removes them only once our own SNAT and NodePort rules verify (netns/node-network.ts): between the
 * two, a packet meets both sets, which do the same thing, never neither. Chain names and comments are checked
 * before anything reaches a command line. Both iptables backends are cleaned; aws-node's nftables backend
 * (table `ip aws-cni`) is not (see docs/install.md, migration).
 */
import { spawnExec, type ExecFn } from '../netns/netfilter.js';
import { jumpTarget, parseSave, type SavedRule } from '../netns/iptables-save.js';

const AWS_CHAIN_RE = /^AWS-(SNAT|CONNMARK)-CHAIN-\d{1,3}$/;
const TABLES = ['nat', 'mangle'] as const;
const BACKENDS = ['nft', 'legacy'] as const;
const WAIT = ['-w', '5'];

/** An iptables command of the removal failed; the message has the command and its stderr. */
export class AwsNetfilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AwsNetfilterError';
  }
}

function commentOf(args: readonly string[]): string | undefined {
  const i = args.indexOf('--comment');
  return i >= 0 ? args[i + 1] : undefined;
}

/** A rule of aws-node's in a built-in chain: a jump to its chains, or one of its commented CONNMARK rules. */
function isAwsRule(r: SavedRule): boolean {
  const target = jumpTarget(r.args);
  if (target && AWS_CHAIN_RE.test(target)) return true;
  const c = commentOf(r.args);
  return target === 'CONNMARK' && c !== undefined && /^AWS, /.test(c);
}

/** Removes aws-node's rules and chains from both backends; returns what was removed, one line each. */
export async function removeAwsNetfilter(exec: ExecFn = spawnExec): Promise<string[]> {
  const removed: string[] = [];
  const run = async (file: string, args: string[]) => {
    const r = await exec(file, args);
    if (r.exitCode !== 0) throw new AwsNetfilterError(`${file} ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  for (const b of BACKENDS) {
    for (const table of TABLES) {
      const save = await exec(`iptables-${b}-save`, ['-t', table]);
      if (save.notFound || save.exitCode !== 0) continue; // no such backend on this host
      const t = parseSave(save.stdout).get(table);
      if (!t) continue;
      const chains = [...t.chains].filter((c) => AWS_CHAIN_RE.test(c));
      for (const r of t.rules.filter((x) => !AWS_CHAIN_RE.test(x.chain) && isAwsRule(x))) {
        await run(`iptables-${b}`, [...WAIT, '-t', table, '-D', r.chain, ...r.args]);
        removed.push(`${b} ${table} ${r.chain}: ${commentOf(r.args) ?? jumpTarget(r.args)}`);
      }
      for (const c of chains) await run(`iptables-${b}`, [...WAIT, '-t', table, '-F', c]);
      for (const c of chains) {
        await run(`iptables-${b}`, [...WAIT, '-t', table, '-X', c]);
        removed.push(`${b} ${table}: chain ${c}`);
      }
    }
  }
  return removed;
}
