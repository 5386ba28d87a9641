/**
 * @module gce emulator server
 * {@link GceEmulator}: GCE Compute REST and the metadata server of one node
 * on a single loopback listener, over a {@link SimCloud} shared with
 * everything else (one truth). Point the real SDK at it with
 * `{ apiEndpoint: '127.0.0.1', port, protocol: 'http', authClient }` and the
 * metadata client with `GCE_METADATA_HOST=127.0.0.1:<port>`.
 *
 * Each Compute request is, in order: counted under its API method name,
 * handed to a one-shot interleave hook if a test set one (a "second
 * writer"), checked by the FaultInjector under the same name (injected
 * failures, token-bucket throttling as 429/403), checked for a bearer token,
 * then served. Operation completion is checked under
 * `operation.updateNetworkInterface`, so a test can make an accepted
 * operation fail. Metadata requests are refused first when GCE would refuse
 * them (X-Forwarded-For, no Metadata-Flavor), then go through the injector
 * as `metadata`.
 *
 * Every strict behaviour is on by default and has a knob: operation timing
 * (`operations`, on `clock`), `fingerprints`, alias `limits`,
 * `refuseForwardedFor`. docs/sim-cloud.md lists them with their sources.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ThrottledError } from '../../errors.js';
import type { FaultInjector, SimCloud, SimClock } from '../../sim/index.js';
import { routeOf } from './compute-api.js';
import { NicFingerprints, type FingerprintMode } from './fingerprints.js';
import { GceView, type GceProject } from './gce-view.js';
import { gceError, httpErrorOf, HttpReply, readBody, sendJson, sendText, type ThrottleStyle } from './http.js';
import { metadataHeaders, metadataRefusal, metadataReply, type MetadataReply } from './metadata-api.js';
import { OperationStore, WALL_CLOCK, type OperationTiming } from './operations.js';
import { GCE_MAX_ALIAS_RANGES_PER_NIC } from './seed.js';
import type { AliasLimits } from './update-nic.js';

export interface GceEmulatorOptions {
  cloud: SimCloud;
  project?: string;
  projectNumber?: string;
  faults?: FaultInjector;
  /** Runs after each change to the cloud (persist it here). */
  onMutate?: () => void;
  /** How long zone operations take; default GCE-like (operations.ts). */
  operations?: OperationTiming;
  /** Operation timing and timestamps run on it; default the wall clock. Tests pass a VirtualClock. */
  clock?: SimClock;
  /** Default `per-update`: every completed update issues a new NIC fingerprint (fingerprints.ts). */
  fingerprints?: FingerprintMode;
  /** Default: 150 alias ranges per NIC, no per-network quota (seed.ts). */
  limits?: Partial<AliasLimits>;
  /** Metadata server: refuse requests with `X-Forwarded-For` (403), as GCE does. Default true. */
  refuseForwardedFor?: boolean;
  /** How throttling looks; default 429 without Retry-After. */
  throttle?: Partial<ThrottleStyle>;
  /** When set, Compute requests must carry exactly `Authorization: Bearer <token>`; else any bearer token passes. */
  requiredToken?: string;
  /** The node the metadata server describes (instance name); default the first one. */
  metadataInstance?: string;
  /** Fraction (0-1) of Compute calls answered as throttled, at random: a throttling storm for demos. */
  throttleRatio?: number;
}

export interface RecordedRequest {
  api: string;
  method: string;
  path: string;
  query: string;
  body: string;
  status: number;
  /** Emulator clock ms when the request arrived. */
  at: number;
}

const MAX_RECORDED = 500;
export const DEFAULT_PROJECT: GceProject = { project: 'sim-project', projectNumber: '123456789012' };

export class GceEmulator {
  readonly view: GceView;
  readonly ops: OperationStore;
  readonly limits: AliasLimits;
  private readonly clock: SimClock;
  private readonly server: Server;
  private readonly throttle: ThrottleStyle;
  private readonly counts = new Map<string, number>();
  private readonly hooks = new Map<string, Array<() => unknown>>();
  private readonly recorded: RecordedRequest[] = [];
  private metadataInstance: string | undefined;
  private port = 0;
  private boundHost = '127.0.0.1';

