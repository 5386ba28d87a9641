/**
 * @module fake Kubernetes API server
 * A small HTTP(S) server on 127.0.0.1 that implements, as kube-apiserver
 * does, the few endpoints vpc-ipam uses, so tests drive the real
 * `@kubernetes/client-node` against it. Each behaviour cites the Kubernetes
 * source it follows, in the module that has it:
 * - fake/store.ts: etcd-like storage, resourceVersions, 409/404 Status
 *   bodies, selectors, the registry strategies of each resource;
 * - fake/registry.ts: create/update/patch (resourceVersion preconditions for
 *   PUT and PATCH, 422 for a Lease PUT without one, decoder strictness);
 * - fake/deletion.ts: graceful Pod deletion and finalizers (MODIFIED with
 *   `deletionTimestamp`, then DELETED), with a kubelet stand-in;
 * - fake/validation.ts: names, Leases, core/v1 Events, list options (422);
 * - fake/crd.ts: podsubnetconfigs and nodeaddresspools pruned and
 *   validated per their CRDs; {@link FakeApiServer.notInstalled} names CRDs
 *   that are not installed (404 on their paths, missing from discovery:
 *   fake/routes.ts), {@link FakeApiServer.crdInstalled} = false all of them;
 * - fake/gc.ts: the garbage collector, for dependents of deleted Nodes;
 * - fake/reads.ts: list (limit/continue) and watch (410, bookmarks,
 *   timeoutSeconds);
 * - fake/patch.ts: merge, strategic merge and JSON patch;
 * - fake/auth.ts: bearer tokens, and a projected token file that
 *   {@link FakeApiServer.rotateToken} rotates (the old token gets 401);
 *   `auth.issue()`/`auth.revoke()`: a client's own token, refused once its
 *   ServiceAccount is deleted (open watches keep streaming);
 * - fake/tls.ts: TLS with a CA made at start (`tls: true`);
 * - fake/faults.ts: 429 with Retry-After, 5xx, slow answers, per path,
 *   counted ({@link FakeApiServer.faults}).
 * Outages: `unavailable` (every request 503), `resetConnections` (sockets
 * destroyed before an answer), `blackholeWatches` (a watch that never says
 * anything again), and {@link FakeApiServer.refuseConnections} (nothing
 * listens: ECONNREFUSED) until {@link FakeApiServer.acceptConnections}
 * listens on the same port.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { TokenAuth } from './fake/auth.js';
import type { ServedCrd } from './fake/crd.js';
import { deleteObject, KubeletStandIn, type DeleteOptions } from './fake/deletion.js';
import { Faults, internalError } from './fake/faults.js';
import { GarbageCollectorStandIn } from './fake/gc.js';
import { PatchError } from './fake/patch.js';
import { listBody, serveWatch } from './fake/reads.js';
import { Registry } from './fake/registry.js';
import { resolve, type Route } from './fake/routes.js';
import { ApiError, crdName, RESOURCES, statusBody, Store, type K8sObject, type ResourceDef } from './fake/store.js';
import { makeTestPki, type TestPki } from './fake/tls.js';

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  /** The bearer token the request carried (to see which one a client used after a rotation). */
  token?: string;
}

export interface FakeApiServerOptions {
  token?: string;
  /** How often open watches with allowWatchBookmarks get a BOOKMARK. */
  bookmarkIntervalMs?: number;
  /** The CRDs serving the custom resources (pruning and schema: fake/crd.ts `loadCrd`). */
  crds?: ServedCrd[];
  /** Per-resource validators; return an error message to refuse (422). */
  validators?: Record<string, (obj: K8sObject) => string | undefined>;
  /** Serve HTTPS with a fresh CA (true), or with this PKI. */
  tls?: boolean | TestPki;
  /** How long the kubelet stand-in takes to confirm a graceful Pod deletion; undefined: never. Default: the grace. */
  podTerminationMs?: (graceSeconds: number) => number | undefined;
}

const NOT_FOUND = '404 page not found\n';

export class FakeApiServer {
  readonly store = new Store();
  readonly requests: RequestRecord[] = [];
  /** When true every request gets 503 (an API server outage). */
  unavailable = false;
  /** When true every request's connection is destroyed before an answer (ECONNRESET / socket hang up). */
  resetConnections = false;
  /** When true a new watch gets its 200 and then nothing, ever (a half-open connection): no event, no end. */
  blackholeWatches = false;
  /** CRDs (`<plural>.<group>`) not installed: their paths 404, their resources are not in discovery. */
  readonly notInstalled = new Set<string>();
  /** Other projects' CRDs (the ENIConfig's) that this cluster does not have: served only when `crds` gives them. */
  private readonly foreignAbsent: Set<string>;
  /** Injected failures and delays, per path (fake/faults.ts). */
  readonly faults = new Faults();
  readonly auth: TokenAuth;
  /** The serving PKI when TLS is on (`ca` is what the service account's ca.crt holds). */
  readonly pki: TestPki | undefined;
  private readonly registry: Registry;
  private readonly kubelet: KubeletStandIn;
  readonly gc: GarbageCollectorStandIn;
  private server: http.Server | undefined;
  private readonly watches = new Set<http.ServerResponse>();
  private port = 0;

