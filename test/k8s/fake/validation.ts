/**
 * @module fake API server: validation
 * kube-apiserver's validation of what the fake stores, with its answer: a
 * 422 `Invalid` Status whose `details.causes` list every field error, as
 * `apierrors.NewInvalid` builds it ("Event \"x\" is invalid: [a: …, b: …]").
 *
 * - Names: every resource the fake serves names its objects as a DNS-1123
 *   subdomain (`NameIsDNSSubdomain` in each type's `ValidateObjectMeta`:
 *   staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go, the
 *   message from staging/src/k8s.io/apimachinery/pkg/util/validation/
 *   validation.go `IsDNS1123Subdomain`); custom resources too
 *   (staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresource/
 *   validator.go).
 * - Updates: `deletionTimestamp`/`deletionGracePeriodSeconds` are immutable
 *   (only DELETE sets them), and once an object is being deleted no
 *   finalizer can be added (`ValidateObjectMetaUpdate`, same objectmeta.go).
 * - Leases: pkg/apis/coordination/validation/validation.go
 *   `ValidateLeaseSpec`: leaseDurationSeconds > 0, leaseTransitions ≥ 0, a
 *   known or qualified strategy, preferredHolder only with a strategy. The
 *   real code has no rule on holderIdentity (its length or form), so neither
 *   has the fake: a check the server does not make would be a kindness of
 *   another sort, failing clients that work.
 * - Events, as `ValidateEventCreate` / `ValidateEventUpdate` of
 *   pkg/apis/core/validation/events.go do for a core/v1 request: only
 *   `legacyValidateEvent` applies (the strict checks are for events.k8s.io/v1).
 *   That is:
 *   - without `eventTime` (an "old" Event): when the involved object has no
 *     namespace (a Node), the Event's namespace must be "" or `default`;
 *     otherwise the two must be equal;
 *   - with `eventTime`: an involved object without a namespace allows only
 *     `default` and `kube-system`; `reportingComponent` (reported under that
 *     name for core/v1) is required and a qualified name; `reportingInstance`
 *     and `action` are required, ≤ 128; `reason` required, ≤ 128; `message`
 *     ≤ 1024 (bytes: Go's len);
 *   - the Event's namespace is a DNS-1123 subdomain.
 * The decoder's own strictness (MicroTime with six fractional digits) is a
 * 400 before any of this, as in the real server. Also a LIST's
 * resourceVersion/resourceVersionMatch rules ({@link checkListVersion}).
 */
import { ApiError, type K8sObject } from './store.js';

export interface FieldError {
  /** metav1.CauseType of the field error. */
  reason: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueForbidden' | 'FieldValueNotSupported';
  field: string;
  /** ErrorBody(): `Invalid value: "x": detail` or `Required value`. */
  message: string;
}

const invalid = (field: string, value: string, detail: string): FieldError => ({
  reason: 'FieldValueInvalid',
  field,
  message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
});
const required = (field: string): FieldError => ({ reason: 'FieldValueRequired', field, message: 'Required value' });
/** field.Invalid with a number: Go prints it bare (`Invalid value: 0: …`). */
const invalidNumber = (field: string, value: number, detail: string): FieldError => ({
  reason: 'FieldValueInvalid',
  field,
  message: `Invalid value: ${value}: ${detail}`,
});
const forbidden = (field: string, detail: string): FieldError => ({
  reason: 'FieldValueForbidden',
  field,
  message: `Forbidden: ${detail}`,
});

