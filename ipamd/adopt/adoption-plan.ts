/**
 * @module adoption plan (pure)
 * Decides, from the AWS checkpoint, the node's interfaces, the host's links and rules, and what our own
 * checkpoint already holds, which allocations become our assignments, which are the AWS CNI's own "stale"
 * (dropped, as its `normalizeCheckpointDataByPodVethExistence` drops them: no host veth ends with the Pod's
 * suffix) and which oddity refuses the whole adoption. No I/O: ./adopt-aws-node.ts does that.
 *
 * Refused (a running Pod we could not serve or tear down correctly):
 * - a pre-1.12 `_migrated-from-cri` entry, an IPv6 one, one without Pod namespace/name (no veth to find);
 * - two live allocations with one address or one attachment;
 * - a live allocation whose address is on no interface we manage (excluded, or not on this node): the AWS CNI
 *   would call that "stale", but its veth exists, so a Pod is using the address;
 * - a live allocation whose `to` rule (512) is not to main, or whose `from` rule (1536) points at a table other
 *   than its interface's (deviceIndex + 1; none on the primary);
 * - an address our checkpoint gives to another attachment;
 * - a host veth whose prefix is not the one our rules match (AWS_VPC_K8S_CNI_VETHPREFIX): our NodePort
 *   connmark restore (`-i <prefix>+`) would miss its replies once aws-node's rules are gone.
 * Dropped: allocations whose veth is gone (their rules are pruned by the caller, as the AWS CNI does).
 */
import { FROM_POD_RULE_PRIORITY, TO_POD_RULE_PRIORITY } from '../../cni/contract/pod-rules.js';
import { RT_TABLE_MAIN } from '../../cni/contract/netlink-ops.js';
import { awsHostVethName, vethPrefixOf } from '../../cni/contract/veth-name.js';
import type { NetworkInterface } from '../../providers/types.js';
import { containsAddress } from '../../providers/net/cidr.js';
import type { Assignment } from '../datastore/types.js';
import { keyString } from '../datastore/types.js';
import { routeTableFor } from '../netns/host-interface.js';
import type { RuleView } from '../netns/policy-rules.js';
import { describeAwsEntry, MIGRATED_FROM_CRI, type AwsAllocation, type AwsCheckpoint } from './aws-checkpoint.js';
import { AdoptionRefusedError } from './errors.js';

export interface HostWiring {
  /** Host link names. */
  links: readonly string[];
  rules: readonly RuleView[];
}

export interface AdoptionInput {
  checkpoint: AwsCheckpoint;
  interfaces: readonly NetworkInterface[];
  host: HostWiring;
  /** What our datastore holds already (our checkpoint, restored). */
  existing: readonly Assignment[];
  /** Our CNI network name: adopted Pods' DELs come through our conflist, so under its name. */
  network: string;
  /** The host veth prefix our rules match (`-i <prefix>+`): an adopted veth must carry it. */
  vethPrefix: string;
}

export interface AdoptionPlan {
  adopt: Assignment[];
  /** Already ours with the same address (a second start): nothing to do. */
  already: Assignment[];
  /** The AWS CNI's stale allocations: no host veth. Their addresses' rules may be pruned. */
  stale: Array<{ entry: string; ip: string }>;
}

const NS_PER_MS = 1_000_000;

function hostVethOf(e: AwsAllocation, links: readonly string[], item: string): string | undefined {
  const { k8sPodNamespace: ns, k8sPodName: pod } = e.metadata;
  if (!ns || !pod)
    throw new AdoptionRefusedError('unnamed-pod', item, 'no Pod namespace/name: its veth cannot be found');
  // The AWS CNI's check: any host link ending with sha1("ns.pod")[:11] (its prefix is not looked at).
  const suffix = awsHostVethName('', ns, pod);
  return links.find((l) => l.endsWith(suffix));
}

