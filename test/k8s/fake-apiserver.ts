/**
 * @module fake Kubernetes API server
 * A small HTTP server on 127.0.0.1 that implements, faithfully, the few
 * endpoints vpc-ipam uses, so tests drive the real `@kubernetes/client-node`
 * (through a kubeconfig) against it:
 * - Nodes: get, list (limit/continue), create, patch (merge, strategic, JSON
 *   patch; `.status` is ignored on the main resource) and the status
 *   subresource (where only `.status` changes);
 * - Pods: get, list and watch (all namespaces or one; field selectors such
 *   as `spec.nodeName=`; label selectors; resourceVersion semantics, 410
 *   Gone as an ERROR event after `compact()`, bookmarks, timeoutSeconds),
 *   create, update, delete;
 * - Events: create, patch, list; DaemonSets: get/create/delete;
 * - Leases: get, create (409 AlreadyExists), update (409 Conflict on a stale
 *   resourceVersion; MicroTime fields must have six fractional digits, as the
 *   real decoder demands);
 * - PodSubnetConfigs (the CRD): get, list, create, validated against the
 *   CRD's schema when a validator is given.
 * Every request needs the bearer token. Errors are `Status` objects.
 */
import * as http from 'node:http';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { jsonPatch, mergePatch, MERGE_KEYS, PatchError, strategicMergePatch } from './fake/patch.js';
import { ApiError, findResource, parseFieldSelector, parseLabelSelector, Store, type K8sObject, type ResourceDef, type WatchEvent } from './fake/store.js';

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
}

export interface FakeApiServerOptions {
  token?: string;
  /** How often open watches with allowWatchBookmarks get a BOOKMARK. */
  bookmarkIntervalMs?: number;
  /** Per-resource validators (e.g. the CRD's openAPIV3Schema); return an error message to refuse. */
  validators?: Record<string, (obj: K8sObject) => string | undefined>;
}

const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function statusBody(e: ApiError) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: e.reason, code: e.status };
}

export class FakeApiServer {
  readonly store = new Store();
  readonly requests: RequestRecord[] = [];
  /** When true every request gets 503 (an API server outage). */
  unavailable = false;
  private server: http.Server | undefined;
  private readonly watches = new Set<http.ServerResponse>();
  private port = 0;
  readonly token: string;