/** The 422 kube-apiserver answers for these field errors (apierrors.NewInvalid). */
export function invalidError(kind: string, group: string, name: string, errs: FieldError[]): ApiError {
  const list = errs.map((e) => `${e.field}: ${e.message}`);
  const agg = list.length === 1 ? list[0]! : `[${list.join(', ')}]`;
  const qualified = group ? `${kind}.${group}` : kind;
  const causes = errs.map((e) => ({ reason: e.reason, message: e.message, field: e.field }));
  const details = { name, ...(group ? { group } : {}), kind, causes };
  return new ApiError(422, 'Invalid', `${qualified} "${name}" is invalid: ${agg}`, details);
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start " +
  "and end with an alphanumeric character (e.g. 'example.com', regex used for validation is " +
  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/** `metadata.name` (and `namespace`) as NameIsDNSSubdomain checks them at create. */
export function validateObjectName(name: string): FieldError[] {
  if (name === '') return [required('metadata.name')];
  const errs: FieldError[] = [];
  if (name.length > 253) errs.push(invalid('metadata.name', name, 'must be no more than 253 characters'));
  if (!DNS1123_SUBDOMAIN.test(name)) errs.push(invalid('metadata.name', name, DNS1123_SUBDOMAIN_MSG));
  return errs;
}

/**
 * `metadata.ownerReferences` as ValidateOwnerReferences checks them on
 * create and update (objectmeta.go `validateOwnerReference`: the field path
 * carries no index), and at most one controller.
 */
export function validateOwnerReferences(obj: K8sObject): FieldError[] {
  const refs = (obj.metadata as { ownerReferences?: unknown }).ownerReferences;
  if (refs === undefined || refs === null) return [];
  const f = 'metadata.ownerReferences';
  if (!Array.isArray(refs)) return [invalid(f, String(refs), 'must be a list')];
  const errs: FieldError[] = [];
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  for (const r of refs as Array<Record<string, unknown>>) {
    const apiVersion = str(r.apiVersion);
    // schema.FromAPIVersionAndKind: the version is what follows the last "/" (all of it for the core group).
    const version = apiVersion.split('/').pop();
    if (version === '') errs.push(invalid(`${f}.apiVersion`, apiVersion, 'version must not be empty'));
    if (str(r.kind) === '') errs.push(invalid(`${f}.kind`, str(r.kind), 'kind must not be empty'));
    if (str(r.name) === '') errs.push(invalid(`${f}.name`, str(r.name), 'name must not be empty'));
    if (str(r.uid) === '') errs.push(invalid(`${f}.uid`, str(r.uid), 'uid must not be empty'));
  }
  const controllers = (refs as Array<{ controller?: unknown }>).filter((r) => r.controller === true).length;
  if (controllers > 1) {
    errs.push(invalid(f, `${controllers} controllers`, 'Only one reference can have Controller set to true'));
  }
  return errs;
}

/**
 * ValidateObjectMetaUpdate's rules on deletion: the marks are immutable
 * (`ValidateImmutableField`; only DELETE sets them), and an object being
 * deleted takes no new finalizer.
 */
export function validateObjectMetaUpdate(next: K8sObject, cur: K8sObject): FieldError[] {
  const curMeta = cur.metadata as { deletionTimestamp?: string; finalizers?: string[] };
  const nextMeta = next.metadata as { deletionTimestamp?: unknown; deletionGracePeriodSeconds?: unknown };
  if (!curMeta.deletionTimestamp) {
    const errs: FieldError[] = [];
    if (nextMeta.deletionTimestamp !== undefined && nextMeta.deletionTimestamp !== null) {
      errs.push(invalid('metadata.deletionTimestamp', String(nextMeta.deletionTimestamp), 'field is immutable'));
    }
    if (typeof nextMeta.deletionGracePeriodSeconds === 'number') {
      const field = 'metadata.deletionGracePeriodSeconds';
      errs.push(invalidNumber(field, nextMeta.deletionGracePeriodSeconds, 'field is immutable'));
    }
    return errs;
  }
  const before = new Set(curMeta.finalizers ?? []);
  const added = ((next.metadata as { finalizers?: string[] }).finalizers ?? []).filter((f) => !before.has(f)).sort();
  if (added.length === 0) return [];
  // Go's %#v of the sorted set difference.
  const list = `[]string{${added.map((f) => JSON.stringify(f)).join(', ')}}`;
  const why = `no new finalizers can be added if the object is being deleted, found new finalizers ${list}`;
  return [forbidden('metadata.finalizers', why)];
}

/** ValidateLeaseSpec (pkg/apis/coordination/validation/validation.go). */
export function validateLeaseSpec(spec: Record<string, unknown>): FieldError[] {
  const errs: FieldError[] = [];
  const duration = spec.leaseDurationSeconds;
  if (typeof duration === 'number' && duration <= 0) {
    errs.push(invalidNumber('spec.leaseDurationSeconds', duration, 'must be greater than 0'));
  }
  const transitions = spec.leaseTransitions;
  if (typeof transitions === 'number' && transitions < 0) {
    errs.push(invalidNumber('spec.leaseTransitions', transitions, 'must be greater than or equal to 0'));
  }
  const strategy = str(spec.strategy);
  // The real code names the field `strategy` twice (fldPath.Child("strategy") on a path that already ends in it).
  if (strategy !== '' && !strategy.includes('/') && strategy !== 'OldestEmulationVersion') {
    errs.push({
      reason: 'FieldValueNotSupported',
      field: 'spec.strategy.strategy',
      message: `Unsupported value: ${JSON.stringify(strategy)}: supported values: "OldestEmulationVersion"`,
    });
  } else if (strategy.includes('/')) {
    for (const msg of qualifiedNameErrors(strategy)) errs.push(invalid('spec.strategy.strategy', strategy, msg));
  }
  if (str(spec.preferredHolder) !== '' && strategy === '') {
    errs.push(forbidden('spec.preferredHolder', 'may only be specified if `strategy` is defined'));
  }
  return errs;
}

/**
 * A PUT without `metadata.resourceVersion` to a resource whose strategy
 * refuses unconditional updates (Leases, custom resources): the generic
 * store's answer (staging/src/k8s.io/apiserver/pkg/registry/generic/registry/
 * store.go, `Update`), whose kind is the group and *resource*, and whose
 * value is Go's `%#v` of a uint64 zero.
 */
export function resourceVersionRequired(resource: string, group: string, name: string): ApiError {
  const err: FieldError = {
    reason: 'FieldValueInvalid',
    field: 'metadata.resourceVersion',
    message: 'Invalid value: 0x0: must be specified for an update',
  };
  return invalidError(resource, group, name, [err]);
}
/** validation.IsQualifiedName: optional DNS-subdomain prefix and "/", then a name of ≤ 63. */
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function qualifiedNameErrors(v: string): string[] {
  const parts = v.split('/');
  if (parts.length > 2) {
    return ['a qualified name is alphanumerics, "-", "_" or ".", with an optional DNS prefix and "/"'];
  }
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]!];
  const out: string[] = [];
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) {
    out.push('prefix part must be a DNS-1123 subdomain');
  }
  if (!name) out.push('name part must be non-empty');
  else if (name.length > 63) out.push('name part must be no more than 63 characters');
  else if (!QUALIFIED_NAME.test(name)) {
    out.push("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with one");
  }
  return out;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const bytes = (s: string) => Buffer.byteLength(s);

