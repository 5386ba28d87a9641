/**
 * @module aws primary ENI cluster tag
 * With CLUSTER_NAME set, the scoped node policy of docs/aws.md ("IAM: least privilege") lets ipamd change only
 * ENIs tagged `vpc-ipam.io/cluster-name=<CLUSTER_NAME>`, as the AWS VPC CNI's scope-down policy does with its
 * own tag (amazon-vpc-cni-k8s docs/iam-policy.md). ipamd tags every ENI it creates; the node's primary ENI is
 * the launch template's to tag. Untagged, every Assign/Unassign on it is refused with UnauthorizedOperation,
 * which says nothing of the cause: so the first read of the node says it once, with the fix.
 */
import { TAG_CLUSTER } from '../interface-tags.js';
import type { NetworkInterface } from '../types.js';

/** The warning to log when the primary ENI lacks the cluster tag CLUSTER_NAME asks for; else undefined. */
export function primaryClusterTagWarning(
  clusterName: string | undefined,
  interfaces: readonly NetworkInterface[],
): { fields: Record<string, string>; message: string } | undefined {
  const primary = interfaces.find((n) => n.deviceIndex === 0);
  if (!clusterName || !primary || primary.tags[TAG_CLUSTER] === clusterName) return undefined;
  const fields = { eni: primary.id, tag: TAG_CLUSTER, want: clusterName, has: primary.tags[TAG_CLUSTER] ?? '(none)' };
  const message =
    `primary ENI ${primary.id} is not tagged ${TAG_CLUSTER}=${clusterName}: under the scoped node IAM policy ` +
    '(docs/aws.md) EC2 refuses Assign/UnassignPrivateIpAddresses on it. Fix: tag network interfaces in the ' +
    "node group's launch template (TagSpecifications, ResourceType network-interface), or tag this ENI once";
  return { fields, message };
}
