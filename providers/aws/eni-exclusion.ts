/**
 * @module eni exclusion
 * Which ENIs ipamd must leave alone, and why: the rule the AWS VPC CNI
 * applies (amazon-vpc-cni-k8s @b521883, pkg/ipamd/ipamd.go `setUnmanagedENIs`,
 * `filterUnmanagedENIs`; pkg/ipamd/datastore/data_store.go `GetAllocatableENIs`,
 * `getDeletableENI`), so a node moved over from aws-node keeps its hands off
 * the same ENIs. The reason ends up in `NetworkInterface.excluded`; the same
 * function guards every path of the adapter that deletes an ENI.
 *
 * In order:
 * 1. the primary ENI (device index 0) is never excluded: it carries the node
 *    address, and the VPC CNI ignores both tags on it ("Ignoring primary ENI
 *    %s since it is always managed");
 * 2. any InterfaceType but `interface`: `trunk` (security groups for Pods; the
 *    VPC Resource Controller owns it and its branch ENIs), `efa` and `efa-only`
 *    (EFA; `efa-only` has no IP at all), and anything else EC2 may name;
 * 3. tag `node.k8s.amazonaws.com/no_manage`: exactly `true` excludes, any
 *    other value keeps the ENI managed even when step 4 would exclude it
 *    (the VPC CNI compares the string, it does not ParseBool it);
 * 4. MANAGE_UNTAGGED_ENI=false: an ENI not tagged for this instance, by us
 *    (`vpc-ipam.io/instance-id`) or by the VPC CNI
 *    (`node.k8s.amazonaws.com/instance_id`), is excluded.
 */
import type { NetworkInterface as Ec2Interface } from '@aws-sdk/client-ec2';
import { tagMap } from './convert.js';
import { TAG_INSTANCE_ID } from './tags.js';

/** The VPC CNI's `eniNoManageTagKey`: set by operators on ENIs ipamd must not touch. */
export const TAG_NO_MANAGE = 'node.k8s.amazonaws.com/no_manage';
/** The VPC CNI's `eniNodeTagKey`: what aws-node tags the ENIs it creates (and adopts) with. */
export const TAG_VPC_CNI_INSTANCE_ID = 'node.k8s.amazonaws.com/instance_id';

/** What the node's own settings add to the rule; without it only steps 1-3 apply (detached ENIs, the sweep). */
export interface ManagePolicy {
  instanceId: string;
  /** MANAGE_UNTAGGED_ENI (default true). */
  manageUntaggedEni: boolean;
}

/** Why ipamd must leave this ENI alone, or undefined when it may manage it. */
export function exclusionReason(n: Ec2Interface, policy?: ManagePolicy): string | undefined {
  const att = n.Attachment;
  if (att?.DeviceIndex === 0 && (att.NetworkCardIndex ?? 0) === 0) return undefined;
  const type = n.InterfaceType ?? 'interface';
  if (type !== 'interface') return `interface type ${type}`;
  const tags = tagMap(n.TagSet);
  const noManage = tags[TAG_NO_MANAGE];
  if (noManage !== undefined) return noManage === 'true' ? `tag ${TAG_NO_MANAGE}=true` : undefined;
  if (!policy || policy.manageUntaggedEni) return undefined;
  const owners = [tags[TAG_INSTANCE_ID], tags[TAG_VPC_CNI_INSTANCE_ID]].filter((v) => v !== undefined);
  if (owners.includes(policy.instanceId)) return undefined;
  // Tagged for another instance counts as untagged, as in the VPC CNI (the value must be this instance).
  if (owners.length > 0) return `tagged for ${owners.join(', ')}, not this instance, and MANAGE_UNTAGGED_ENI=false`;
  return 'untagged and MANAGE_UNTAGGED_ENI=false';
}
