/**
 * @module aws tags
 * Tags ipamd puts on every interface it creates, and reads back to find its
 * own interfaces (describe filters, the leaked-interface sweep). Our own
 * prefix rather than the VPC CNI's `node.k8s.amazonaws.com/…`, so neither
 * project's cleanup ever deletes the other's interfaces during a migration.
 */

export const TAG_PREFIX = 'vpc-ipam.io/';
/** Instance the interface was created for. Marks the interface as ipamd's. */
export const TAG_INSTANCE_ID = `${TAG_PREFIX}instance-id`;
/** RFC 3339 creation time; the leaked-interface sweep's grace period starts here. */
export const TAG_CREATED_AT = `${TAG_PREFIX}created-at`;
/** CLUSTER_NAME, when set; scopes the sweep to one cluster in a shared VPC. */
export const TAG_CLUSTER = `${TAG_PREFIX}cluster-name`;
/** Set by the sweep's first pass on a detached interface; the next pass deletes it if still detached. */
export const TAG_GC_MARKED_AT = `${TAG_PREFIX}gc-marked-at`;
/** Description of interfaces ipamd creates (the VPC CNI uses `aws-K8S-<instance>`). */
export function interfaceDescription(instanceId: string): string {
  return `vpc-ipam ${instanceId}`;
}

/** The tags of a new interface: the caller's, then ours (ours win). */
export function interfaceTags(opts: { instanceId: string; createdAt: number; clusterName?: string; extra?: Record<string, string> }): Record<string, string> {
  const tags: Record<string, string> = { ...(opts.extra ?? {}) };
  tags[TAG_INSTANCE_ID] = opts.instanceId;
  tags[TAG_CREATED_AT] = new Date(opts.createdAt).toISOString();
  if (opts.clusterName) tags[TAG_CLUSTER] = opts.clusterName;
  return tags;
}
