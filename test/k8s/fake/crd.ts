/**
 * @module fake API server: the CRDs
 * How kube-apiserver serves custom resources from deploy/kustomize/base/
 * crd*.yaml, in the order its custom-resource handler applies it
 * (staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/
 * customresource_handler.go):
 * 1. pruning: fields the structural schema does not declare are dropped
 *    silently (staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/
 *    schema/pruning/algorithm.go); `apiVersion`, `kind` and `metadata` stay
 *    at the root, and `metadata` keeps only ObjectMeta's fields
 *    (…/schema/objectmeta/coerce.go). Each dropped field is reported in a
 *    `Warning: 299 - "unknown field \"spec.x\""` header, as the default
 *    `fieldValidation=Warn` does;
 * 2. validation against the openAPIV3Schema (ajv here; its messages are not
 *    the server's, the 422 and the field are), with `format: date-time` as
 *    kube-openapi's strfmt reads it (RFC 3339, fraction and offset optional)
 *    and the keys of an `x-kubernetes-list-type: map` unique ("Duplicate
 *    value"), and of `metadata.name` as a DNS-1123 subdomain
 *    (…/pkg/registry/customresource/validator.go).
 * Which CRDs serve what: each manifest names its `<plural>.<group>`
 * (`loadCrd`); the status subresource and create's dropping of the status
 * are fake/registry.ts.
 * Not installed (the CRD deleted or never applied): see fake-apiserver.ts.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Ajv } from 'ajv';
import YAML from 'yaml';
import type { K8sObject } from './store.js';

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
}

/** strfmt's DateTime layouts, loosely: RFC 3339 with an optional fraction, seconds and offset. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$/;

/** The first repeated key of a list-type map (the API server's `Duplicate value`), as `path: message`. */
export function duplicateMapKey(value: unknown, s: Schema, at = ''): string | undefined {
  if (Array.isArray(value)) {
    const keys = s['x-kubernetes-list-type'] === 'map' ? (s['x-kubernetes-list-map-keys'] ?? []) : undefined;
    const seen = new Set<string>();
    for (const [i, v] of value.entries()) {
      if (keys) {
        const key = JSON.stringify(keys.map((k) => (v as Record<string, unknown> | null)?.[k]));
        if (seen.has(key)) return `${at}[${i}]: Duplicate value: ${key}`;
        seen.add(key);
      }
      const inner = s.items ? duplicateMapKey(v, s.items, `${at}[${i}]`) : undefined;
      if (inner) return inner;
    }
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [k, v] of Object.entries(value)) {
    const sub = s.properties?.[k];
    const found = sub ? duplicateMapKey(v, sub, at ? `${at}.${k}` : k) : undefined;
    if (found) return found;
  }
  return undefined;
}

/** metav1.ObjectMeta's JSON fields: what survives in `metadata` (objectmeta.Coerce drops the rest). */
const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

/** Drops what `s` does not declare, in place; returns the dropped paths (`spec.x`, `spec.list[0].y`). */
export function prune(value: unknown, s: Schema, at = '', root = true): string[] {
  const dropped: string[] = [];
  if (Array.isArray(value)) {
    if (s.items) value.forEach((v, i) => dropped.push(...prune(v, s.items!, `${at}[${i}]`, false)));
    return dropped;
  }
  if (typeof value !== 'object' || value === null || s['x-kubernetes-preserve-unknown-fields']) return dropped;
  const obj = value as Record<string, unknown>;
  const join = (k: string) => (at ? `${at}.${k}` : k);
  for (const k of Object.keys(obj)) {
    if (root && k === 'metadata' && typeof obj.metadata === 'object' && obj.metadata !== null) {
      const m = obj.metadata as Record<string, unknown>;
      for (const mk of Object.keys(m)) if (!OBJECT_META_FIELDS.has(mk)) delete m[mk];
      continue;
    }
    if (root && ROOT_FIELDS.has(k)) continue;
    const sub = s.properties?.[k] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
    if (sub) dropped.push(...prune(obj[k], sub, join(k), false));
    else if (s.additionalProperties !== true) {
      delete obj[k];
      dropped.push(join(k));
    }
  }
  return dropped;
}

/**
 * `x-kubernetes-*` keys and `nullable` are Kubernetes extensions; ajv needs
 * plain JSON Schema. `x-kubernetes-list-type: set` is what the API server
 * enforces as unique items, so it becomes `uniqueItems`.
 */
export function stripK8sExtensions(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(stripK8sExtensions);
  if (typeof s !== 'object' || s === null) return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (!k.startsWith('x-kubernetes-') && k !== 'nullable') out[k] = stripK8sExtensions(v);
  }
  if ((s as Record<string, unknown>)['x-kubernetes-list-type'] === 'set') out.uniqueItems = true;
  return out;
}

export interface ServedCrd {
  /** `<plural>.<group>`: the CRD's name, as the daemon reports it missing. */
  name: string;
  group: string;
  version: string;
  plural: string;
  schema: Schema;
  /** The schema's verdict on a pruned object: undefined, or what is wrong (ajv's text). */
  validate(obj: K8sObject): string | undefined;
}

/** The served version of a CRD manifest (one of deploy/kustomize/base/crd*.yaml). */
export function loadCrd(file: string, version = 'v1alpha1'): ServedCrd {
  type Version = { name: string; schema: { openAPIV3Schema: Schema } };
  const crd = YAML.parse(readFileSync(file, 'utf8')) as {
    metadata: { name: string };
    spec: { group: string; names: { plural: string }; versions: Version[] };
  };
  const v = crd.spec.versions.find((x) => x.name === version);
  if (!v) throw new Error(`${path.basename(file)} serves no version ${version}`);
  const schema = v.schema.openAPIV3Schema;
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat('date-time', DATE_TIME);
  const check = ajv.compile(stripK8sExtensions(schema) as object);
  return {
    name: crd.metadata.name,
    group: crd.spec.group,
    version,
    plural: crd.spec.names.plural,
    schema,
    validate: (obj) => (check(obj) ? duplicateMapKey(obj, schema) : ajv.errorsText(check.errors, { dataVar: '' })),
  };
}

/** The Warning header value for dropped fields (RFC 7234 warn-code 299, as the API server writes it). */
export function unknownFieldWarnings(dropped: string[]): string | undefined {
  if (dropped.length === 0) return undefined;
  return dropped.map((f) => `299 - ${JSON.stringify(`unknown field ${JSON.stringify(f)}`)}`).join(', ');
}