  constructor(private readonly o: FakeApiServerOptions = {}) {
    this.auth = new TokenAuth(o.token ?? 'fake-token');
    this.pki = o.tls === true ? makeTestPki() : o.tls || undefined;
    this.registry = new Registry({ store: this.store, crds: o.crds, validators: o.validators });
    const given = new Set((o.crds ?? []).map((c) => c.name));
    const foreign = RESOURCES.filter((d) => d.custom && d.group !== 'vpc-ipam.io').map(crdName);
    this.foreignAbsent = new Set(foreign.filter((n) => !given.has(n)));
    const terminationMs = o.podTerminationMs ?? ((s: number) => s * 1000);
    this.kubelet = new KubeletStandIn({ store: this.store, now: () => Date.now() }, terminationMs);
    const remove = (def: ResourceDef, ns: string | undefined, name: string) =>
      void deleteObject(this.deletion, def, ns, name, { propagationPolicy: 'Background' });
    this.gc = new GarbageCollectorStandIn({ store: this.store, remove });
  }

  /** False: no custom resource is served (every CRD deleted, or never applied); true: all of them again. */
  get crdInstalled(): boolean {
    return this.notInstalled.size === 0;
  }

  set crdInstalled(on: boolean) {
    this.notInstalled.clear();
    if (!on) for (const d of RESOURCES.filter((r) => r.custom)) this.notInstalled.add(crdName(d));
  }

  /** The token a client must send now. */
  get token(): string {
    return this.auth.current;
  }

