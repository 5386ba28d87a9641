/**
 * @module fake API server: garbage collector
 * What kube-controller-manager's garbage collector does with dependents
 * (pkg/controller/garbagecollector/garbagecollector.go `attemptToDeleteItem`):
 * an object whose every ownerReference names an owner that no longer exists
 * (by uid: an object of the same name with another uid is not its owner) is
 * deleted, in the background, a moment after its last owner went. Deleting
 * it is an ordinary DELETE (fake/deletion.ts: graceful for Pods, held by
 * finalizers), whose own dependents then go the same way.
 *
 * Only dependents of the owner kinds in `kinds` (default: Node, for
 * NodeAddressPools): the other tests play the controllers of Pods and
 * DaemonSets by hand, and a collector removing a deleted DaemonSet's Pods
 * under them would change what they test.
 */
import { RESOURCES, type K8sObject, type ResourceDef, type Store } from './store.js';

interface OwnerRef {
  kind?: string;
  uid?: string;
}

export interface GarbageCollectorOptions {
  store: Store;
  /** A DELETE with background propagation, as the collector sends it. */
  remove(def: ResourceDef, ns: string | undefined, name: string): void;
  kinds?: string[];
  /** How long after an owner's deletion the collector acts (the real one: its informers' latency). */
  delayMs?: number;
}

export class GarbageCollectorStandIn {
  readonly stats = { collected: 0 };
  private readonly kinds: Set<string>;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: GarbageCollectorOptions) {
    this.kinds = new Set(o.kinds ?? ['Node']);
    o.store.subscribe((e) => {
      if (e.type === 'DELETED' && this.kinds.has(String(e.object.kind))) this.schedule();
    });
  }

  /** Drops a pending sweep (the server stops; the store, and this subscription to it, stay). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sweep();
    }, this.o.delayMs ?? 20);
  }

  /** Deletes every dependent (of a collected kind) whose owners are all gone. */
  sweep(): void {
    const all = RESOURCES.map((def) => ({ def, objects: this.o.store.list(def, undefined, () => true) }));
    const live = new Set(all.flatMap(({ objects }) => objects.map((o) => String(o.metadata.uid))));
    for (const { def, objects } of all) {
      for (const o of objects) if (this.orphaned(o, live)) this.collect(def, o);
    }
  }

  private orphaned(o: K8sObject, live: Set<string>): boolean {
    const refs = (o.metadata.ownerReferences ?? []) as OwnerRef[];
    if (refs.length === 0 || !refs.some((r) => this.kinds.has(String(r.kind)))) return false;
    return refs.every((r) => !live.has(String(r.uid)));
  }

  private collect(def: ResourceDef, o: K8sObject): void {
    const m = o.metadata as { name: string; namespace?: string };
    try {
      this.o.remove(def, m.namespace, m.name);
      this.stats.collected++;
    } catch {
      // Gone meanwhile: nothing to collect.
    }
  }
}