function checkRules(ip: string, nic: NetworkInterface, rules: readonly RuleView[], item: string): void {
  const mine = (r: RuleView, p: number) => r.priority === p;
  for (const r of rules) {
    if (mine(r, TO_POD_RULE_PRIORITY) && r.dst === ip && r.dstLen === 32 && r.table !== RT_TABLE_MAIN) {
      throw new AdoptionRefusedError('foreign-table', item, `rule 512 to ${ip} looks up table ${r.table}, not main`);
    }
  }
  const want = routeTableFor(nic.deviceIndex);
  for (const r of rules) {
    if (!mine(r, FROM_POD_RULE_PRIORITY) || r.src !== ip || r.srcLen !== 32) continue;
    if (want === 0 || r.table !== want) {
      const expected = want === 0 ? 'none (primary interface)' : `table ${want} (${nic.id})`;
      const detail = `rule 1536 from ${ip} looks up table ${r.table}; expected ${expected}`;
      throw new AdoptionRefusedError('foreign-table', item, detail);
    }
  }
}

function placeAddress(ip: string, interfaces: readonly NetworkInterface[], item: string) {
  for (const nic of interfaces) {
    const block = nic.blocks.find((b) => containsAddress(b.cidr, ip));
    if (!block) continue;
    if (nic.excluded)
      throw new AdoptionRefusedError('address-not-on-eni', item, `${nic.id} is excluded: ${nic.excluded}`);
    return { nic, blockCidr: block.cidr };
  }
  throw new AdoptionRefusedError('address-not-on-eni', item, `${ip} is on no interface of this node`);
}

export function planAdoption(input: AdoptionInput): AdoptionPlan {
  const plan: AdoptionPlan = { adopt: [], already: [], stale: [] };
  const byIp = new Map<string, string>();
  const byKey = new Map<string, string>();
  const existingByIp = new Map(input.existing.map((a) => [a.ip, a]));
  const existingByKey = new Map(input.existing.map((a) => [keyString(a), a]));
  for (const e of input.checkpoint.allocations) {
    const item = describeAwsEntry(e);
    if (e.networkName === MIGRATED_FROM_CRI) {
      throw new AdoptionRefusedError(
        'migrated-from-cri',
        item,
        'a pre-1.12 entry rebuilt from CRI; DEL cannot find it',
      );
    }
    if (e.ipv4 === undefined) throw new AdoptionRefusedError('ipv6', item, 'IPv6 allocations are not adopted');
    const ip = e.ipv4;
    const hostIf = hostVethOf(e, input.host.links, item);
    if (!hostIf) {
      plan.stale.push({ entry: item, ip });
      continue;
    }
    if (vethPrefixOf(hostIf) !== input.vethPrefix) {
      const detail = `host veth ${hostIf} does not carry the prefix "${input.vethPrefix}" our rules match`;
      throw new AdoptionRefusedError('veth-prefix', item, `${detail}; set AWS_VPC_K8S_CNI_VETHPREFIX as on aws-node`);
    }
    const key = { network: input.network, containerId: e.containerID, ifName: e.ifName };
    const prevIp = byIp.get(ip);
    if (prevIp) throw new AdoptionRefusedError('duplicate-ip', item, `${ip} is also allocated to ${prevIp}`);
    const prevKey = byKey.get(keyString(key));
    if (prevKey) throw new AdoptionRefusedError('duplicate-key', item, `the attachment also holds ${prevKey}`);
    byIp.set(ip, item);
    byKey.set(keyString(key), ip);
    const { nic, blockCidr } = placeAddress(ip, input.interfaces, item);
    checkRules(ip, nic, input.host.rules, item);
    const mine = existingByKey.get(keyString(key));
    if (mine && mine.ip !== ip) {
      throw new AdoptionRefusedError('duplicate-key', item, `our checkpoint gives this attachment ${mine.ip}`);
    }
    const holder = existingByIp.get(ip);
    if (holder) {
      if (keyString(holder) !== keyString(key)) {
        const who = `${holder.containerId}/${holder.ifName}`;
        throw new AdoptionRefusedError('address-held', item, `our checkpoint gives ${ip} to ${who}`);
      }
      plan.already.push(holder);
      continue;
    }
    const pod = { namespace: e.metadata.k8sPodNamespace, name: e.metadata.k8sPodName };
    const assignedAt = Math.floor(e.allocationTimestamp / NS_PER_MS);
    plan.adopt.push({ ...key, ip, interfaceId: nic.id, blockCidr, pod, assignedAt, hostIf });
  }
  return plan;
}
