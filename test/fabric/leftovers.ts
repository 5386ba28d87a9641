/**
 * @module what a node still holds of its Pods after DEL
 * After every Pod is deleted through the plugin, a node must hold nothing that names a Pod: no policy rule
 * (from or to a Pod address), no route to one in any table, no host veth, no netfilter entry (nftables, and
 * iptables-legacy in case ipamd programs that), and no assignment in ipamd. kube-proxy's own rules are the
 * fabric's and are removed first, as kube-proxy would once the endpoint is gone.
 */
import { hostVethName } from '../../cni/contract/veth-name.js';
import { keptVethsGone } from '../helpers/kept-veths.js';
import { inNs, ipJson, run, runRaw } from './exec.js';
import type { FabricNode, Pod } from './node.js';

interface RuleJson {
  priority: number;
  src?: string;
  dst?: string;
  table?: string;
}
interface RouteJson {
  dst: string;
  dev?: string;
  table?: string;
}

/** Removes the fabric's kube-proxy rules (the Service lost its only endpoint), and only those: ipamd's stay. */
export async function removeKubeProxy(node: FabricNode): Promise<void> {
  const ipt = (...a: string[]) => run(inNs(node.ns, 'iptables', '-w', '5', '-t', 'nat', ...a));
  const saved = await run(inNs(node.ns, 'iptables-save', '-t', 'nat'));
  for (const line of saved.split('\n')) {
    const m = /^-A (PREROUTING|OUTPUT|POSTROUTING) (.*-j KUBE-[A-Z-]+)$/.exec(line);
    if (m) await ipt('-D', m[1]!, ...splitRule(m[2]!));
  }
  const chains = [...saved.matchAll(/^:(KUBE-[A-Z-]+) /gm)].map((m) => m[1]!);
  for (const c of chains) await ipt('-F', c);
  for (const c of chains) await ipt('-X', c);
}

/** iptables-save's rule text as argv: words, with "quoted comments" kept whole. */
function splitRule(rule: string): string[] {
  return [...rule.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** Everything on `node` that still names one of `pods`; empty when DEL cleaned up. */
export async function leftovers(node: FabricNode, pods: Pod[]): Promise<string[]> {
  const ips = new Set(pods.map((p) => p.ip));
  const out: string[] = [];
  for (const r of await ipJson<RuleJson[]>(node.ns, 'rule', 'show')) {
    if ((r.src && ips.has(r.src)) || (r.dst && ips.has(r.dst))) {
      out.push(`rule ${r.priority}: ${r.src ? `from ${r.src} ` : ''}${r.dst ? `to ${r.dst} ` : ''}lookup ${r.table}`);
    }
  }
  for (const r of await ipJson<RouteJson[]>(node.ns, 'route', 'show', 'table', 'all')) {
    if (ips.has(r.dst)) out.push(`route ${r.dst} dev ${r.dev ?? '?'} table ${r.table ?? 'main'}`);
  }
  const linkNames = async () => (await ipJson<Array<{ ifname: string }>>(node.ns, 'link', 'show')).map((l) => l.ifname);
  // DEL leaves the host veth to the Pod's namespace (as the AWS CNI does); these namespaces outlive DEL, so
  // ipamd deletes the veth after a grace: wait for that, then judge.
  await keptVethsGone(
    linkNames,
    pods.map((p) => hostVethName(p.containerId, 'eth0')),
  );
  const links = new Set(await linkNames());
  for (const p of pods) {
    const veth = hostVethName(p.containerId, 'eth0');
    if (links.has(veth)) out.push(`link ${veth} (host veth of ${p.node}/${p.name})`);
  }
  const nftRules = (await runRaw(inNs(node.ns, 'nft', 'list', 'ruleset'))).stdout;
  const legacy = (await runRaw(inNs(node.ns, 'iptables-legacy-save'))).stdout;
  for (const [what, text] of [
    ['nftables', nftRules],
    ['iptables-legacy', legacy],
  ] as const) {
    for (const line of text.split('\n')) {
      const hit = [...ips].find((ip) => new RegExp(`(^|[^0-9.])${ip.replace(/\./g, '\\.')}([^0-9]|$)`).test(line));
      if (hit) out.push(`${what}: ${line.trim()}`);
    }
  }
  const held = await node.get<{ assignments: Array<{ containerId: string; ip: string }> }>('/v1/assignments');
  for (const a of held?.assignments ?? []) {
    if (pods.some((p) => p.containerId === a.containerId)) out.push(`ipamd assignment ${a.containerId} ${a.ip}`);
  }
  return out;
}
