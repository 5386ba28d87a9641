/**
 * @module aws emulator server
 * One loopback HTTP listener that speaks EC2's Query API (any POST outside
 * `/latest/`) and IMDSv2 (`/latest/…`) over one {@link SimCloud}: the same
 * truth behind both, as on a real instance.
 *
 * Each EC2 request goes through the steps of the SimProvider, in order:
 * recorded → IAM allow-list (403 `UnauthorizedOperation`) → random
 * throttling (`throttleRatio`, 503 `RequestLimitExceeded`) → the sim's
 * {@link FaultInjector} (`failNext`, token buckets) → latency (real timers:
 * this is a server) → the action on the cloud → `onMutate` after a
 * successful change. Errors use EC2's envelope and statuses and every
 * response carries `x-amzn-requestid` (cloud-apis.md §1.4).
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudError, IpamError } from '../../errors.js';
import { MUTATING_ACTIONS, type SimAction } from '../../sim/actions.js';
import type { SimCloud } from '../../sim/cloud.js';
import { FaultInjector } from '../../sim/faults.js';
import { DEFAULT_LATENCY } from '../../sim/latency.js';
import { Prng } from '../../sim/prng.js';
import type { ActionContext, PrefixShortageCode } from './context.js';
import { describeInstanceTypes, describeInstances, describeNetworkInterfaces, describeSubnets } from './describe.js';
import { ImdsService } from './imds.js';
import * as m from './mutate.js';
import { QueryError, QueryParams } from './query.js';
import { errorXml, responseXml } from './xml.js';

type Handler = (ctx: ActionContext, p: QueryParams) => string;

const ACTIONS: Readonly<Record<string, Handler>> = {
  DescribeInstances: describeInstances,
  DescribeInstanceTypes: describeInstanceTypes,
  DescribeNetworkInterfaces: describeNetworkInterfaces,
  DescribeSubnets: describeSubnets,
  CreateNetworkInterface: m.createNetworkInterface,
  AttachNetworkInterface: m.attachNetworkInterface,
  DetachNetworkInterface: m.detachNetworkInterface,
  DeleteNetworkInterface: m.deleteNetworkInterface,
  ModifyNetworkInterfaceAttribute: m.modifyNetworkInterfaceAttribute,
  AssignPrivateIpAddresses: m.assignPrivateIpAddresses,
  UnassignPrivateIpAddresses: m.unassignPrivateIpAddresses,
  CreateTags: m.createTags,
  DeleteTags: m.deleteTags,
};

/** The EC2 actions the emulator answers. */
export const EMULATED_EC2_ACTIONS: readonly string[] = Object.keys(ACTIONS);

export interface AwsEmulatorOptions {
  cloud: SimCloud;
  /** The instance IMDS answers for (see `SimCloud.seedNode`). */
  instanceId: string;
  /** Loopback only (default 127.0.0.1). */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Shared with tests: `failNext`, token buckets. Default: a fresh injector. */
  faults?: FaultInjector;
  /** Fraction of EC2 requests answered 503 RequestLimitExceeded (0-1, default 0). */
  throttleRatio?: number;
  /** Seed of the throttling dice (default 1), so a storm replays the same way. */
  seed?: number;
  /** Multiplies the sim's documented per-action latencies (default 0: instantaneous). */
  latencyScale?: number;
  /** How far IMDS lags EC2, ms (default 0). */
  imdsDelayMs?: number;
  allowImdsV1?: boolean;
  prefixShortage?: PrefixShortageCode;
  /** IAM allow-list: any other action is refused with 403 UnauthorizedOperation. Default: all allowed. */
  allowedActions?: Iterable<string>;
  /** After each successful mutating action (persist the cloud here). Must not throw. */
  onMutate?: (action: string) => void;
}

export interface EmulatorRequest {
  action: string;
  status: number;
  /** EC2 error code, or undefined on success. */
  code?: string;
  /** `amz-sdk-invocation-id`: the same for every retry of one SDK call. */
  invocationId?: string;
  /** From `amz-sdk-request: attempt=N; max=M`. */
  attempt?: number;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

function statusFor(err: CloudError): number {
  switch (err.code) {
    case 'CLOUD_THROTTLED':
      return 503;
    case 'CLOUD_UNAUTHORIZED':
      return 403;
    case 'CLOUD_UNAVAILABLE':
      return err.cloudCode === 'Unavailable' ? 503 : 500;
    default:
      return 400;
  }
}

/** The cloud's own message, without the `provider operation: code:` prefix CloudError adds. */
function rawMessage(err: CloudError): string {
  const prefix = `${err.provider} ${err.operation}: ${err.cloudCode}: `;
  return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
}

export class AwsEmulator {
  readonly imds: ImdsService;
  readonly faults: FaultInjector;
  readonly requests: EmulatorRequest[] = [];
  private readonly ctx: ActionContext;
  private readonly prng: Prng;
  private throttleRatio: number;
  private allowed: Set<string> | undefined;
  private server: http.Server | undefined;
  private port = 0;
  private host: string;

