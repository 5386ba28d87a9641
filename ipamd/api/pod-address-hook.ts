/**
 * @module Pod address hook
 * Who else must hear, inside the request, that a Pod got or gave back its address: the Kubernetes
 * integration's `vpc.amazonaws.com/pod-ips` annotation (ANNOTATE_POD_IP, ipamd/k8s/pod-ip-annotation.ts).
 * The handler (handler.ts) calls it in the attachment's lane, so an ADD and a DEL of one Pod never interleave.
 */
import type { Assignment } from '../datastore/types.js';

export interface PodAddressHook {
  /**
   * After an ADD's address is on disk and wired, before the answer. A rejection fails the ADD: the handler
   * undoes the wiring and the assignment (a repeated ADD keeps both), as the AWS VPC CNI fails its AddNetwork.
   * Called again for a repeated ADD, so it must be idempotent.
   */
  added(a: Assignment): Promise<void>;
  /** After a DEL released the address, before the answer. Must not reject: a DEL carries on past errors. */
  released(a: Assignment): Promise<void>;
}
