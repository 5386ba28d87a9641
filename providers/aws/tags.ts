/**
 * @module aws tags
 * Tags ipamd puts on every interface it creates, and reads back to find its
 * own interfaces (describe filters, the leaked-interface sweep). The ones
 * every interface-creating cloud shares live in providers/interface-tags.ts;
 * the sweep's mark and EKS's subnet-discovery tag are AWS's own.
 */

import { TAG_PREFIX } from '../interface-tags.js';

// The node-side tags are cloud-neutral (the sim puts them on too); re-exported under their old home.
export { interfaceTags, TAG_CLUSTER, TAG_CREATED_AT, TAG_INSTANCE_ID, TAG_PREFIX } from '../interface-tags.js';

/** Set by the sweep's first pass on a detached interface; the next pass deletes it if still detached. */
export const TAG_GC_MARKED_AT = `${TAG_PREFIX}gc-marked-at`;
/** The tag that marks discoverable Pod subnets, as in EKS subnet discovery (any value but `0`). */
export const POD_SUBNET_TAG = 'kubernetes.io/role/cni';
/** Description of interfaces ipamd creates (the VPC CNI uses `aws-K8S-<instance>`). */
export function interfaceDescription(instanceId: string): string {
  return `vpc-ipam ${instanceId}`;
}