/** legacyValidateEvent for a core/v1 request; `ns` is the namespace the Event is stored in. */
export function validateCoreEvent(e: K8sObject, ns: string): FieldError[] {
  const errs: FieldError[] = [];
  const involved = (e.involvedObject ?? {}) as { namespace?: string };
  const involvedNs = str(involved.namespace);
  const hasEventTime = e.eventTime !== undefined && e.eventTime !== null && e.eventTime !== '';
  if (!hasEventTime) {
    if (involvedNs === '' ? ns !== '' && ns !== 'default' : ns !== involvedNs) {
      errs.push(invalid('involvedObject.namespace', involvedNs, 'does not match event.namespace'));
    }
  } else {
    if (involvedNs === '' && ns !== 'default' && ns !== 'kube-system') {
      errs.push(invalid('involvedObject.namespace', involvedNs, 'does not match event.namespace'));
    }
    // core/v1 reports ReportingController under its v1 name.
    const controller = str(e.reportingComponent);
    if (controller === '') errs.push(required('reportingComponent'));
    for (const msg of qualifiedNameErrors(controller)) errs.push(invalid('reportingComponent', controller, msg));
    const instance = str(e.reportingInstance);
    if (instance === '') errs.push(required('reportingInstance'));
    if (bytes(instance) > 128) errs.push(invalid('reportingInstance', '', 'can have at most 128 characters'));
    const action = str(e.action);
    if (action === '') errs.push(required('action'));
    if (bytes(action) > 128) errs.push(invalid('action', '', 'can have at most 128 characters'));
    const reason = str(e.reason);
    if (reason === '') errs.push(required('reason'));
    if (bytes(reason) > 128) errs.push(invalid('reason', '', 'can have at most 128 characters'));
    if (bytes(str(e.message)) > 1024) errs.push(invalid('message', '', 'can have at most 1024 characters'));
  }
  if (ns.length > 253 || !DNS1123_SUBDOMAIN.test(ns)) {
    const why = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'";
    errs.push(invalid('namespace', ns, why));
  }
  return errs;
}

/**
 * A LIST's resourceVersion semantics (apimachinery's ValidateListOptions and
 * the cacher): `resourceVersionMatch` needs a `resourceVersion`;
 * NotOlderThan a version the server has not reached is 504 "Too large
 * resource version" (the real server waits ~3 s first); Exact an older one
 * than the fake keeps (it keeps only the latest state) is 410. Otherwise the
 * fake answers with its current state, which is never older than asked.
 */
export function checkListVersion(q: URLSearchParams, current: number): void {
  const match = q.get('resourceVersionMatch');
  const rv = q.get('resourceVersion');
  if (match === null || match === '') return;
  const invalid = (message: string) => {
    const cause = { reason: 'FieldValueForbidden', message, field: 'resourceVersionMatch' };
    const details = { name: '', group: 'meta.k8s.io', kind: 'ListOptions', causes: [cause] };
    const text = `ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: ${message}`;
    return new ApiError(422, 'Invalid', text, details);
  };
  if (rv === null || rv === '') {
    throw invalid('Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided');
  }
  if (match !== 'NotOlderThan' && match !== 'Exact') {
    throw invalid(`Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`);
  }
  if (match === 'Exact' && rv === '0') {
    throw invalid('Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
  }
  const n = Number(rv);
  if (!Number.isInteger(n)) throw new ApiError(400, 'BadRequest', `invalid resource version "${rv}"`);
  if (match === 'NotOlderThan' && n > current) {
    const cause = { reason: 'ResourceVersionTooLarge', message: 'Too large resource version', field: '' };
    const details = { causes: [cause], retryAfterSeconds: 1 };
    throw new ApiError(504, 'Timeout', `Too large resource version: ${n}, current: ${current}`, details);
  }
  if (match === 'Exact' && n !== current) {
    throw new ApiError(410, 'Expired', `too old resource version: ${n} (${current})`);
  }
}