  constructor(private readonly o: GceEmulatorOptions) {
    const project = {
      project: o.project ?? DEFAULT_PROJECT.project,
      projectNumber: o.projectNumber ?? DEFAULT_PROJECT.projectNumber,
    };
    this.clock = o.clock ?? WALL_CLOCK;
    this.view = new GceView(o.cloud, project, new NicFingerprints(o.fingerprints));
    this.ops = new OperationStore(o.operations, this.clock);
    this.limits = { perNic: GCE_MAX_ALIAS_RANGES_PER_NIC, ...o.limits };
    const retryAfter = o.throttle?.retryAfterSeconds;
    const status = o.throttle?.status ?? 429;
    this.throttle = { status, ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}) };
    this.metadataInstance = o.metadataInstance;
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 5_000;
  }

  get cloud(): SimCloud {
    return this.o.cloud;
  }

  get project(): GceProject {
    return this.view.p;
  }

  /** Listens on loopback; returns the port (0 picks a free one). */
  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.boundHost = host.includes(':') ? `[${host}]` : host;
    return this.port;
  }

  /** `http://<host>:<port>`, for `GCP_COMPUTE_ENDPOINT`. */
  get url(): string {
    return `http://${this.host}`;
  }

  /** `<host>:<port>`, for `GCE_METADATA_HOST`. */
  get host(): string {
    return `${this.boundHost}:${this.port}`;
  }

  /** Finishes pending operations (so their changes land and are saved), then closes. */
  async close(): Promise<void> {
    this.ops.flush();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Requests per API method (`instances.get`, `zoneOperations.wait`, `metadata`, …), including failed ones. */
  calls(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  /** The last requests (up to 500), oldest first, with their bodies: what the SDK really sent. */
  requests(api?: string): RecordedRequest[] {
    return this.recorded.filter((r) => api === undefined || r.api === api);
  }

  /**
   * Runs `fn` once, right before the next request of `api` is handled (and
   * awaits it): e.g. another writer changing nic0 between a client's GET
   * and its PATCH. Hooks for one method run one per request, in order.
   */
  interleave(api: string, fn: () => unknown): void {
    const q = this.hooks.get(api) ?? [];
    q.push(fn);
    this.hooks.set(api, q);
  }

  setMetadataInstance(name: string): void {
    this.metadataInstance = name;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    const at = this.clock.now();
    let api = 'unknown';
    let body = '';
    let status = 500;
    try {
      body = await readBody(req);
      // Operations due by now land before anything is read, whatever the timers did.
      this.ops.settle();
      if (url.pathname.startsWith('/computeMetadata/')) {
        api = 'metadata';
        status = this.serveMetadata(req, res, url);
        return;
      }
      const route = routeOf(method, url.pathname);
      if (!route) throw gceError(404, 'notFound', `Unknown Compute API path ${method} ${url.pathname}`);
      api = route.api;
      this.counts.set(api, (this.counts.get(api) ?? 0) + 1);
      const hook = this.hooks.get(api)?.shift();
      if (hook) await hook();
      this.o.faults?.check(api);
      if (this.o.throttleRatio && Math.random() < this.o.throttleRatio) {
        const message = 'Quota exceeded (emulated throttling storm)';
        throw new ThrottledError({ provider: 'gcp', operation: api, cloudCode: 'rateLimitExceeded', message });
      }
      this.checkAuth(req);
      const deps = {
        view: this.view,
        ops: this.ops,
        limits: this.limits,
        ...(this.o.faults ? { faults: this.o.faults } : {}),
        ...(this.o.onMutate ? { onMutate: this.o.onMutate } : {}),
      };
      const out = await route.run(deps, { method, path: url.pathname, query: url.searchParams, body });
      status = 200;
      sendJson(res, 200, out);
    } catch (err) {
      const reply = httpErrorOf(err, this.throttle);
      status = reply.status;
      if (!res.headersSent) sendJson(res, reply.status, reply.body, reply.headers);
    } finally {
      this.record({ api, method, path: url.pathname, query: url.search, body, status, at });
    }
  }

  private checkAuth(req: IncomingMessage): void {
    const auth = req.headers.authorization ?? '';
    const want = this.o.requiredToken;
    const ok = want !== undefined ? auth === `Bearer ${want}` : /^Bearer \S+$/.test(auth);
    if (!ok) {
      const message =
        'Request is missing required authentication credential. ' +
        'Expected OAuth 2 access token, login cookie or other valid authentication credential.';
      const where = { location: 'Authorization', locationType: 'header' };
      throw new HttpReply(401, {
        error: {
          code: 401,
          message,
          errors: [{ message: 'Login Required.', domain: 'global', reason: 'required', ...where }],
          status: 'UNAUTHENTICATED',
        },
      });
    }
  }

  private serveMetadata(req: IncomingMessage, res: ServerResponse, url: URL): number {
    this.counts.set('metadata', (this.counts.get('metadata') ?? 0) + 1);
    const refused = metadataRefusal(req.headers, { refuseForwardedFor: this.o.refuseForwardedFor ?? true });
    if (refused) return this.sendMetadata(res, refused);
    this.o.faults?.check('metadata');
    const nodes = this.view.nodes();
    const n = this.metadataInstance === undefined ? nodes[0] : nodes.find((x) => x.name === this.metadataInstance);
    if (!n) {
      sendText(res, 503, 'no instance to describe\n', { 'metadata-flavor': 'Google' });
      return 503;
    }
    return this.sendMetadata(res, metadataReply(this.view, n, url.pathname, url.searchParams));
  }

  private sendMetadata(res: ServerResponse, r: MetadataReply): number {
    const length = Buffer.byteLength(r.body);
    res.writeHead(r.status, { 'content-type': r.contentType, 'content-length': length, ...metadataHeaders(r.body) });
    res.end(r.body);
    return r.status;
  }

  private record(r: RecordedRequest): void {
    this.recorded.push(r);
    if (this.recorded.length > MAX_RECORDED) this.recorded.shift();
  }
}
