/**
 * @module Pod policy rules (the delete half)
 * A Pod's two kinds of policy-routing rule, at the AWS VPC CNI's priorities, and their removal: what the
 * host-side teardown deletes, in ipamd's DEL and in the plugin's offline DEL alike (./host-teardown.ts).
 * ipamd/netns/policy-rules.ts makes and checks them, and holds the node's other rules.
 */

import { AF_INET, OPTS, deleteWhileFound, ip4, type RtSocket } from './netlink-ops.js';

/** `to <pod>/32 lookup main`, for every Pod. */
export const TO_POD_RULE_PRIORITY = 512;
/** AWS VPC CNI's `FromPodRulePriority`: after the to-Pod (512) and fwmark (1024) rules. */
export const FROM_POD_RULE_PRIORITY = 1536;

/**
 * The two deletes that remove one rule each of `ip`'s (from-rules first, then the to-rule). Without a
 * destination length the kernel matches from-rules of any destination. Shared with ipamd's batched ADD.
 */
export function podRuleDeletes(ip: string) {
  return [
    [
      { family: AF_INET, srcLen: 32, action: 'toTbl' },
      { src: ip4(ip), priority: FROM_POD_RULE_PRIORITY },
    ],
    [
      { family: AF_INET, dstLen: 32, action: 'toTbl' },
      { dst: ip4(ip), priority: TO_POD_RULE_PRIORITY },
    ],
  ] as const;
}

/** Deletes every rule vpc-ipam may have made for `ip` (to-rule at 512, from-rules at 1536, any dst); a count. */
export async function deletePodRules(s: RtSocket, ip: string): Promise<number> {
  let n = 0;
  for (const [data, attrs] of podRuleDeletes(ip)) n += await deleteWhileFound(() => s.delRule(data, attrs, OPTS));
  return n;
}
