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

/** metav1.StatusDetails: what a 422 names (kind, name, one cause per field error). */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: Array<{ reason?: string; message: string; field?: string }>;
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }
}

/** The metav1.Status body of an error, as every API error is sent. */
export function statusBody(e: ApiError) {
  const details = e.details ? { details: e.details } : {};
  const { message, reason, status: code } = e;
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...details, code };
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
  /**
   * The registry strategy's answers (each type's strategy.go under
   * pkg/registry): a PUT without resourceVersion is applied unconditionally
   * (`AllowUnconditionalUpdate`), a PUT of a missing object creates it
   * (`AllowCreateOnUpdate`), DELETE is graceful (`CheckGracefulDelete`:
   * Pods only).
   */
  unconditionalUpdate: boolean;
  createOnUpdate: boolean;
  graceful?: boolean;
  /** Served by a CRD (deploy/kustomize/base/crd*.yaml, named `<resource>.<group>`), not built in. */
  custom?: boolean;
}

const meta = (o: K8sObject) => o.metadata as { name?: string; namespace?: string };
const keyOf = (o: K8sObject) => `${meta(o).namespace ?? ''}/${meta(o).name}`;
const baseFields = {
  'metadata.name': (o: K8sObject) => meta(o).name,
  'metadata.namespace': (o: K8sObject) => meta(o).namespace,
};
type Strategy = Pick<ResourceDef, 'unconditionalUpdate' | 'createOnUpdate' | 'graceful' | 'custom'>;

/** One served resource: where it lives, its field selectors beyond the name's, and its strategy. */
function served(
  gv: string,
  kind: string,
  names: { resource: string; namespaced: boolean; hasStatus: boolean },
  strategy: Strategy,
  fields: ResourceDef['fields'] = {},
): ResourceDef {
  const [group, version] = gv.includes('/') ? gv.split('/') : ['', gv];
  return { group: group!, version: version!, kind, ...names, fields: { ...baseFields, ...fields }, ...strategy };
}

const unconditional = { unconditionalUpdate: true, createOnUpdate: false };
const EVENT_STRATEGY = { ...unconditional, createOnUpdate: true };
const PSC = { resource: 'podsubnetconfigs', namespaced: false, hasStatus: false };
const NAP = { resource: 'nodeaddresspools', namespaced: false, hasStatus: true };
const ENICONFIG = { resource: 'eniconfigs', namespaced: false, hasStatus: false };
const CUSTOM = { unconditionalUpdate: false, createOnUpdate: false, custom: true };

export const RESOURCES: ResourceDef[] = [
  // pkg/registry/core/node/strategy.go
  served('v1', 'Node', { resource: 'nodes', namespaced: false, hasStatus: true }, unconditional),
  // pkg/registry/core/pod/strategy.go
  served(
    'v1',
    'Pod',
    { resource: 'pods', namespaced: true, hasStatus: true },
    { ...unconditional, graceful: true },
    {
      'spec.nodeName': (o) => (o.spec as { nodeName?: string } | undefined)?.nodeName ?? '',
      'status.phase': (o) => (o.status as { phase?: string } | undefined)?.phase ?? '',
    },
  ),
  // pkg/registry/core/event/strategy.go
  served('v1', 'Event', { resource: 'events', namespaced: true, hasStatus: false }, EVENT_STRATEGY, {
    'involvedObject.kind': (o) => (o.involvedObject as { kind?: string } | undefined)?.kind,
    'involvedObject.name': (o) => (o.involvedObject as { name?: string } | undefined)?.name,
    reason: (o) => o.reason as string | undefined,
  }),
  // pkg/registry/apps/daemonset/strategy.go
  served('apps/v1', 'DaemonSet', { resource: 'daemonsets', namespaced: true, hasStatus: true }, unconditional),
  // pkg/registry/coordination/lease/strategy.go
  served(
    'coordination.k8s.io/v1',
    'Lease',
    { resource: 'leases', namespaced: true, hasStatus: false },
    {
      unconditionalUpdate: false,
      createOnUpdate: true,
    },
  ),
  // staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresource/strategy.go
  served('vpc-ipam.io/v1alpha1', 'PodSubnetConfig', PSC, CUSTOM),
  served('vpc-ipam.io/v1alpha1', 'NodeAddressPool', NAP, CUSTOM),
  // The AWS VPC CNI's (aws-node installs its CRD): served only when a test gives that CRD (fake-apiserver.ts).
  served('crd.k8s.amazonaws.com/v1alpha1', 'ENIConfig', ENICONFIG, CUSTOM),
];