  private constructor(private readonly o: AwsEmulatorOptions) {
    this.host = o.host ?? '127.0.0.1';
    if (!LOOPBACK.test(this.host)) throw new RangeError(`the emulator listens on loopback only, not ${this.host}`);
    this.faults = o.faults ?? new FaultInjector({ clock: { now: Date.now }, provider: 'aws' });
    this.imds = new ImdsService({ cloud: o.cloud, instanceId: o.instanceId, delayMs: o.imdsDelayMs ?? 0, allowV1: o.allowImdsV1 ?? false });
    this.ctx = { cloud: o.cloud, clientTokens: new Map(), prefixShortage: o.prefixShortage ?? 'InsufficientCidrBlocks' };
    this.prng = new Prng(o.seed ?? 1);
    this.throttleRatio = 0;
    this.setThrottleRatio(o.throttleRatio ?? 0);
    this.allowed = o.allowedActions ? new Set(o.allowedActions) : undefined;
  }

  /** Starts listening; resolves once the port is bound. */
  static async start(o: AwsEmulatorOptions): Promise<AwsEmulator> {
    const emu = new AwsEmulator(o);
    await emu.listen(o.port ?? 0);
    return emu;
  }

  get cloud(): SimCloud {
    return this.o.cloud;
  }

  /** `http://127.0.0.1:PORT`: both AWS_EC2_ENDPOINT and AWS_EC2_METADATA_SERVICE_ENDPOINT. */
  get endpoint(): string {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  get instanceId(): string {
    return this.o.instanceId;
  }

  /** Answers this fraction of EC2 requests with 503 RequestLimitExceeded (e.g. 0.3 for a storm). */
  setThrottleRatio(ratio: number): void {
    if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`throttle ratio must be within 0..1, got ${ratio}`);
    this.throttleRatio = ratio;
  }

  /** Restricts the caller to these actions (an IAM policy); undefined allows everything. */
  setAllowedActions(actions: Iterable<string> | undefined): void {
    this.allowed = actions ? new Set(actions) : undefined;
  }

  setPrefixShortage(code: PrefixShortageCode): void {
    this.ctx.prefixShortage = code;
  }

  /** EC2 requests received per action (including refused ones). */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.requests) out[r.action] = (out[r.action] ?? 0) + 1;
    return out;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  private listen(port: number): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.route(req, Buffer.concat(chunks).toString('utf8')).then(
          (r) => {
            res.writeHead(r.status, r.headers);
            res.end(req.method === 'HEAD' ? undefined : r.body);
          },
          () => {
            res.writeHead(500, { 'content-type': 'text/plain' });
            res.end('emulator failure');
          },
        );
      });
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => {
        this.port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private async route(req: http.IncomingMessage, body: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const url = (req.url ?? '/').replace(/\/{2,}/g, '/');
    if (url.startsWith('/latest/') || url === '/latest') return this.imds.handle(req.method ?? 'GET', url, req.headers);
    if (req.method !== 'POST') return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not an EC2 or IMDS path' };
    return this.ec2(req, body);
  }

  private async ec2(req: http.IncomingMessage, body: string) {
    const requestId = randomUUID();
    const p = new QueryParams(body);
    const action = p.action;
    const rec: EmulatorRequest = { action, status: 200 };
    const inv = req.headers['amz-sdk-invocation-id'];
    if (typeof inv === 'string') rec.invocationId = inv;
    const attempt = /attempt=(\d+)/.exec(String(req.headers['amz-sdk-request'] ?? ''));
    if (attempt) rec.attempt = Number(attempt[1]);
    this.requests.push(rec);
    const reply = (status: number, xml: string) => {
      rec.status = status;
      return { status, headers: { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId, server: 'AmazonEC2' }, body: xml };
    };
    const fail = (status: number, code: string, message: string) => {
      rec.code = code;
      return reply(status, errorXml(code, message, requestId));
    };
    try {
      if (p.version !== '2016-11-15') return fail(400, 'NoSuchVersion', `An invalid or unsupported API version ${p.version || '(none)'} was specified`);
      const handler = ACTIONS[action];
      if (!handler) return fail(400, 'InvalidAction', `The action ${action || '(none)'} is not valid for this web service.`);
      if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256')) {
        return fail(401, 'AuthFailure', 'AWS was not able to validate the provided access credentials');
      }
      // Tagging at creation needs ec2:CreateTags as well, as in IAM.
      const denied = this.allowed && (!this.allowed.has(action) ? action : p.hasAny('TagSpecification') && !this.allowed.has('CreateTags') ? 'CreateTags' : undefined);
      if (denied) {
        return fail(403, 'UnauthorizedOperation', `You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/emulator is not authorized to perform: ec2:${denied}`);
      }
      if (this.throttleRatio > 0 && this.prng.next() < this.throttleRatio) return fail(503, 'RequestLimitExceeded', 'Request limit exceeded.');
      this.faults.check(action);
      const ms = Math.round((DEFAULT_LATENCY.actions[action as SimAction] ?? 0) * (this.o.latencyScale ?? 0));
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
      const out = handler(this.ctx, p);
      if (MUTATING_ACTIONS.has(action as SimAction)) this.o.onMutate?.(action);
      this.imds.observe();
      return reply(200, responseXml(action, requestId, out));
    } catch (err) {
      if (err instanceof QueryError) return fail(400, err.code, err.message);
      if (CloudError.isCloud(err)) return fail(statusFor(err), err.cloudCode, rawMessage(err));
      const code = IpamError.is(err) ? err.code : 'InternalError';
      return fail(500, 'InternalError', `An internal error has occurred (${code}: ${(err as Error).message})`);
    }
  }
}
