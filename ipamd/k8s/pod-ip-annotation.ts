/**
 * @module Pod IP annotation
 * ANNOTATE_POD_IP=true: the Pod's address in its `vpc.amazonaws.com/pod-ips` annotation, as the AWS VPC CNI
 * writes it (pkg/ipamd/rpc_handler.go `AddNetwork`/`DelNetwork` and ipamd.go `AnnotatePod`, v1.23.1). Calico
 * reads it to learn a Pod's address before the kubelet reports it, and its blanking after DEL to know the
 * networking is gone while the Pod object still shows its IP (projectcalico/calico#3530).
 *
 * - ADD: the one address, plain (`10.0.5.7`, no list, no prefix length), patched after the address is on disk
 *   and wired and before the answer. A failed patch fails the ADD, as in the AWS CNI: the handler undoes it and
 *   the runtime retries (PodAnnotationError, retryable unless the Pod is gone).
 * - DEL: blanked (set to `""`, not removed: Calico reads "" as "networking removed") only while it still holds
 *   the released address: a JSON patch whose `test` makes that one atomic step where the AWS CNI reads, compares
 *   and patches. The Pod gone, or the annotation absent or naming another address: nothing to do. Any other
 *   failure is logged; the DEL still succeeds (the AWS plugin too answers success when DelNetwork fails).
 *
 * Needs `patch` on pods in every namespace: deploy/kustomize/components/annotate-pod-ip grants it with the switch.
 */
import { IpamError } from '../../providers/errors.js';
import type { PodAddressHook } from '../api/pod-address-hook.js';
import type { Assignment } from '../datastore/types.js';
import { describeError, httpStatus, isNotFound, patchOptions, type K8sApis } from './client.js';
import { POD_IPS_ANNOTATION } from './names.js';

/** The annotation could not be written on ADD; `retryable` false when the Pod is not in the API server. */
export class PodAnnotationError extends IpamError {
  constructor(
    readonly pod: string,
    readonly retryable: boolean,
    cause: unknown,
  ) {
    const why = `cannot set ${POD_IPS_ANNOTATION} on Pod ${pod} (ANNOTATE_POD_IP=true): ${describeError(cause)}`;
    super('INTERNAL', why, { cause });
  }
}

export interface PodIpAnnotatorOptions {
  apis: K8sApis;
  log?: { debug?(o: object, m?: string): void; warn(o: object, m?: string): void };
}

/** RFC 6901: `/` in a key is `~1` (and `~` is `~0`) in a JSON pointer. */
const POINTER = `/metadata/annotations/${POD_IPS_ANNOTATION.replace(/~/g, '~0').replace(/\//g, '~1')}`;

export class PodIpAnnotator implements PodAddressHook {
  readonly stats = { set: 0, blanked: 0, failed: 0 };

  constructor(private readonly o: PodIpAnnotatorOptions) {}

  async added(a: Assignment): Promise<void> {
    const { namespace, name } = a.pod;
    // No Pod named (vpc-ipamctl, a runtime that passes no K8S_POD_*): nothing to annotate.
    if (!namespace || !name) return;
    const { apis } = this.o;
    const body = { metadata: { annotations: { [POD_IPS_ANNOTATION]: a.ip } } };
    try {
      await apis.call('annotate pod', () =>
        apis.core.patchNamespacedPod({ name, namespace, body }, patchOptions('merge')),
      );
      this.stats.set++;
    } catch (err) {
      this.stats.failed++;
      throw new PodAnnotationError(`${namespace}/${name}`, !isNotFound(err), err);
    }
  }

  async released(a: Assignment): Promise<void> {
    const { namespace, name } = a.pod;
    if (!namespace || !name) return;
    const { apis } = this.o;
    const body = [
      { op: 'test', path: POINTER, value: a.ip },
      { op: 'replace', path: POINTER, value: '' },
    ];
    try {
      // client-node 1.x sends a JSON patch when no other type is asked for.
      await apis.call('blank pod annotation', () => apis.core.patchNamespacedPod({ name, namespace, body }));
      this.stats.blanked++;
    } catch (err) {
      const fields = { pod: `${namespace}/${name}`, ip: a.ip, err: describeError(err) };
      // 404: the Pod is gone. 422: the test failed (no annotation, or another address): not ours to blank.
      const status = httpStatus(err);
      if (status === 404 || status === 422) return this.o.log?.debug?.(fields, `${POD_IPS_ANNOTATION} left as is`);
      this.stats.failed++;
      this.o.log?.warn(fields, `cannot blank ${POD_IPS_ANNOTATION} after DEL; the address is released`);
    }
  }
}