  get url(): string {
    return `${this.pki ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  get listenPort(): number {
    return this.port;
  }

  async start(): Promise<this> {
    await this.listen(0);
    return this;
  }

  async stop(): Promise<void> {
    this.kubelet.stop();
    this.gc.stop();
    this.dropWatches();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** The API server goes away: open connections are cut and the port refuses new ones. The store is kept. */
  async refuseConnections(): Promise<void> {
    await this.stop();
  }

  /** Back on the same port (kubeconfigs written before still point here). */
  async acceptConnections(): Promise<void> {
    if (!this.server?.listening) await this.listen(this.port);
  }

  private async listen(port: number): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    const pki = this.pki;
    this.server = pki ? https.createServer({ key: pki.key, cert: pki.cert }, handler) : http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', resolve);
    });
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Ends every open watch stream (as an API server restart or a load balancer would). */
  dropWatches(): void {
    for (const w of this.watches) w.destroy();
    this.watches.clear();
  }

  get openWatches(): number {
    return this.watches.size;
  }

  /** A new token in the projected file (see {@link writeServiceAccount}); the old one is refused from now on. */
  rotateToken(o: { oldValidMs?: number } = {}): string {
    return this.auth.rotate(o);
  }

  /** Writes a kubeconfig for this server into `dir` (with `token`, default the current one) and returns its path. */
  writeKubeconfig(dir: string, token = this.token): string {
    const file = path.join(dir, 'kubeconfig');
    const cluster = this.pki
      ? { server: this.url, 'certificate-authority-data': Buffer.from(this.pki.ca).toString('base64') }
      : // client-node only speaks plain HTTP to a cluster marked insecure-skip-tls-verify.
        { server: this.url, 'insecure-skip-tls-verify': true };
    const kc = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster }],
      users: [{ name: 'fake', user: { token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
      'current-context': 'fake',
    };
    writeFileSync(file, JSON.stringify(kc));
    return file;
  }

  /**
   * What the kubelet mounts at /var/run/secrets/kubernetes.io/serviceaccount
   * (`token`, `ca.crt`, `namespace`), in `dir`; the token file follows every
   * {@link rotateToken}. Returns the in-cluster environment for this server.
   */
  writeServiceAccount(dir: string, namespace = 'kube-system'): Record<string, string> {
    if (!this.pki) throw new Error('the in-cluster path needs TLS: start the fake with { tls: true }');
    writeFileSync(path.join(dir, 'ca.crt'), this.pki.ca);
    writeFileSync(path.join(dir, 'namespace'), namespace);
    this.auth.projectTo(path.join(dir, 'token'));
    const port = String(this.port);
    return { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port, VPC_IPAM_SERVICEACCOUNT_DIR: dir };
  }

  /** Requests matching method and a path prefix/regexp (for tests). */
  count(method: string, p: string | RegExp): number {
    const matches = (path: string) => (typeof p === 'string' ? path === p : p.test(path));
    return this.requests.filter((r) => r.method === method && matches(r.path)).length;
  }

  // ---- test helpers working on the store directly ----
  def(resource: string): ResourceDef {
    const d = RESOURCES.find((r) => r.resource === resource);
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

  /** Removes the object from storage at once (etcd's view: no grace period, no finalizers). */
  remove(resource: string, name: string, ns?: string): void {
    this.store.delete(this.def(resource), ns, name);
  }

  /** A DELETE as a client sends it: graceful for Pods, held by finalizers (fake/deletion.ts). */
  requestDelete(resource: string, name: string, ns?: string, opts: DeleteOptions = {}): K8sObject {
    return deleteObject(this.deletion, this.def(resource), ns, name, opts);
  }

  private get deletion() {
    return {
      store: this.store,
      now: () => Date.now(),
      onGraceful: (def: ResourceDef, ns: string | undefined, name: string, uid: string, grace: number) =>
        this.kubelet.schedule(def, ns, name, uid, grace),
    };
  }

  // ---- HTTP ----
  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const query = Object.fromEntries(url.searchParams);
    const method = req.method ?? 'GET';
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const contentType = req.headers['content-type'];
    this.requests.push({ method, path: url.pathname, query, contentType, ...(token ? { token } : {}) });
    if (this.resetConnections) return void req.socket.destroy();
    try {
      if (this.unavailable) {
        throw new ApiError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request');
      }
      this.auth.check(req.headers.authorization);
      const watch = method === 'GET' && url.searchParams.get('watch') === 'true';
      const fault = this.faults.take(method, url.pathname, watch);
      if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault?.reply) {
        res.writeHead(fault.reply.status, fault.reply.headers);
        return void res.end(fault.reply.body);
      }
      const r = resolve(url.pathname, (d) => !this.notInstalled.has(crdName(d)) && !this.foreignAbsent.has(crdName(d)));
      if (r.kind === 'unserved') {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        return void res.end(NOT_FOUND);
      }
      if (r.kind === 'discovery') return send(res, 200, r.body);
      const body = method === 'GET' ? undefined : await readBody(req);
      if (watch && r.route.name === undefined) {
        const o = {
          store: this.store,
          bookmarkIntervalMs: this.o.bookmarkIntervalMs ?? 1000,
          blackhole: this.blackholeWatches,
          open: this.watches,
        };
        return serveWatch(o, r.route.def, r.route.ns, url.searchParams, res);
      }
      const out = this.dispatch(method, r.route, url.searchParams, body, req.headers['content-type'] ?? '');
      send(res, out.status, out.body, out.warning);
    } catch (err) {
      const e =
        err instanceof ApiError
          ? err
          : err instanceof PatchError
            ? new ApiError(err.status, 'Invalid', err.message)
            : internalError((err as Error).message);
      send(res, e.status, statusBody(e));
    }
  }

  private dispatch(method: string, r: Route, q: URLSearchParams, body: unknown, ctype: string) {
    const { def, ns, name, sub } = r;
    if (name === undefined) {
      if (method === 'GET') return { status: 200, body: listBody(this.store, def, ns, q) };
      if (method === 'POST') return this.registry.create(def, ns, body);
      throw new ApiError(405, 'MethodNotAllowed', `${method} not allowed on a collection`);
    }
    if (method === 'GET') return { status: 200, body: this.store.get(def, ns, name) };
    if (method === 'DELETE') {
      const opts = deleteOptions(body, q);
      return { status: 200, body: deleteObject(this.deletion, def, ns, name, opts) };
    }
    if (method === 'PUT') return this.registry.put(def, ns, name, sub, body);
    if (method === 'PATCH') return this.registry.patch(def, ns, name, sub, body, ctype.split(';')[0]!.trim());
    throw new ApiError(405, 'MethodNotAllowed', `${method} not allowed`);
  }
}

/** DeleteOptions from the body (client-node sends them there) or the query (kubectl's --grace-period). */
function deleteOptions(body: unknown, q: URLSearchParams): DeleteOptions {
  const b = (body ?? {}) as DeleteOptions;
  const grace = q.get('gracePeriodSeconds');
  const policy = q.get('propagationPolicy');
  return {
    ...b,
    ...(grace !== null ? { gracePeriodSeconds: Number(grace) } : {}),
    ...(policy !== null ? { propagationPolicy: policy } : {}),
  };
}

function send(res: http.ServerResponse, status: number, body: unknown, warning?: string): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  };
  if (warning) headers.Warning = warning;
  res.writeHead(status, headers);
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
