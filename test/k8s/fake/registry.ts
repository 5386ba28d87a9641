/**
 * @module fake API server: writes
 * POST, PUT and PATCH as kube-apiserver's handlers and generic registry
 * store apply them (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/
 * {create,update,patch}.go, staging/src/k8s.io/apiserver/pkg/registry/
 * generic/registry/store.go, staging/src/k8s.io/apiserver/pkg/registry/rest/
 * {create,update}.go), in their order:
 * 1. decode: the body's MicroTimes must have six fractional digits (400);
 * 2. custom resources: prune unknown fields (fake/crd.ts);
 * 3. create: system fields come from the server (`deletionTimestamp` is
 *    cleared: rest.BeforeCreate), Pod defaults are applied; a custom
 *    resource with the status subresource is created without its status
 *    (the customresource strategy's PrepareForCreate: "create cannot set
 *    status");
 * 4. update: `metadata.resourceVersion` is a precondition, for PUT and for
 *    PATCH alike (a patch that sets it is applied to the current object and
 *    then compared, patch.go → store.go `Update`): a mismatch is a 409
 *    Conflict, none at all is an unconditional update where the strategy
 *    allows it and a 422 where it does not (Leases, custom resources); an
 *    update never changes `deletionTimestamp`/`deletionGracePeriodSeconds`
 *    (rest.BeforeUpdate); a PUT of a missing Lease creates it
 *    (`AllowCreateOnUpdate`);
 * 5. validation (fake/validation.ts: names, owner references, deletion marks;
 *    the CRD's schema; extra validators): 422;
 * 6. store; an update that empties the finalizers of an object marked for
 *    deletion (grace 0) deletes it (`ShouldDeleteDuringUpdate`).
 */
import { jsonPatch, mergePatch, MERGE_KEYS, strategicMergePatch } from './patch.js';
import { prune, unknownFieldWarnings, type ServedCrd } from './crd.js';
import {
  invalidError,
  resourceVersionRequired,
  validateCoreEvent,
  validateObjectMetaUpdate,
  validateLeaseSpec,
  validateObjectName,
  validateOwnerReferences,
  type FieldError,
} from './validation.js';
import { DEFAULT_POD_GRACE_SECONDS } from './deletion.js';
import { ApiError, conflict, crdName, type K8sObject, type ResourceDef, type Store } from './store.js';

export interface WriteResult {
  status: number;
  body: unknown;
  /** A `Warning` header (pruned fields). */
  warning?: string;
}

export interface RegistryOptions {
  store: Store;
  /** The served CRDs of the custom resources (pruning, schema), found by name (`<plural>.<group>`). */
  crds?: ServedCrd[];
  /** Extra validators by resource; return an error message to refuse. */
  validators?: Record<string, (obj: K8sObject) => string | undefined>;
}

const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const MICRO_LAYOUT = '"2006-01-02T15:04:05.000000Z07:00"';

type Meta = { name?: string; resourceVersion?: string; deletionTimestamp?: string; finalizers?: string[] };
const metaOf = (o: K8sObject) => o.metadata as Meta;

function isObject(o: unknown): o is K8sObject {
  return !!o && typeof o === 'object' && typeof (o as { metadata?: unknown }).metadata === 'object';
}

export class Registry {
  constructor(private readonly o: RegistryOptions) {}

  create(def: ResourceDef, ns: string | undefined, body: unknown): WriteResult {
    if (!isObject(body)) throw new ApiError(400, 'BadRequest', 'body is not an object with metadata');
    const bodyNs = (body.metadata as { namespace?: unknown }).namespace;
    if (def.namespaced && bodyNs !== undefined && bodyNs !== '' && bodyNs !== ns) {
      const why = 'the namespace of the provided object does not match the namespace sent on the request';
      throw new ApiError(400, 'BadRequest', why);
    }
    const obj = structuredClone(body);
    const warning = this.decode(def, obj);
    if (def.custom && def.hasStatus) delete obj.status;
    const m = obj.metadata as Record<string, unknown>;
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    delete m.resourceVersion;
    if (def.resource === 'pods') {
      const spec = (obj.spec ??= {}) as { terminationGracePeriodSeconds?: number };
      spec.terminationGracePeriodSeconds ??= DEFAULT_POD_GRACE_SECONDS;
    }
    const name = typeof m.name === 'string' ? m.name : '';
    this.validate(def, obj, ns, [...validateObjectName(name), ...validateOwnerReferences(obj)]);
    return { status: 201, body: this.o.store.create(def, ns, obj), ...(warning ? { warning } : {}) };
  }

