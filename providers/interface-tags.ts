/**
 * @module interface tags
 * The tags ipamd puts on every interface it creates, on every cloud that
 * creates interfaces (AWS, and the sim, which models EC2): which instance it
 * was made for and when. They are what lets a later start of the same node,
 * or the cluster-wide sweep, find an interface that a crash or a failed undo
 * left detached (providers/leak-reclaim.ts, providers/aws/eni-gc.ts). Our own
 * prefix rather than the VPC CNI's `node.k8s.amazonaws.com/…`, so neither
 * project's cleanup ever deletes the other's interfaces during a migration.
 */

export const TAG_PREFIX = 'vpc-ipam.io/';
/** Instance the interface was created for. Marks the interface as ipamd's. */
export const TAG_INSTANCE_ID = `${TAG_PREFIX}instance-id`;
/** RFC 3339 creation time; grace periods start here. */
export const TAG_CREATED_AT = `${TAG_PREFIX}created-at`;
/** CLUSTER_NAME, when set; scopes the sweep to one cluster in a shared VPC. */
export const TAG_CLUSTER = `${TAG_PREFIX}cluster-name`;

export interface InterfaceTagOptions {
  instanceId: string;
  createdAt: number;
  clusterName?: string;
  extra?: Record<string, string>;
}

/** The tags of a new interface: the caller's, then ours (ours win). */
export function interfaceTags(opts: InterfaceTagOptions): Record<string, string> {
  const tags: Record<string, string> = { ...(opts.extra ?? {}) };
  tags[TAG_INSTANCE_ID] = opts.instanceId;
  tags[TAG_CREATED_AT] = new Date(opts.createdAt).toISOString();
  if (opts.clusterName) tags[TAG_CLUSTER] = opts.clusterName;
  return tags;
}

/** The creation time an interface's tags give; undefined when it has none (or an unreadable one). */
export function taggedCreatedAt(tags: Record<string, string>): number | undefined {
  const t = Date.parse(tags[TAG_CREATED_AT] ?? '');
  return Number.isFinite(t) ? t : undefined;
}
