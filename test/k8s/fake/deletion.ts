/**
 * @module fake API server: deletion
 * DELETE as the generic registry store does it
 * (staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go
 * `Delete`, `updateForGracefulDeletionAndFinalizers`, `markAsDeleting`;
 * staging/src/k8s.io/apiserver/pkg/registry/rest/delete.go `BeforeDelete`):
 * - graceful deletion (Pods: pkg/registry/core/pod/strategy.go
 *   `CheckGracefulDelete`): the grace period is the request's, else the
 *   Pod's `terminationGracePeriodSeconds` (30 by default); 0 for a Pod that
 *   is not scheduled or already Succeeded/Failed; negative means 1. The Pod
 *   is *updated*, not removed: `deletionTimestamp` = now + grace and
 *   `deletionGracePeriodSeconds` = grace (a MODIFIED event). A second DELETE
 *   may only shorten the period. The API server never removes the Pod
 *   itself: the kubelet does, with a grace-0 DELETE once the containers
 *   are gone (pkg/kubelet/status/status_manager.go); {@link KubeletStandIn}
 *   plays that part after the grace period (shortened in tests);
 * - finalizers hold any object: with finalizers left, a DELETE only marks
 *   it (`deletionTimestamp`, grace 0: MODIFIED), and the object goes (DELETED)
 *   when an update empties them (`ShouldDeleteDuringUpdate`, in
 *   registry.ts); `propagationPolicy` Foreground/Orphan add the garbage
 *   collector's finalizers (`deletionFinalizersForGarbageCollection`);
 * - preconditions (uid, resourceVersion) are a 409 with BeforeDelete's text.
 * Every other DELETE removes the object at once (DELETED).
 */
import { ApiError, type K8sObject, type ResourceDef, type Store } from './store.js';

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
}

interface Meta {
  uid?: string;
  resourceVersion?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  finalizers?: string[];
}

/** metav1.Time: RFC 3339 in whole seconds. */
const rfc3339 = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** The default of pkg/apis/core/v1/defaults.go (SetDefaults_PodSpec), for Pods stored without it. */
export const DEFAULT_POD_GRACE_SECONDS = 30;

/** CheckGracefulDelete of the Pod strategy. */
function podGracePeriod(pod: K8sObject, opts: DeleteOptions): number {
  const spec = (pod.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  let period = opts.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? DEFAULT_POD_GRACE_SECONDS;
  if (!spec.nodeName) period = 0;
  if (phase === 'Succeeded' || phase === 'Failed') period = 0;
  return period < 0 ? 1 : period;
}

/** The garbage collector's finalizers for an explicit propagation policy. */
function gcFinalizers(finalizers: string[], policy: string | undefined): string[] {
  if (policy === undefined) return finalizers;
  const rest = finalizers.filter((f) => f !== 'orphan' && f !== 'foregroundDeletion');
  if (policy === 'Orphan') return [...rest, 'orphan'];
  if (policy === 'Foreground') return [...rest, 'foregroundDeletion'];
  return rest;
}

export interface DeletionContext {
  store: Store;
  now(): number;
  /** A graceful deletion began: the kubelet is to confirm it after `graceSeconds`. */
  onGraceful(def: ResourceDef, ns: string | undefined, name: string, uid: string, graceSeconds: number): void;
}

/** One DELETE; returns the object as last stored (marked, or as it was when removed). */
export function deleteObject(
  ctx: DeletionContext,
  def: ResourceDef,
  ns: string | undefined,
  name: string,
  opts: DeleteOptions = {},
): K8sObject {
  const { store } = ctx;
  const cur = store.get(def, ns, name);
  const m = cur.metadata as Meta;
  // BeforeDelete names the kind there (GroupResource{Group, Resource: Kind}), not the resource.
  const what = def.group ? `${def.kind}.${def.group}` : def.kind;
  const pre = opts.preconditions;
  if (pre?.uid !== undefined && pre.uid !== m.uid) {
    const why =
      `the UID in the precondition (${pre.uid}) does not match the UID in record (${m.uid}). ` +
      'The object might have been deleted and then recreated';
    throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${what} "${name}": ${why}`);
  }
  if (pre?.resourceVersion !== undefined && pre.resourceVersion !== m.resourceVersion) {
    const why =
      `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ` +
      `ResourceVersion in record (${m.resourceVersion}). The object might have been modified`;
    throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${what} "${name}": ${why}`);
  }
  const now = ctx.now();
  const next = structuredClone(cur);
  const nm = next.metadata as Meta;
  let graceful = false;
  let period = 0;
  if (def.graceful && m.deletionTimestamp && m.deletionGracePeriodSeconds) {
    // Already being deleted gracefully: only a shorter period changes anything.
    const asked = opts.gracePeriodSeconds === undefined ? undefined : Math.max(opts.gracePeriodSeconds, 0);
    if (asked === undefined || asked >= m.deletionGracePeriodSeconds) return cur;
    const start = Date.parse(m.deletionTimestamp) - m.deletionGracePeriodSeconds * 1000;
    nm.deletionTimestamp = rfc3339(start + asked * 1000);
    nm.deletionGracePeriodSeconds = asked;
    [graceful, period] = [true, asked];
  } else if (def.graceful && !m.deletionTimestamp) {
    period = podGracePeriod(cur, opts);
    nm.deletionTimestamp = rfc3339(now + period * 1000);
    nm.deletionGracePeriodSeconds = period;
    graceful = true;
  }
  const finalizers = gcFinalizers(m.finalizers ?? [], opts.propagationPolicy);
  if (finalizers.length) nm.finalizers = finalizers;
  else delete nm.finalizers;
  if (!graceful) {
    if (finalizers.length === 0) return store.delete(def, ns, name);
    // markAsDeleting: the finalizers' owners see a deletionTimestamp and do their part.
    if (!nm.deletionTimestamp || Date.parse(nm.deletionTimestamp) > now) nm.deletionTimestamp = rfc3339(now);
    nm.deletionGracePeriodSeconds = 0;
    return store.update(def, ns, name, next);
  }
  const marked = store.update(def, ns, name, next);
  if (period > 0) {
    ctx.onGraceful(def, ns, name, m.uid ?? '', period);
    return marked;
  }
  return finalizers.length ? marked : store.delete(def, ns, name);
}

/** What the kubelet does once a deleted Pod's containers are gone: DELETE with grace 0 and its UID as precondition. */
export class KubeletStandIn {
  private readonly timers = new Set<NodeJS.Timeout>();

  /** `terminationMs(grace)`: how long the containers take to stop; undefined: never (a kubelet that is gone). */
  constructor(
    private readonly ctx: Omit<DeletionContext, 'onGraceful'>,
    private readonly terminationMs: (graceSeconds: number) => number | undefined,
  ) {}

  schedule(def: ResourceDef, ns: string | undefined, name: string, uid: string, graceSeconds: number): void {
    const ms = this.terminationMs(graceSeconds);
    if (ms === undefined) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      const ctx = { ...this.ctx, onGraceful: () => {} };
      try {
        deleteObject(ctx, def, ns, name, { gracePeriodSeconds: 0, preconditions: { uid } });
      } catch {
        // Gone already, or recreated under the same name (the UID precondition): nothing to confirm.
      }
    }, ms);
    this.timers.add(t);
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
