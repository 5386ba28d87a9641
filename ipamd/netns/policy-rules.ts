/**
 * @module policy rules
 * The host's IPv4 policy-routing rules vpc-ipam owns, at the AWS VPC CNI's priorities
 * (pkg/networkutils/network.go), so a node moved between the two CNIs reads the same:
 *
 *   512   to <pod>/32 lookup main                 every Pod: traffic to a local Pod goes to its veth,
 *                                                 whatever the sender's rule (else it leaves by an ENI and loops)
 *   1024  fwmark <m>/<m> lookup main              per node: NodePort replies leave by the primary interface
 *   1536  from <pod>/32 to <dst> lookup <table>   Pods on a secondary interface: VPC destinations leave
 *                                                 by the interface that owns the address (EC2's
 *                                                 source/destination check); with SNAT off, dst 0/0
 *   32765 from <eni primary>/32 lookup <table>    per secondary interface: its own address answers from it
 *
 * The Pod rules' priorities (512, 1536) and their removal are the contract's (cni/contract/pod-rules.ts):
 * the plugin's offline DEL deletes them with the same code.
 */

import { Address4 } from 'ip-address';
import { FROM_POD_RULE_PRIORITY, TO_POD_RULE_PRIORITY, deletePodRules } from '../../cni/contract/pod-rules.js';
import {
  AF_INET,
  CREATE_EXCL,
  OPTS,
  RT_TABLE_MAIN,
  deleteWhileFound,
  ip4,
  ip4ToString,
  step,
  type RtSocket,
} from '../../cni/contract/netlink-ops.js';

export const NODEPORT_RULE_PRIORITY = 1024;
export const FROM_INTERFACE_RULE_PRIORITY = 32765;

export interface RuleView {
  src: string | undefined;
  srcLen: number;
  dst: string | undefined;
  dstLen: number;
  table: number;
  priority: number | undefined;
  fwmark: number | undefined;
  fwmask: number | undefined;
}

export async function listRules(s: RtSocket): Promise<RuleView[]> {
  const msgs = await s.getRules({ family: AF_INET }, {}, OPTS);
  return msgs.map((m) => ({
    src: ip4ToString(m.attrs.src),
    srcLen: m.data.srcLen ?? 0,
    dst: ip4ToString(m.attrs.dst),
    dstLen: m.data.dstLen ?? 0,
    table: m.attrs.table ?? m.data.table ?? 0,
    priority: m.attrs.priority,
    fwmark: m.attrs.fwmark,
    fwmask: m.attrs.fwmask,
  }));
}

/** A CIDR as the kernel keeps a rule's destination: network address and length. */
export function ruleDestination(cidr: string): { dst: string; len: number } {
  const a = new Address4(cidr);
  return { dst: a.startAddress().correctForm(), len: a.subnetMask };
}

/** What a Pod's rules must be: the to-rule always, from-rules for a secondary-interface address. */
export interface PodRuleSpec {
  ip: string;
  /** 0 = primary interface (main table): no from-rule. */
  table: number;
  /** Destinations of the from-rules; ['0.0.0.0/0'] is a rule without a destination. */
  destinations: readonly string[];
}

const table8 = (t: number) => (t < 256 ? t : 252);

/** The rules {@link PodRuleSpec} wants, each as [step name, rule header, attributes], added with EXCL. */
export function podRuleAdds(r: PodRuleSpec) {
  const to = [
    `rule to ${r.ip} lookup main`,
    { family: AF_INET, dstLen: 32, table: RT_TABLE_MAIN, action: 'toTbl' },
    { dst: ip4(r.ip), priority: TO_POD_RULE_PRIORITY, table: RT_TABLE_MAIN },
  ] as const;
  if (r.table <= 0) return [to];
  const from = r.destinations.map((cidr) => {
    const d = ruleDestination(cidr);
    return [
      `rule from ${r.ip}${d.len ? ` to ${cidr}` : ''} lookup ${r.table}`,
      { family: AF_INET, srcLen: 32, dstLen: d.len, table: table8(r.table), action: 'toTbl' },
      { src: ip4(r.ip), ...(d.len ? { dst: ip4(d.dst) } : {}), priority: FROM_POD_RULE_PRIORITY, table: r.table },
    ] as const;
  });
  return [to, ...from];
}

/** Replaces whatever rules `ip` has with exactly {@link PodRuleSpec}'s (stale copies first, then EXCL adds). */
export async function replacePodRules(s: RtSocket, r: PodRuleSpec): Promise<void> {
  await step(`delete old rules of ${r.ip}`, () => deletePodRules(s, r.ip));
  for (const [name, data, attrs] of podRuleAdds(r)) {
    await step(name, () => s.newRule(data, attrs, { flags: CREATE_EXCL, ...OPTS }));
  }
}