  /** PUT: `body` replaces the object (or only its status, for `sub` = status). */
  put(def: ResourceDef, ns: string | undefined, name: string, sub: string | undefined, body: unknown): WriteResult {
    let cur: K8sObject;
    try {
      cur = this.o.store.get(def, ns, name);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404 && def.createOnUpdate && sub === undefined)) throw err;
      this.checkName(body, name);
      return this.create(def, ns, body);
    }
    return this.update(def, ns, name, sub, cur, body);
  }

  patch(def: ResourceDef, ns: string | undefined, name: string, sub: string | undefined, body: unknown, ctype: string) {
    const cur = this.o.store.get(def, ns, name);
    return this.update(def, ns, name, sub, cur, applyPatch(def, cur, body, ctype));
  }

  private update(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    sub: string | undefined,
    cur: K8sObject,
    body: unknown,
  ): WriteResult {
    this.checkName(body, name);
    let next = structuredClone(body as K8sObject);
    // The precondition is the body's (or the patched object's) own resourceVersion, whatever part is kept.
    const expectRv = metaOf(next).resourceVersion ?? '';
    if (def.hasStatus) {
      // The main resource ignores .status, the status subresource changes only .status.
      next = sub === 'status' ? { ...structuredClone(cur), status: next.status } : { ...next, status: cur.status };
    }
    const warning = this.decode(def, next);
    const nm = next.metadata as Record<string, unknown>;
    const cm = cur.metadata as Record<string, unknown>;
    // rest.BeforeUpdate keeps the server's deletion marks; setting them by update is refused below.
    for (const k of ['deletionTimestamp', 'deletionGracePeriodSeconds'] as const) {
      if (cm[k] !== undefined) nm[k] = cm[k];
    }
    if (expectRv === '' && !def.unconditionalUpdate) throw resourceVersionRequired(def.resource, def.group, name);
    if (expectRv !== '' && expectRv !== cm.resourceVersion) throw conflict(def, name);
    this.validate(def, next, ns, [...validateObjectMetaUpdate(next, cur), ...validateOwnerReferences(next)]);
    const stored = this.o.store.update(def, ns, name, next, expectRv);
    const out = shouldDeleteDuringUpdate(stored, cur) ? this.o.store.delete(def, ns, name) : stored;
    return { status: 200, body: out, ...(warning ? { warning } : {}) };
  }

  private checkName(body: unknown, name: string): void {
    if (!isObject(body)) throw new ApiError(400, 'BadRequest', 'body is not an object with metadata');
    const bodyName = metaOf(body).name;
    if (bodyName !== undefined && bodyName !== name) {
      const why = `the name of the object (${bodyName}) does not match the name on the URL (${name})`;
      throw new ApiError(400, 'BadRequest', why);
    }
  }

  /** The decoder's strictness (400) and, for custom resources, pruning; returns the Warning to send. */
  private decode(def: ResourceDef, obj: K8sObject): string | undefined {
    const badTime = (where: string, v: unknown) =>
      new ApiError(
        400,
        'BadRequest',
        `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: ` +
          `${where}parsing time ${JSON.stringify(v)} as ${MICRO_LAYOUT}: cannot parse`,
      );
    const micro = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && MICRO_TIME.test(v));
    if (def.resource === 'leases') {
      const spec = (obj.spec ?? {}) as Record<string, unknown>;
      for (const f of ['acquireTime', 'renewTime']) if (!micro(spec[f])) throw badTime('', spec[f]);
    }
    if (def.resource === 'events') {
      for (const f of ['firstTimestamp', 'lastTimestamp']) {
        const v = obj[f];
        if (v !== undefined && v !== null && (typeof v !== 'string' || !TIME.test(v))) {
          throw new ApiError(400, 'BadRequest', `Event: ${f}: cannot parse ${JSON.stringify(v)}`);
        }
      }
      if (!micro(obj.eventTime)) throw badTime('', obj.eventTime);
    }
    const crd = this.crdOf(def);
    if (crd) return unknownFieldWarnings(prune(obj, crd.schema));
    return undefined;
  }

  private crdOf(def: ResourceDef): ServedCrd | undefined {
    return def.custom ? this.o.crds?.find((c) => c.name === crdName(def)) : undefined;
  }

  /** The type's validation (422 with every field error) and the configured validators. */
  private validate(def: ResourceDef, obj: K8sObject, ns: string | undefined, metaErrs: FieldError[]): void {
    const name = String(metaOf(obj).name ?? '');
    const errs = [...metaErrs];
    if (def.resource === 'events') errs.push(...validateCoreEvent(obj, ns ?? ''));
    if (def.resource === 'leases') errs.push(...validateLeaseSpec((obj.spec ?? {}) as Record<string, unknown>));
    if (errs.length) throw invalidError(def.kind, def.group, name, errs);
    const why = this.crdOf(def)?.validate(obj) ?? this.o.validators?.[def.resource]?.(obj);
    if (why) throw new ApiError(422, 'Invalid', `${def.kind}.${def.group} "${name}" is invalid: ${why}`);
  }
}

/** The registry's default ShouldDeleteDuringUpdate: the last finalizer of an object marked with grace 0 went. */
function shouldDeleteDuringUpdate(next: K8sObject, cur: K8sObject): boolean {
  const c = cur.metadata as Meta & { deletionGracePeriodSeconds?: number };
  if ((metaOf(next).finalizers ?? []).length > 0 || (c.finalizers ?? []).length === 0) return false;
  return c.deletionTimestamp !== undefined && c.deletionGracePeriodSeconds === 0;
}

function applyPatch(def: ResourceDef, cur: K8sObject, patch: unknown, ctype: string): K8sObject {
  switch (ctype) {
    case 'application/merge-patch+json':
      return mergePatch(cur as never, patch as never) as unknown as K8sObject;
    case 'application/strategic-merge-patch+json':
      if (def.custom) {
        throw new ApiError(415, 'UnsupportedMediaType', 'strategic merge patch is not supported for custom resources');
      }
      return strategicMergePatch(cur as never, patch as never, MERGE_KEYS[def.resource] ?? {}) as unknown as K8sObject;
    case 'application/json-patch+json':
      return jsonPatch(cur as never, patch) as unknown as K8sObject;
    default:
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        'the body of the request was in an unknown format - accepted media types include: ' +
          'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, ' +
          `application/strategic-merge-patch+json (got ${ctype})`,
      );
  }
}
