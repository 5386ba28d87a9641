/**
 * @module fake API server: patch types
 * The three patch types the API server accepts for built-in resources, as
 * it applies them:
 * - JSON merge patch (RFC 7386): objects merge, `null` deletes, lists replace;
 * - strategic merge patch: like a merge patch, except lists that declare a
 *   patch merge key (Node `status.conditions` by `type`, ...) merge item by
 *   item, `$patch: delete` removes an item, `$patch: replace` replaces the
 *   list or map, and directive keys (`$setElementOrder/...`, `$retainKeys`)
 *   are not stored. Lists without a merge key replace, as in the real thing;
 * - JSON patch (RFC 6902): add, remove, replace, test, move, copy.
 * Errors are thrown as `PatchError` (the server answers 422 or 400).
 */

export class PatchError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObj(patch)) return clone(patch);
  const out: Obj = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Merge keys of lists, by dotted path from the object root (from the API's patchMergeKey tags). */
export type MergeKeys = Record<string, string>;

export const MERGE_KEYS: Record<string, MergeKeys> = {
  nodes: { 'status.conditions': 'type', 'status.addresses': 'type', 'metadata.ownerReferences': 'uid' },
  pods: {
    'status.conditions': 'type',
    'spec.containers': 'name',
    'spec.initContainers': 'name',
    'spec.volumes': 'name',
    'metadata.ownerReferences': 'uid',
  },
};

export function strategicMergePatch(target: Json | undefined, patch: Json, keys: MergeKeys, path = ''): Json {
  if (!isObj(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return stripDirectives(rest);
  }
  if (patch.$patch === 'delete') return null;
  const out: Obj = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue; // $setElementOrder/..., $retainKeys, $deleteFromPrimitiveList/...
    const p = path ? `${path}.${k}` : k;
    if (v === null) {
      delete out[k];
      continue;
    }
    const mergeKey = keys[p];
    if (Array.isArray(v) && mergeKey) {
      out[k] = mergeList(Array.isArray(out[k]) ? (out[k] as Json[]) : [], v, mergeKey, keys, p);
    } else if (isObj(v)) {
      const merged = strategicMergePatch(out[k], v, keys, p);
      if (merged === null) delete out[k];
      else out[k] = merged;
    } else out[k] = clone(v);
  }
  return out;
}

function mergeList(target: Json[], patch: Json[], key: string, keys: MergeKeys, path: string): Json[] {
  if (patch.some((x) => isObj(x) && x.$patch === 'replace')) {
    return patch.filter((x) => !(isObj(x) && x.$patch === 'replace')).map((x) => stripDirectives(x));
  }
  const out = target.map((x) => clone(x));
  for (const item of patch) {
    if (!isObj(item) || item[key] === undefined)
      throw new PatchError(422, `${path}: every item needs the merge key "${key}"`);
    const idx = out.findIndex((x) => isObj(x) && x[key] === item[key]);
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = strategicMergePatch(out[idx], item, keys, path);
    else out.push(stripDirectives(item));
  }
  return out;
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
  return out;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(400, `invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, segs: string[], op: string): { parent: Obj | Json[]; last: string } {
  let cur: Json = doc;
  for (const s of segs.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(cur) ? cur[Number(s)] : isObj(cur) ? cur[s] : undefined;
    if (next === undefined) throw new PatchError(422, `${op}: path /${segs.join('/')} does not exist`);
    cur = next;
  }
  if (!Array.isArray(cur) && !isObj(cur))
    throw new PatchError(422, `${op}: parent of /${segs.join('/')} is not a container`);
  return { parent: cur, last: segs[segs.length - 1]! };
}

export function jsonPatch(doc: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw new PatchError(400, 'JSON patch must be an array of operations');
  let out = clone(doc);
  for (const raw of ops) {
    const o = raw as { op?: string; path?: string; value?: Json; from?: string };
    const segs = pointer(o.path ?? '');
    const get = (p: string[]): Json | undefined =>
      p.reduce<Json | undefined>((c, s) => (Array.isArray(c) ? c[Number(s)] : isObj(c) ? c[s] : undefined), out);
    const put = (p: string[], value: Json, insert: boolean) => {
      if (p.length === 0) {
        out = value;
        return;
      }
      const { parent, last } = parentOf(out, p, o.op ?? '?');
      if (Array.isArray(parent)) {
        const i = last === '-' ? parent.length : Number(last);
        if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new PatchError(422, `index ${last} out of range`);
        if (insert) parent.splice(i, 0, value);
        else parent[i] = value;
      } else parent[last] = value;
    };
    const remove = (p: string[]) => {
      const { parent, last } = parentOf(out, p, o.op ?? '?');
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else if (last in parent) delete parent[last];
      else throw new PatchError(422, `remove: path ${o.path} does not exist`);
    };
    switch (o.op) {
      case 'add':
        put(segs, clone(o.value ?? null), true);
        break;
      case 'replace':
        if (get(segs) === undefined) throw new PatchError(422, `replace: path ${o.path} does not exist`);
        put(segs, clone(o.value ?? null), false);
        break;
      case 'remove':
        remove(segs);
        break;
      case 'test':
        if (JSON.stringify(get(segs)) !== JSON.stringify(o.value))
          throw new PatchError(422, `test failed at ${o.path}`);
        break;
      case 'move':
      case 'copy': {
        const from = pointer(o.from ?? '');
        const v = get(from);
        if (v === undefined) throw new PatchError(422, `${o.op}: from ${o.from} does not exist`);
        if (o.op === 'move') remove(from);
        put(segs, clone(v), true);
        break;
      }
      default:
        throw new PatchError(400, `unknown JSON patch op ${JSON.stringify(o.op)}`);
    }
  }
  return out;
}