  constructor(private readonly o: FakeApiServerOptions = {}) {
    this.token = o.token ?? 'fake-token';
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  async stop(): Promise<void> {
    this.dropWatches();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** Ends every open watch stream (as an API server restart or a load balancer would). */
  dropWatches(): void {
    for (const w of this.watches) w.destroy();
    this.watches.clear();
  }

  get openWatches(): number {
    return this.watches.size;
  }

  /** Writes a kubeconfig for this server into `dir` and returns its path. */
  writeKubeconfig(dir: string): string {
    const file = path.join(dir, 'kubeconfig');
    const kc = {
      apiVersion: 'v1',
      kind: 'Config',
      // client-node only speaks plain HTTP to a cluster marked insecure-skip-tls-verify.
      clusters: [{ name: 'fake', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'fake', user: { token: this.token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
      'current-context': 'fake',
    };
    writeFileSync(file, JSON.stringify(kc));
    return file;
  }

  /** Requests matching method and a path prefix/regexp (for tests). */
  count(method: string, p: string | RegExp): number {
    return this.requests.filter((r) => r.method === method && (typeof p === 'string' ? r.path === p : p.test(r.path))).length;
  }

  // ---- test helpers working on the store directly ----
  def(resource: string): ResourceDef {
    const d = [['', 'v1'], ['apps', 'v1'], ['coordination.k8s.io', 'v1'], ['vpc-ipam.io', 'v1alpha1']]
      .map(([g, v]) => findResource(g!, v!, resource))
      .find((x) => x);
    if (!d) throw new Error(`unknown resource ${resource}`);
    return d;
  }

  create(resource: string, obj: Record<string, unknown>, ns?: string): K8sObject {
    return this.store.create(this.def(resource), ns, obj as K8sObject);
  }

  get(resource: string, name: string, ns?: string): K8sObject {
    return this.store.get(this.def(resource), ns, name);
  }

  list(resource: string, ns?: string): K8sObject[] {
    return this.store.list(this.def(resource), ns, () => true);
  }

  /** Applies `fn` to a copy of the object and stores it (a controller's update). */
  mutate(resource: string, name: string, fn: (o: K8sObject) => void, ns?: string): K8sObject {
    const d = this.def(resource);
    const o = this.store.get(d, ns, name);
    fn(o);
    return this.store.update(d, ns, name, o);
  }

  remove(resource: string, name: string, ns?: string): void {
    this.store.delete(this.def(resource), ns, name);
  }

  // ---- HTTP ----
  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const query = Object.fromEntries(url.searchParams);
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query, contentType: req.headers['content-type'] });
    try {
      if (this.unavailable) throw new ApiError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request');
      if (req.headers.authorization !== `Bearer ${this.token}`) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      const route = this.route(url.pathname);
      const body = req.method === 'GET' || req.method === 'DELETE' ? undefined : await readBody(req);
      if (req.method === 'GET' && route.name === undefined && url.searchParams.get('watch') === 'true') {
        return this.watch(route, url.searchParams, res);
      }
      const out = this.dispatch(req.method ?? 'GET', route, url.searchParams, body, req.headers['content-type'] ?? '');
      send(res, out.status ?? 200, out.body);
    } catch (err) {
      const e = err instanceof ApiError ? err : err instanceof PatchError ? new ApiError(err.status, 'Invalid', err.message) : new ApiError(500, 'InternalError', (err as Error).message);
      send(res, e.status, statusBody(e));
    }
  }

  private route(p: string): { def: ResourceDef; ns?: string; name?: string; sub?: string } {
    const segs = p.split('/').filter(Boolean);
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs[1] === 'v1') [group, version, rest] = ['', 'v1', segs.slice(2)];
    else if (segs[0] === 'apis' && segs.length >= 3) [group, version, rest] = [segs[1]!, segs[2]!, segs.slice(3)];
    else throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${p})`);
    let ns: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      ns = rest[1];
      rest = rest.slice(2);
    }
    const def = findResource(group, version, rest[0] ?? '');
    if (!def || rest.length > 3) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${p})`);
    if (def.namespaced !== (ns !== undefined) && rest.length > 1) throw new ApiError(404, 'NotFound', `${def.resource} is ${def.namespaced ? '' : 'not '}namespaced`);
    if (rest[2] !== undefined && !(rest[2] === 'status' && def.hasStatus)) throw new ApiError(404, 'NotFound', `no subresource ${rest[2]}`);
    return { def, ns, name: rest[1], sub: rest[2] };
  }

  private dispatch(method: string, r: ReturnType<FakeApiServer['route']>, q: URLSearchParams, body: unknown, ctype: string): { status?: number; body: unknown } {
    const { def, ns, name, sub } = r;
    if (name === undefined) {
      if (method === 'GET') return { body: this.listBody(def, ns, q) };
      if (method === 'POST') {
        const obj = this.checked(def, body as K8sObject);
        return { status: 201, body: this.store.create(def, ns, obj) };
      }
      throw new ApiError(405, 'MethodNotAllowed', `${method} not allowed on a collection`);
    }
    if (method === 'GET') return { body: this.store.get(def, ns, name) };
    if (method === 'DELETE') return { body: this.store.delete(def, ns, name) };
    const cur = this.store.get(def, ns, name);
    let next: K8sObject;
    if (method === 'PUT') next = body as K8sObject;
    else if (method === 'PATCH') next = this.applyPatch(def, cur, body, ctype.split(';')[0]!.trim());
    else throw new ApiError(405, 'MethodNotAllowed', `${method} not allowed`);
    if (!next || typeof next !== 'object' || typeof next.metadata !== 'object') throw new ApiError(400, 'BadRequest', 'body is not an object with metadata');
    const bodyName = (next.metadata as { name?: string }).name;
    if (bodyName !== undefined && bodyName !== name) throw new ApiError(400, 'BadRequest', `the name of the object (${bodyName}) does not match the name on the URL (${name})`);
    if (def.hasStatus) {
      // The main resource ignores .status, the status subresource changes only .status.
      next = sub === 'status' ? { ...cur, status: next.status } : { ...next, status: cur.status };
    }
    next = this.checked(def, next);
    const expectRv = method === 'PUT' ? ((next.metadata as { resourceVersion?: string }).resourceVersion ?? '') : undefined;
    return { body: this.store.update(def, ns, name, next, expectRv) };
  }

  private applyPatch(def: ResourceDef, cur: K8sObject, patch: unknown, ctype: string): K8sObject {
    switch (ctype) {
      case 'application/merge-patch+json':
        return mergePatch(cur as never, patch as never) as unknown as K8sObject;
      case 'application/strategic-merge-patch+json':
        if (def.group === 'vpc-ipam.io') throw new ApiError(415, 'UnsupportedMediaType', 'strategic merge patch is not supported for custom resources');
        return strategicMergePatch(cur as never, patch as never, MERGE_KEYS[def.resource] ?? {}) as unknown as K8sObject;
      case 'application/json-patch+json':
        return jsonPatch(cur as never, patch) as unknown as K8sObject;
      default:
        throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got ${ctype})`);
    }
  }

  /** Decoder-level checks the real server does (time formats) and the configured validators. */
  private checked(def: ResourceDef, obj: K8sObject): K8sObject {
    if (!obj || typeof obj !== 'object' || typeof obj.metadata !== 'object') throw new ApiError(400, 'BadRequest', 'body is not an object with metadata');
    if (def.resource === 'leases') {
      const spec = (obj.spec ?? {}) as Record<string, unknown>;
      for (const f of ['acquireTime', 'renewTime']) {
        const v = spec[f];
        if (v !== undefined && v !== null && (typeof v !== 'string' || !MICRO_TIME.test(v))) {
          throw new ApiError(400, 'BadRequest', `Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse`);
        }
      }
    }
    if (def.resource === 'events') {
      for (const f of ['firstTimestamp', 'lastTimestamp']) {
        const v = obj[f];
        if (v !== undefined && v !== null && (typeof v !== 'string' || !TIME.test(v))) throw new ApiError(400, 'BadRequest', `Event: ${f}: cannot parse ${JSON.stringify(v)}`);
      }
    }
    const why = this.o.validators?.[def.resource]?.(obj);
    if (why) throw new ApiError(422, 'Invalid', `${def.kind}.${def.group} "${(obj.metadata as { name?: string }).name}" is invalid: ${why}`);
    return obj;
  }

  private listBody(def: ResourceDef, ns: string | undefined, q: URLSearchParams) {
    const sel = and(parseFieldSelector(def, q.get('fieldSelector')), parseLabelSelector(q.get('labelSelector')));
    let items = this.store.list(def, ns, sel);
    let rv = this.store.rv;
    let start = 0;
    const cont = q.get('continue');
    if (cont) {
      const c = JSON.parse(Buffer.from(cont, 'base64url').toString()) as { rv: number; start: number };
      if (c.rv < this.store.oldestWatchable) throw new ApiError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.');
      ({ rv, start } = c);
    }
    const limit = Number(q.get('limit') ?? 0);
    let next: string | undefined;
    if (limit > 0 && items.length > start + limit) next = Buffer.from(JSON.stringify({ rv, start: start + limit })).toString('base64url');
    items = limit > 0 ? items.slice(start, start + limit) : items.slice(start);
    return { kind: `${def.kind}List`, apiVersion: def.group ? `${def.group}/${def.version}` : def.version, metadata: { resourceVersion: String(rv), ...(next ? { continue: next } : {}) }, items };
  }

  private watch(r: { def: ResourceDef; ns?: string }, q: URLSearchParams, res: http.ServerResponse): void {
    const { def, ns } = r;
    const sel = and(parseFieldSelector(def, q.get('fieldSelector')), parseLabelSelector(q.get('labelSelector')));
    const match = (o: K8sObject) => (ns === undefined || (o.metadata as { namespace?: string }).namespace === ns) && sel(o);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    const write = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
    const deliver = (e: WatchEvent) => {
      if (e.resource !== def.resource) return;
      const now = match(e.object);
      const before = e.old ? match(e.old) : false;
      if (e.type === 'MODIFIED') {
        if (before && now) write('MODIFIED', e.object);
        else if (now) write('ADDED', e.object);
        else if (before) write('DELETED', e.object);
      } else if (now) write(e.type, e.object);
    };
    const rvParam = q.get('resourceVersion');
    if (!rvParam || rvParam === '0') {
      for (const o of this.store.list(def, ns, sel)) write('ADDED', o);
    } else {
      try {
        for (const e of this.store.since(def.resource, Number(rvParam))) deliver(e);
      } catch (err) {
        write('ERROR', statusBody(err as ApiError));
        res.end();
        return;
      }
    }
    this.watches.add(res);
    const unsubscribe = this.store.subscribe(deliver);
    const timers: NodeJS.Timeout[] = [];
    if (q.get('allowWatchBookmarks') === 'true') {
      timers.push(setInterval(() => write('BOOKMARK', { kind: def.kind, apiVersion: def.group ? `${def.group}/${def.version}` : def.version, metadata: { resourceVersion: String(this.store.rv) } }), this.o.bookmarkIntervalMs ?? 1000));
    }
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    if (timeout > 0) timers.push(setTimeout(() => res.end(), timeout * 1000));
    res.on('close', () => {
      unsubscribe();
      timers.forEach((t) => clearTimeout(t));
      this.watches.delete(res);
    });
  }
}

function and(a: (o: K8sObject) => boolean, b: (o: K8sObject) => boolean) {
  return (o: K8sObject) => a(o) && b(o);
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new ApiError(400, 'BadRequest', 'request body is not JSON'));
      }
    });
  });
}
