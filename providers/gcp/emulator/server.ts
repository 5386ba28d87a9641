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
 *
 * The listener, the body limit, the request log and the operations' timing
 * are the emulator kit's (providers/emulator-kit/), on the injected clock.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { HttpFront, type FrontReply, type FrontRequest } from '../../emulator-kit/http-front.js';
import { RequestLog } from '../../emulator-kit/request-log.js';
import { ThrottledError } from '../../errors.js';
import type { FaultInjector, SimCloud, SimClock } from '../../sim/index.js';
import { routeOf } from './compute-api.js';
import { NicFingerprints, type FingerprintMode } from './fingerprints.js';
import { GceView, type GceProject } from './gce-view.js';
import {
  bodyTooLarge,
  gceError,
  httpErrorOf,
  HttpReply,
  jsonReply,
  MAX_BODY,
  textReply,
  type ThrottleStyle,
} from './http.js';
import { metadataHeaders, metadataRefusal, metadataReply, type MetadataReply } from './metadata-api.js';
import { LaggedMetadata } from './metadata-lag.js';
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
  /**
   * How far the metadata server lags Compute, ms on `clock` (default 0): a new alias range shows in
   * `ip-aliases` this long after `instances.get` has it. Google publishes no figure (an estimate knob).
   */
  metadataDelayMs?: number;
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
  private front: HttpFront | undefined;
  private readonly throttle: ThrottleStyle;
  private readonly hooks = new Map<string, Array<() => unknown>>();
  private readonly recorded = new RequestLog<RecordedRequest>(MAX_RECORDED);
  private metadataInstance: string | undefined;
  /** What the metadata server knows, behind Compute by `metadataDelayMs`. */
  private readonly metadata: LaggedMetadata;
  private port = 0;
  private boundHost = '127.0.0.1';

  constructor(private readonly o: GceEmulatorOptions) {
    const project = {
      project: o.project ?? DEFAULT_PROJECT.project,
      projectNumber: o.projectNumber ?? DEFAULT_PROJECT.projectNumber,
    };
    this.clock = o.clock ?? WALL_CLOCK;
    this.view = new GceView(o.cloud, project, new NicFingerprints(o.fingerprints));
    this.metadata = new LaggedMetadata(this.view, this.clock, o.metadataDelayMs ?? 0);
    this.metadata.note();
    this.ops = new OperationStore(o.operations, this.clock, () => this.metadata.note());
    this.limits = { perNic: GCE_MAX_ALIAS_RANGES_PER_NIC, ...o.limits };
    const retryAfter = o.throttle?.retryAfterSeconds;
    const status = o.throttle?.status ?? 429;
    this.throttle = { status, ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}) };
    this.metadataInstance = o.metadataInstance;
  }

  get cloud(): SimCloud {
    return this.o.cloud;
  }

  get project(): GceProject {
    return this.view.p;
  }

  /** Listens on loopback; returns the port (0 picks a free one). */
  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    const handle = (req: FrontRequest) => this.handle(req);
    const options = { host, port, maxBodyBytes: MAX_BODY, tooLarge: bodyTooLarge, keepAliveTimeoutMs: 5_000, handle };
    this.front = await HttpFront.listen(options);
    this.port = this.front.port;
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
    const front = this.front;
    this.front = undefined;
    await front?.close();
  }

  /** Requests per API method (`instances.get`, `zoneOperations.wait`, `metadata`, …), including failed ones. */
  calls(): Record<string, number> {
    return this.recorded.countsByKey();
  }

  /** The last requests (up to 500), oldest first, with their bodies: what the SDK really sent. */
  requests(api?: string): RecordedRequest[] {
    return this.recorded.list((r) => api === undefined || r.api === api);
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

  private async handle(req: FrontRequest): Promise<FrontReply> {
    const url = new URL(req.url, 'http://emulator');
    const method = req.method;
    const at = this.clock.now();
    let api = 'unknown';
    let body = '';
    let reply: FrontReply | undefined;
    try {
      body = req.body();
      // Operations due by now land before anything is read, whatever the timers did.
      this.ops.settle();
      if (url.pathname.startsWith('/computeMetadata/')) {
        api = 'metadata';
        reply = this.serveMetadata(req.headers, url);
        return reply;
      }
      const route = routeOf(method, url.pathname);
      if (!route) throw gceError(404, 'notFound', `Unknown Compute API path ${method} ${url.pathname}`);
      api = route.api;
      this.recorded.count(api);
      const hook = this.hooks.get(api)?.shift();
      if (hook) await hook();
      this.o.faults?.check(api);
      if (this.o.throttleRatio && Math.random() < this.o.throttleRatio) {
        const message = 'Quota exceeded (emulated throttling storm)';
        throw new ThrottledError({ provider: 'gcp', operation: api, cloudCode: 'rateLimitExceeded', message });
      }
      this.checkAuth(req.headers);
      const deps = {
        view: this.view,
        ops: this.ops,
        limits: this.limits,
        ...(this.o.faults ? { faults: this.o.faults } : {}),
        ...(this.o.onMutate ? { onMutate: this.o.onMutate } : {}),
      };
      const out = await route.run(deps, { method, path: url.pathname, query: url.searchParams, body });
      reply = jsonReply(200, out);
      return reply;
    } catch (err) {
      const e = httpErrorOf(err, this.throttle);
      reply = jsonReply(e.status, e.body, e.headers);
      return reply;
    } finally {
      this.metadata.note();
      const status = reply?.status ?? 500;
      this.recorded.push({ api, method, path: url.pathname, query: url.search, body, status, at });
    }
  }

  private checkAuth(headers: IncomingHttpHeaders): void {
    const auth = headers.authorization ?? '';
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

  private serveMetadata(headers: IncomingHttpHeaders, url: URL): FrontReply {
    this.recorded.count('metadata');
    const refused = metadataRefusal(headers, { refuseForwardedFor: this.o.refuseForwardedFor ?? true });
    if (refused) return metadataAnswer(refused);
    this.o.faults?.check('metadata');
    const nodes = this.view.nodes();
    const n = this.metadataInstance === undefined ? nodes[0] : nodes.find((x) => x.name === this.metadataInstance);
    if (!n) return textReply(503, 'no instance to describe\n', { 'metadata-flavor': 'Google' });
    const known = this.metadata.tree(n);
    return metadataAnswer(metadataReply(this.view, n, url.pathname, url.searchParams, known));
  }
}

function metadataAnswer(r: MetadataReply): FrontReply {
  const length = Buffer.byteLength(r.body);
  const headers = { 'content-type': r.contentType, 'content-length': length, ...metadataHeaders(r.body) };
  return { status: r.status, headers, body: r.body };
}
