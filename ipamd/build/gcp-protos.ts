/**
 * @module pruned Compute protos (daemon bundle build)
 * Each `@google-cloud/compute` client requires the whole Compute API
 * descriptor (protos/protos.json, 11.7 MB) and turns it into a protobufjs
 * Root: ~50 MB of heap for a daemon that makes five calls. This writes the
 * part those calls reach: the three services with only the methods
 * providers/gcp/compute.ts calls, and every message and enum their requests
 * and responses reach, transitively (so the SDK's REST encoder and decoder
 * see exactly the types they would have seen).
 *
 * A call added to compute.ts must be added to {@link USED_METHODS}; until
 * then it fails at once in every GCP test (the stub has no such method), it
 * cannot go unnoticed.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import type * as Protobuf from 'protobufjs';

/** The Compute methods providers/gcp/compute.ts calls, per service. */
export const USED_METHODS: Readonly<Record<string, readonly string[]>> = {
  'google.cloud.compute.v1.Instances': ['Get', 'UpdateNetworkInterface', 'AggregatedList'],
  'google.cloud.compute.v1.ZoneOperations': ['Wait'],
  'google.cloud.compute.v1.Subnetworks': ['Get'],
};

interface JsonNode {
  nested?: Record<string, JsonNode>;
  methods?: Record<string, unknown>;
  fields?: unknown;
  values?: unknown;
  [k: string]: unknown;
}

// protobufjs comes with google-gax (the SDK's own copy), not as a dependency of ours.
const gaxRequire = createRequire(createRequire(import.meta.url).resolve('google-gax'));

/** Full names (no leading dot) of every type the used methods reach. */
function reachable(root: Protobuf.Root): Set<string> {
  const keep = new Set<string>();
  const visit = (t: Protobuf.ReflectionObject | null): void => {
    if (!t) return;
    const name = t.fullName.slice(1);
    if (keep.has(name)) return;
    keep.add(name);
    const type = t as Protobuf.Type;
    for (const f of type.fieldsArray ?? []) {
      f.resolve();
      visit(f.resolvedType);
    }
    for (const n of type.nestedArray ?? []) visit(n);
  };
  for (const [service, methods] of Object.entries(USED_METHODS)) {
    const s = root.lookupService(service);
    for (const m of methods) {
      const method = s.methods[m];
      if (!method) throw new Error(`${service} has no method ${m}: update USED_METHODS`);
      method.resolve();
      visit(method.resolvedRequestType);
      visit(method.resolvedResponseType);
    }
  }
  return keep;
}

function prune(node: JsonNode, prefix: string, keep: Set<string>): JsonNode | undefined {
  if (!node.nested) return undefined;
  const nested: Record<string, JsonNode> = {};
  for (const [k, child] of Object.entries(node.nested)) {
    const name = prefix ? `${prefix}.${k}` : k;
    const used = USED_METHODS[name];
    if (used) {
      const methods = Object.fromEntries(used.map((m) => [m, child.methods![m]]));
      nested[k] = { ...child, methods };
    } else if (keep.has(name)) {
      nested[k] = child;
    } else if (!child.fields && !child.values && !child.methods) {
      const sub = prune(child, name, keep);
      if (sub) nested[k] = sub;
    }
  }
  return Object.keys(nested).length ? { ...node, nested } : undefined;
}

/** Writes the pruned descriptor to `file`; returns `file`. */
export function writePrunedComputeProtos(file: string): string {
  const computeRequire = createRequire(createRequire(import.meta.url).resolve('@google-cloud/compute'));
  const json = computeRequire('../protos/protos.json') as JsonNode;
  const protobuf = gaxRequire('protobufjs') as typeof Protobuf;
  const keep = reachable(protobuf.Root.fromJSON(json as Protobuf.INamespace));
  const pruned = prune(json, '', keep);
  if (!pruned) throw new Error('pruned Compute protos came out empty');
  fs.writeFileSync(file, JSON.stringify(pruned));
  return file;
}