/** The CRD that serves a custom resource: `<plural>.<group>`. */
export function crdName(def: ResourceDef): string {
  return `${def.resource}.${def.group}`;
}

/** schema.GroupResource.String(): `nodes`, `leases.coordination.k8s.io`. */
export function qualifiedResource(def: ResourceDef): string {
  return def.group ? `${def.resource}.${def.group}` : def.resource;
}

/** apierrors.NewNotFound (staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go). */
export function notFound(def: ResourceDef, name: string): ApiError {
  const details = { name, ...(def.group ? { group: def.group } : {}), kind: def.resource };
  return new ApiError(404, 'NotFound', `${qualifiedResource(def)} "${name}" not found`, details);
}

/** The store's OptimisticLockErrorMsg (registry/store.go), through apierrors.NewConflict. */
export const OPTIMISTIC_LOCK_MSG =
  'the object has been modified; please apply your changes to the latest version and try again';

export function conflict(def: ResourceDef, name: string, why = OPTIMISTIC_LOCK_MSG): ApiError {
  const details = { name, ...(def.group ? { group: def.group } : {}), kind: def.resource };
  const message = `Operation cannot be fulfilled on ${qualifiedResource(def)} "${name}": ${why}`;
  return new ApiError(409, 'Conflict', message, details);
}

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
    if (!o) throw notFound(def, name);
    return structuredClone(o);
  }

  list(def: ResourceDef, ns: string | undefined, sel: Selector): K8sObject[] {
    return [...this.table(def.resource).values()]
      .filter((o) => (ns === undefined || meta(o).namespace === ns) && sel(o))
      .sort((a, b) => keyOf(a).localeCompare(keyOf(b)))
      .map((o) => structuredClone(o));
  }

  create(def: ResourceDef, ns: string | undefined, obj: K8sObject): K8sObject {
    const m = obj.metadata as Record<string, unknown>;
    if (typeof m.name !== 'string' || m.name === '') {
      throw new ApiError(422, 'Invalid', 'metadata.name: Required value');
    }
    const key = Store.key(def.namespaced ? ns : undefined, m.name);
    if (this.table(def.resource).has(key)) {
      const details = { name: m.name, ...(def.group ? { group: def.group } : {}), kind: def.resource };
      throw new ApiError(409, 'AlreadyExists', `${qualifiedResource(def)} "${m.name}" already exists`, details);
    }
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
    if (!cur) throw notFound(def, name);
    const curRv = (cur.metadata as { resourceVersion: string }).resourceVersion;
    if (expectRv !== undefined && expectRv !== '' && expectRv !== curRv) throw conflict(def, name);
    const o = structuredClone(next);
    const cm = cur.metadata as Record<string, unknown>;
    const fixed = { name, uid: cm.uid, creationTimestamp: cm.creationTimestamp };
    o.metadata = { ...o.metadata, ...fixed, ...(def.namespaced ? { namespace: ns } : {}) };
    o.apiVersion = cur.apiVersion;
    o.kind = cur.kind;
    const withoutRv = (x: K8sObject) =>
      JSON.stringify({ ...x, metadata: { ...x.metadata, resourceVersion: undefined } });
    // No-op writes do not bump the version (as the real server).
    if (withoutRv(o) === withoutRv(cur)) return structuredClone(cur);
    return this.commit(def, key, o, 'MODIFIED', cur);
  }

  delete(def: ResourceDef, ns: string | undefined, name: string): K8sObject {
    const key = Store.key(def.namespaced ? ns : undefined, name);
    const cur = this.table(def.resource).get(key);
    if (!cur) throw notFound(def, name);
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
    const before = old ? { old: structuredClone(old) } : {};
    this.record({ rv: this.revision, resource: def.resource, type, object: structuredClone(o), ...before });
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
