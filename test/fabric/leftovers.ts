/**
 * @module what a node still holds of its Pods after DEL
 * After every Pod is deleted through the plugin, a node must hold nothing that names a Pod: no policy rule
 * (from or to a Pod address), no route to one in any table, no host veth, no netfilter entry (nftables, and
 * iptables-legacy in case ipamd programs that), and no assignment in ipamd. kube-proxy's own rules are the
 * fabric's and are removed first, as kube-proxy would once the endpoint is gone.
 */
import { hostVethName } from '../../ipamd/netns/plumber.js';
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

/** Flushes the fabric's kube-proxy chains (the Service lost its only endpoint). */
export async function removeKubeProxy(node: FabricNode): Promise<void> {
  await run(inNs(node.ns, 'iptables', '-w', '5', '-t', 'nat', '-F'));
  await run(inNs(node.ns, 'iptables', '-w', '5', '-t', 'nat', '-X'));
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
  const links = new Set((await ipJson<Array<{ ifname: string }>>(node.ns, 'link', 'show')).map((l) => l.ifname));
  for (const p of pods) {
    const veth = hostVethName(p.containerId, 'eth0');
    if (links.has(veth)) out.push(`link ${veth} (host veth of ${p.node}/${p.name})`);
  }
  const nftRules = (await runRaw(inNs(node.ns, 'nft', 'list', 'ruleset'))).stdout;
  const legacy = (await runRaw(inNs(node.ns, 'iptables-legacy-save'))).stdout;
  for (const [what, text] of [['nftables', nftRules], ['iptables-legacy', legacy]] as const) {
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
