/**
 * @module node routing (runs on the plumbing worker thread)
 * The node-wide part of the host's routing: find the primary interface's link by its MAC (the netfilter
 * rules of snat-rules.ts name it), and keep `fwmark <m>/<m> lookup main` at 1024, so NodePort replies that
 * kube-proxy's connection carries the mark for (set on arrival through the primary interface) leave by the
 * primary interface instead of the Pod's ENI table, where EC2's source/destination check would drop them.
 * Host netns only; idempotent.
 */

import { NetnsError } from '../../providers/errors.js';
import { linksByMac } from './host-interface.js';
import { RT_TABLE_MAIN, step, type RtSocket } from '../../cni/contract/netlink-ops.js';
import { NODEPORT_RULE_PRIORITY, deleteFwmarkRules, ensureFwmarkRule, listRules } from './policy-rules.js';
import type { NodeRouting, NodeRoutingResult } from './plumber.js';

const MAC_RE = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

/** Throws a NetnsError naming the bad field; returns the request with the MAC lower-cased. */
export function validateNodeRouting(n: Partial<NodeRouting>): NodeRouting {
  const mac = typeof n.primaryMac === 'string' ? n.primaryMac.toLowerCase() : '';
  if (!MAC_RE.test(mac))
    throw new NetnsError(`invalid node routing request: primaryMac ${JSON.stringify(n.primaryMac)}`);
  const m = n.connmark;
  if (typeof m !== 'number' || !Number.isInteger(m) || m < 0 || m > 0xffffffff) {
    throw new NetnsError(`invalid node routing request: connmark ${String(m)} is not 0-0xffffffff`);
  }
  return { primaryMac: mac, connmark: m };
}

async function primaryLink(s: RtSocket, mac: string): Promise<string | undefined> {
  const found = await linksByMac(s, mac);
  // A bond or VLAN on top shares the MAC; the netfilter rules then cannot name "the" link.
  if (found.length > 1)
    throw new NetnsError(`links ${found.map((l) => l.name).join(', ')} share the primary MAC ${mac}`);
  return found[0]?.name;
}

export async function setUpNodeRouting(s: RtSocket, req: NodeRouting): Promise<NodeRoutingResult> {
  const n = validateNodeRouting(req);
  const changed: string[] = [];
  const primaryIf = await primaryLink(s, n.primaryMac);
  if (n.connmark > 0) {
    if (await step(`rule fwmark ${hex(n.connmark)} lookup main`, () => ensureFwmarkRule(s, n.connmark)))
      changed.push('fwmark rule');
  } else if ((await step('delete fwmark rules', () => deleteFwmarkRules(s))) > 0) {
    changed.push('fwmark rule removed');
  }
  return { ...(primaryIf ? { primaryIf } : {}), changed };
}

export async function checkNodeRouting(s: RtSocket, req: NodeRouting): Promise<string[]> {
  const n = validateNodeRouting(req);
  const problems: string[] = [];
  if (!(await primaryLink(s, n.primaryMac))) problems.push(`no link has the primary interface's MAC ${n.primaryMac}`);
  const at = (await listRules(s)).filter((r) => r.priority === NODEPORT_RULE_PRIORITY);
  if (n.connmark > 0) {
    const exact = at.filter((r) => r.fwmark === n.connmark && r.fwmask === n.connmark && r.table === RT_TABLE_MAIN);
    if (exact.length === 0)
      problems.push(`rule ${NODEPORT_RULE_PRIORITY}: fwmark ${hex(n.connmark)} lookup main missing`);
    if (at.length > 1) problems.push(`rule ${NODEPORT_RULE_PRIORITY}: ${at.length} rules where one belongs`);
  } else if (at.length > 0) {
    problems.push(`rule ${NODEPORT_RULE_PRIORITY}: present although NodePort support is off`);
  }
  return problems;
}

/** Removes the node-wide rule (uninstall). */
export async function tearDownNodeRouting(s: RtSocket): Promise<number> {
  return step('delete fwmark rules', () => deleteFwmarkRules(s));
}

const hex = (m: number) => `0x${m.toString(16)}/0x${m.toString(16)}`;
