/**
 * @module fake API server: storage
 * An etcd-like store behind the fake API server: one global revision
 * (`resourceVersion`) bumped by every write, a bounded event history for
 * watches, and optimistic concurrency (an update naming an older
 * resourceVersion is a 409 Conflict). `compact()` drops the history, after
 * which watching from an older version gets 410 Gone, as after etcd
 * compaction. Selectors follow the API server: equality-based field
 * selectors over a per-resource set of fields, set-less label selectors.
 */

export type K8sObject = Record<string, unknown> & { metadata: Record<string, unknown> };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ResourceDef {
  group: string;
  version: string;
  kind: string;
  resource: string;
  namespaced: boolean;
  hasStatus: boolean;
  /** Field selector keys the server supports for this resource. */
  fields: Record<string, (o: K8sObject) => string | undefined>;
}

const meta = (o: K8sObject) => o.metadata as { name?: string; namespace?: string };
const baseFields = {
  'metadata.name': (o: K8sObject) => meta(o).name,
  'metadata.namespace': (o: K8sObject) => meta(o).namespace,
};

export const RESOURCES: ResourceDef[] = [
  { group: '', version: 'v1', kind: 'Node', resource: 'nodes', namespaced: false, hasStatus: true, fields: { ...baseFields } },
  {
    group: '',
    version: 'v1',
    kind: 'Pod',
    resource: 'pods',
    namespaced: true,
    hasStatus: true,
    fields: {
      ...baseFields,
      'spec.nodeName': (o) => ((o.spec as { nodeName?: string } | undefined)?.nodeName ?? ''),
      'status.phase': (o) => ((o.status as { phase?: string } | undefined)?.phase ?? ''),
    },
  },
  {
    group: '',
    version: 'v1',
    kind: 'Event',
    resource: 'events',
    namespaced: true,
    hasStatus: false,
    fields: {
      ...baseFields,
      'involvedObject.kind': (o) => (o.involvedObject as { kind?: string } | undefined)?.kind,
      'involvedObject.name': (o) => (o.involvedObject as { name?: string } | undefined)?.name,
      reason: (o) => o.reason as string | undefined,
    },
  },
  { group: 'apps', version: 'v1', kind: 'DaemonSet', resource: 'daemonsets', namespaced: true, hasStatus: true, fields: { ...baseFields } },
  { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', resource: 'leases', namespaced: true, hasStatus: false, fields: { ...baseFields } },
  { group: 'vpc-ipam.io', version: 'v1alpha1', kind: 'PodSubnetConfig', resource: 'podsubnetconfigs', namespaced: false, hasStatus: false, fields: { ...baseFields } },
];

export function findResource(group: string, version: string, resource: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
}

export type Selector = (o: K8sObject) => boolean;

export function parseFieldSelector(def: ResourceDef, raw: string | null): Selector {
  if (!raw) return () => true;
  const terms = raw.split(',').map((t) => {
    const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(t.trim());
    if (!m) throw new ApiError(400, 'BadRequest', `invalid field selector: "${t}"`);
    const get = def.fields[m[1]!];
    if (!get) throw new ApiError(400, 'BadRequest', `field label not supported: ${m[1]}`);
    return { get, neg: m[2] === '!=', value: m[3]! };
  });
  return (o) => terms.every((t) => (t.get(o) === t.value) !== t.neg);
}

export function parseLabelSelector(raw: string | null): Selector {
  if (!raw) return () => true;
  const terms = raw.split(',').map((t) => {
    const s = t.trim();
    const m = /^(!?)([^!=]+?)(?:(==|=|!=)(.*))?$/.exec(s);
    if (!m) throw new ApiError(400, 'BadRequest', `invalid label selector: "${t}"`);
    return { not: m[1] === '!', key: m[2]!, op: m[3], value: m[4] };
  });
  return (o) => {
    const labels = (meta(o) as { labels?: Record<string, string> }).labels ?? {};
    return terms.every((t) => {
      const has = t.key in labels;
      if (!t.op) return t.not ? !has : has;
      return t.op === '!=' ? labels[t.key] !== t.value : labels[t.key] === t.value;
    });
  };
}

export interface WatchEvent {
  rv: number;
  resource: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: K8sObject;
  /** Previous state, for selector transitions. */
  old?: K8sObject;
}

export type Listener = (e: WatchEvent) => void;

export class Store {
  private revision = 1000;
  private readonly objects = new Map<string, Map<string, K8sObject>>();
  private history: WatchEvent[] = [];
  /** Watching from a version below this gets 410 Gone. */
  private oldest = 1000;
  private readonly listeners = new Set<Listener>();
  private uidSeq = 0;

  get rv(): number {
    return this.revision;
  }

  get oldestWatchable(): number {
    return this.oldest;
  }

  private table(resource: string): Map<string, K8sObject> {
    let t = this.objects.get(resource);
    if (!t) this.objects.set(resource, (t = new Map()));
    return t;
  }

  private static key(ns: string | undefined, name: string): string {
    return `${ns ?? ''}/${name}`;
  }

  get(def: ResourceDef, ns: string | undefined, name: string): K8sObject {
    const o = this.table(def.resource).get(Store.key(ns, name));
    if (!o) throw new ApiError(404, 'NotFound', `${def.resource}${def.group ? `.${def.group}` : ''} "${name}" not found`);
    return structuredClone(o);
  }

  list(def: ResourceDef, ns: string | undefined, sel: Selector): K8sObject[] {
    return [...this.table(def.resource).values()]
      .filter((o) => (ns === undefined || meta(o).namespace === ns) && sel(o))
      .sort((a, b) => Store.key(meta(a).namespace, meta(a).name!).localeCompare(Store.key(meta(b).namespace, meta(b).name!)))
      .map((o) => structuredClone(o));
  }

  create(def: ResourceDef, ns: string | undefined, obj: K8sObject): K8sObject {
    const m = obj.metadata as Record<string, unknown>;
    if (typeof m.name !== 'string' || m.name === '') throw new ApiError(422, 'Invalid', 'metadata.name: Required value');
    const key = Store.key(def.namespaced ? ns : undefined, m.name);
    if (this.table(def.resource).has(key)) throw new ApiError(409, 'AlreadyExists', `${def.resource} "${m.name}" already exists`);
    const o = structuredClone(obj);
    const om = o.metadata as Record<string, unknown>;
    if (def.namespaced) om.namespace = ns;
    else delete om.namespace;
    om.uid ??= `00000000-0000-4000-8000-${(++this.uidSeq).toString(16).padStart(12, '0')}`;
    om.creationTimestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    o.apiVersion = def.group ? `${def.group}/${def.version}` : def.version;
    o.kind = def.kind;
    return this.commit(def, key, o, 'ADDED');
  }

  /** Replaces an object; `expectRv` (the body's resourceVersion) must be current when given. */
  update(def: ResourceDef, ns: string | undefined, name: string, next: K8sObject, expectRv?: string): K8sObject {
    const key = Store.key(def.namespaced ? ns : undefined, name);
    const cur = this.table(def.resource).get(key);
    if (!cur) throw new ApiError(404, 'NotFound', `${def.resource} "${name}" not found`);
    if (expectRv !== undefined && expectRv !== '' && expectRv !== (cur.metadata as { resourceVersion: string }).resourceVersion) {
      throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${def.resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    const o = structuredClone(next);
    const cm = cur.metadata as Record<string, unknown>;
    o.metadata = { ...o.metadata, name, uid: cm.uid, creationTimestamp: cm.creationTimestamp, ...(def.namespaced ? { namespace: ns } : {}) };
    o.apiVersion = cur.apiVersion;
    o.kind = cur.kind;
    if (JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } }) === JSON.stringify({ ...cur, metadata: { ...cm, resourceVersion: undefined } })) {
      return structuredClone(cur); // no-op writes do not bump the version (as the real server)
    }
    return this.commit(def, key, o, 'MODIFIED', cur);
  }

  delete(def: ResourceDef, ns: string | undefined, name: string): K8sObject {
    const key = Store.key(def.namespaced ? ns : undefined, name);
    const cur = this.table(def.resource).get(key);
    if (!cur) throw new ApiError(404, 'NotFound', `${def.resource} "${name}" not found`);
    this.table(def.resource).delete(key);
    this.revision++;
    const gone = structuredClone(cur);
    (gone.metadata as Record<string, unknown>).resourceVersion = String(this.revision);
    this.record({ rv: this.revision, resource: def.resource, type: 'DELETED', object: gone });
    return gone;
  }

  /** Forgets the watch history: watches from any version before now get 410 Gone. */
  compact(): void {
    this.history = [];
    this.oldest = this.revision;
  }

  /** Events after `rv` for `resource`; throws 410 when `rv` was compacted away. */
  since(resource: string, rv: number): WatchEvent[] {
    if (rv < this.oldest) throw new ApiError(410, 'Expired', `too old resource version: ${rv} (${this.oldest})`);
    return this.history.filter((e) => e.resource === resource && e.rv > rv);
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private commit(def: ResourceDef, key: string, o: K8sObject, type: 'ADDED' | 'MODIFIED', old?: K8sObject): K8sObject {
    this.revision++;
    (o.metadata as Record<string, unknown>).resourceVersion = String(this.revision);
    this.table(def.resource).set(key, o);
    this.record({ rv: this.revision, resource: def.resource, type, object: structuredClone(o), ...(old ? { old: structuredClone(old) } : {}) });
    return structuredClone(o);
  }

  private record(e: WatchEvent): void {
    this.history.push(e);
    if (this.history.length > 10_000) {
      const dropped = this.history.splice(0, 1000);
      this.oldest = dropped[dropped.length - 1]!.rv;
    }
    for (const l of this.listeners) l(e);
  }
}