/** Every difference between the kernel's rules for `r.ip` and the wanted ones, as sentences; [] = exact. */
export function podRuleProblems(rules: readonly RuleView[], r: PodRuleSpec): string[] {
  const problems: string[] = [];
  const to = rules.filter((x) => x.priority === TO_POD_RULE_PRIORITY && x.dst === r.ip && x.dstLen === 32);
  if (!to.some((x) => x.table === RT_TABLE_MAIN && !x.srcLen))
    problems.push(`rule ${TO_POD_RULE_PRIORITY}: to ${r.ip} lookup main missing`);
  if (to.length > 1) problems.push(`rule ${TO_POD_RULE_PRIORITY}: ${to.length} rules to ${r.ip}`);
  const from = rules.filter((x) => x.priority === FROM_POD_RULE_PRIORITY && x.src === r.ip && x.srcLen === 32);
  const wanted = r.table > 0 ? r.destinations.map(ruleDestination) : [];
  for (const d of wanted) {
    const n = from.filter((x) => x.dstLen === d.len && (d.len === 0 || x.dst === d.dst) && x.table === r.table).length;
    const what = `from ${r.ip}${d.len ? ` to ${d.dst}/${d.len}` : ''} lookup ${r.table}`;
    if (n === 0) problems.push(`rule ${FROM_POD_RULE_PRIORITY}: ${what} missing`);
    if (n > 1) problems.push(`rule ${FROM_POD_RULE_PRIORITY}: ${what} present ${n} times`);
  }
  for (const x of from) {
    const known = wanted.some((d) => x.dstLen === d.len && (d.len === 0 || x.dst === d.dst) && x.table === r.table);
    if (!known) {
      problems.push(
        `rule ${FROM_POD_RULE_PRIORITY}: stale from ${r.ip}` +
          `${x.dstLen ? ` to ${x.dst}/${x.dstLen}` : ''} lookup ${x.table}`,
      );
    }
  }
  return problems;
}

/**
 * The resync's check of every assigned address's rules from one dump; with `repair`, the wrong ones are
 * replaced (a VPC CIDR added, SNAT switched, a rule someone flushed). Returns what was wrong, per address.
 */
export async function podRulesPass(s: RtSocket, specs: readonly PodRuleSpec[], repair: boolean) {
  const rules = await step('list rules', () => listRules(s));
  const out: Array<{ ip: string; problems: string[] }> = [];
  for (const r of specs) {
    const problems = podRuleProblems(rules, r);
    if (problems.length === 0) continue;
    if (repair) await replacePodRules(s, r);
    out.push({ ip: r.ip, problems });
  }
  return out;
}

/** `fwmark <m>/<m> lookup main` at 1024, exactly once (older copies removed first). */
export async function ensureFwmarkRule(s: RtSocket, mark: number): Promise<boolean> {
  const rules = await listRules(s);
  const ours = rules.filter((x) => x.priority === NODEPORT_RULE_PRIORITY);
  const exact = ours.filter((x) => x.fwmark === mark && x.fwmask === mark && x.table === RT_TABLE_MAIN);
  if (exact.length === 1 && ours.length === 1) return false;
  await deleteFwmarkRules(s);
  await s.newRule(
    { family: AF_INET, table: RT_TABLE_MAIN, action: 'toTbl' },
    { fwmark: mark, fwmask: mark, priority: NODEPORT_RULE_PRIORITY, table: RT_TABLE_MAIN },
    { flags: CREATE_EXCL, ...OPTS },
  );
  return true;
}

/** Removes every rule at priority 1024 (vpc-ipam's and the AWS VPC CNI's slot); returns how many. */
export function deleteFwmarkRules(s: RtSocket): Promise<number> {
  return deleteWhileFound(() =>
    s.delRule({ family: AF_INET, action: 'toTbl' }, { priority: NODEPORT_RULE_PRIORITY }, OPTS),
  );
}

/** `from <eni primary>/32 lookup <table>` at 32765, exactly once. */
export async function ensureInterfaceRule(s: RtSocket, ip: string, table: number): Promise<boolean> {
  const rules = await listRules(s);
  const ours = rules.filter((x) => x.priority === FROM_INTERFACE_RULE_PRIORITY && x.src === ip && x.srcLen === 32);
  if (ours.length === 1 && ours[0]!.table === table && !ours[0]!.dstLen) return false;
  await deleteInterfaceRules(s, ip);
  await s.newRule(
    { family: AF_INET, srcLen: 32, table: table8(table), action: 'toTbl' },
    { src: ip4(ip), priority: FROM_INTERFACE_RULE_PRIORITY, table },
    { flags: CREATE_EXCL, ...OPTS },
  );
  return true;
}

export function deleteInterfaceRules(s: RtSocket, ip: string): Promise<number> {
  return deleteWhileFound(() =>
    s.delRule(
      { family: AF_INET, srcLen: 32, action: 'toTbl' },
      { src: ip4(ip), priority: FROM_INTERFACE_RULE_PRIORITY },
      OPTS,
    ),
  );
}

/** Rules at 32765 that point at `table` (the interface in that slot), whatever their source. */
export async function deleteInterfaceRulesOfTable(s: RtSocket, table: number): Promise<number> {
  let n = 0;
  for (const r of await listRules(s)) {
    if (r.priority !== FROM_INTERFACE_RULE_PRIORITY || r.table !== table || !r.src) continue;
    n += await deleteInterfaceRules(s, r.src);
  }
  return n;
}
