/**
 * @module aws emulator server
 * One loopback HTTP listener that speaks EC2's Query API (any POST outside
 * `/latest/`) and IMDSv2 (`/latest/…`) over one {@link SimCloud}: the same
 * truth behind both, as on a real instance.
 *
 * Each EC2 request goes through the steps of the SimProvider, in order:
 * recorded → IAM: the caller's policy, for every resource the request
 * touches (403 `UnauthorizedOperation` with an encoded message,
 * authorization.ts) → random throttling (`throttleRatio`, 503
 * `RequestLimitExceeded`) → the account's per-API token buckets at EC2's
 * documented sizes (throttle.ts) → `DryRun` (412 `DryRunOperation`, no
 * change) → the sim's {@link FaultInjector} (`failNext`, injected buckets)
 * → latency (on `clock`, emulator-kit/latency.ts) → due attaches/detaches
 * complete → eventual consistency (a still-propagating ENI may be NotFound,
 * consistency.ts) → the action on the cloud → `onMutate` after a successful
 * change → a response lost on the way back, if a test asked for one
 * ({@link AwsEmulator.dropResponses}). Errors use EC2's envelope and
 * statuses and every response carries `x-amzn-requestid` (cloud-apis.md §1.4).
 *
 * `realism` (realism.ts) sets how unkind the emulator is: asynchronous
 * attach/detach, the eventual-consistency window, IMDS lag, the wording of
 * "no room", the token buckets, security-group checks. All of it runs on
 * `clock`, which tests share with the adapter to go through seconds of
 * emulated time at once. Emulators over one cloud share its account
 * (account.ts): buckets, client tokens and security groups. The listener,
 * the request log and the latency come from the emulator kit
 * (providers/emulator-kit/), shared with the Azure and GCE emulators.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Clock } from '../../clock.js';
import type { EmulatedNode } from '../../emulator-kit/emulated-node.js';
import { HttpFront, type FrontReply, type FrontRequest } from '../../emulator-kit/http-front.js';
import { injectLatency, scaledLatencyMs } from '../../emulator-kit/latency.js';
import { RequestLog } from '../../emulator-kit/request-log.js';
import { withSleep } from '../../emulator-kit/system-clock.js';
import { MUTATING_ACTIONS, type SimAction } from '../../sim/actions.js';
import type { SimCloud } from '../../sim/cloud.js';
import { FaultInjector } from '../../sim/faults.js';
import { DEFAULT_LATENCY } from '../../sim/latency.js';
import { Prng } from '../../sim/prng.js';
import type { TimeSource } from '../../sim/time.js';
import { Ec2Account } from './account.js';
import { ACTIONS, errorAnswer } from './actions.js';
import { answerDryRun, firstDenial, unauthorized } from './authorization.js';
import { ConsistencyWindow } from './consistency.js';
import type { ActionContext } from './context.js';
import { IamPolicy, type IamPolicyDocument } from './iam-policy.js';
import { authorizationRequests } from './iam-requests.js';
import { ImdsService } from './imds.js';
import { QueryParams } from './query.js';
import { INSTANT, type CapacityWording, type Ec2Realism } from './realism.js';
import { errorXml, responseXml } from './xml.js';

export { EMULATED_EC2_ACTIONS } from './actions.js';

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
  /** A fixed IMDS lag, ms; overrides `realism.imdsLagMs`. */
  imdsDelayMs?: number;
  allowImdsV1?: boolean;
  /** How unkind to be, over {@link INSTANT} (an instantly consistent EC2); `startEmulatedNode` uses EMULATE_REALISM. */
  realism?: Partial<Ec2Realism>;
  /**
   * The emulator's time (default the system clock): attach/detach delays, the consistency window, IMDS lag,
   * token buckets, and the injected latency when it can sleep (a time source alone waits on system timers).
   */
  clock?: TimeSource & { sleep?: Clock['sleep'] };
  /**
   * The caller's IAM policy (iam-policy.ts): what it does not allow, for any resource a request touches, is
   * refused with 403 UnauthorizedOperation. Default: everything allowed. `allowOnly([...])` for a plain list.
   */
  iamPolicy?: IamPolicyDocument;
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
  /** The request's `ClientToken` (the SDK fills one in for CreateNetworkInterface), if any. */
  clientToken?: string;
  /** The request said `DryRun=true`. */
  dryRun?: true;
  /** The action ran but its answer was never sent ({@link AwsEmulator.dropResponses}). */
  dropped?: true;
}

type Answer = FrontReply & { body: string };

export class AwsEmulator implements EmulatedNode {
  readonly imds: ImdsService;
  readonly faults: FaultInjector;
  /** Every EC2 request, oldest first (IMDS requests are counted by {@link ImdsService.requests}). */
  readonly requests: EmulatorRequest[];
  private readonly log = new RequestLog<EmulatorRequest>();
  private readonly clock: Clock;
  private readonly ctx: ActionContext;
  private readonly prng: Prng;
  private readonly consistency: ConsistencyWindow;
  private readonly drops = new Map<string, number>();
  private throttleRatio: number;
  private policy: IamPolicy | undefined;
  private front: HttpFront | undefined;
  private origin = '';

  private constructor(private readonly o: AwsEmulatorOptions) {
    this.requests = this.log.entries;
    const clock = withSleep(o.clock);
    this.clock = clock;
    const now = () => clock.now();
    const realism: Ec2Realism = { ...INSTANT, ...o.realism };
    if (o.imdsDelayMs !== undefined) realism.imdsLagMs = { min: o.imdsDelayMs, max: o.imdsDelayMs };
    this.faults = o.faults ?? new FaultInjector({ clock, provider: 'aws' });
    // Separate seeded dice per behaviour, so turning one on does not change what the others draw.
    const seed = o.seed ?? 1;
    const allowV1 = o.allowImdsV1 ?? false;
    const lagMs = realism.imdsLagMs;
    this.imds = new ImdsService({ cloud: o.cloud, instanceId: o.instanceId, lagMs, seed: seed + 1, allowV1, now });
    this.consistency = new ConsistencyWindow(now, seed + 2, realism.consistencyWindowMs, realism.notFoundRatio);
    const wordingDice = new Prng(seed + 3);
    this.ctx = {
      cloud: o.cloud,
      account: Ec2Account.of(o.cloud, clock),
      realism,
      now,
      changed: (id) => this.consistency.changed(id),
      dice: () => wordingDice.next(),
    };
    this.prng = new Prng(seed);
    this.throttleRatio = 0;
    this.setThrottleRatio(o.throttleRatio ?? 0);
    this.policy = o.iamPolicy ? IamPolicy.parse(o.iamPolicy) : undefined;
  }

  /** Starts listening; resolves once the port is bound. */
  static async start(o: AwsEmulatorOptions): Promise<AwsEmulator> {
    const emu = new AwsEmulator(o);
    const front = await HttpFront.listen({ host: o.host, port: o.port, handle: (req) => emu.route(req) });
    emu.front = front;
    emu.origin = front.origin;
    return emu;
  }

  get cloud(): SimCloud {
    return this.o.cloud;
  }

  /** `http://127.0.0.1:PORT`: both AWS_EC2_ENDPOINT and AWS_EC2_METADATA_SERVICE_ENDPOINT. */
  get endpoint(): string {
    return this.origin;
  }

  /** Variables that point ipamd at this emulator (the shape every emulated node has, emulator-kit). */
  get env(): Record<string, string> {
    const e = this.origin;
    return { VPC_IPAM_PROVIDER: 'aws', AWS_EC2_ENDPOINT: e, AWS_EC2_METADATA_SERVICE_ENDPOINT: e };
  }

  get instanceId(): string {
    return this.o.instanceId;
  }

  /** The instance IMDS describes (the {@link EmulatedNode} name for {@link instanceId}). */
  get instance(): string {
    return this.o.instanceId;
  }

  /** Answers this fraction of EC2 requests with 503 RequestLimitExceeded (e.g. 0.3 for a storm). */
  setThrottleRatio(ratio: number): void {
    if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`throttle ratio must be within 0..1, got ${ratio}`);
    this.throttleRatio = ratio;
  }

  /** Puts the caller under this IAM policy from the next request on; undefined allows everything. */
  setIamPolicy(policy: IamPolicyDocument | undefined): void {
    this.policy = policy ? IamPolicy.parse(policy) : undefined;
  }

  /** The knobs in force (a copy). */
  get realism(): Ec2Realism {
    return structuredClone(this.ctx.realism);
  }

  /** How "no room" is worded from now on, for /32 and prefix requests. */
  setCapacityWording(wording: CapacityWording): void {
    this.ctx.realism.capacityWording = wording;
  }

  /** What EC2 keeps per account, shared by every emulator over this cloud: buckets, client tokens, groups. */
  get account(): Ec2Account {
    return this.ctx.account;
  }

  /**
   * The next `count` `action` requests are carried out, then their connection is closed without an answer:
   * a response lost on the way, or a client timeout after EC2 did the work. The SDK retries such a request
   * (a network error) with the same ClientToken.
   */
  dropResponses(action: string, count = 1): void {
    this.drops.set(action, (this.drops.get(action) ?? 0) + count);
  }

  /** Changes attach/detach delays and the consistency window for later requests (IMDS: `imds.setLag`). */
  setRealism(r: Partial<Omit<Ec2Realism, 'imdsLagMs' | 'capacityWording'>>): void {
    Object.assign(this.ctx.realism, r);
    this.consistency.configure(this.ctx.realism.consistencyWindowMs, this.ctx.realism.notFoundRatio);
  }

  /** EC2 requests received per action (including refused ones). */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.requests) out[r.action] = (out[r.action] ?? 0) + 1;
    return out;
  }

  async close(): Promise<void> {
    const front = this.front;
    this.front = undefined;
    await front?.close();
  }

  private async route(req: FrontRequest): Promise<Answer> {
    const url = req.url.replace(/\/{2,}/g, '/');
    if (url.startsWith('/latest/') || url === '/latest') return this.imds.handle(req.method, url, req.headers);
    if (req.method !== 'POST')
      return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not an EC2 or IMDS path' };
    return this.ec2(req.headers, req.body());
  }

  private async ec2(headers: IncomingHttpHeaders, body: string): Promise<Answer> {
    const requestId = randomUUID();
    const p = new QueryParams(body);
    const action = p.action;
    const rec = this.record(headers, p);
    const reply = (status: number, xml: string) => {
      rec.status = status;
      const headers = { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId, server: 'AmazonEC2' };
      return { status, headers, body: xml };
    };
    const fail = (status: number, code: string, message: string) => {
      rec.code = code;
      return reply(status, errorXml(code, message, requestId));
    };
    try {
      if (p.version !== '2016-11-15') {
        const text = `An invalid or unsupported API version ${p.version || '(none)'} was specified`;
        return fail(400, 'NoSuchVersion', text);
      }
      const handler = ACTIONS[action];
      if (!handler) {
        return fail(400, 'InvalidAction', `The action ${action || '(none)'} is not valid for this web service.`);
      }
      if (!String(headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256')) {
        return fail(401, 'AuthFailure', 'AWS was not able to validate the provided access credentials');
      }
      const denial = this.policy && firstDenial(this.policy, authorizationRequests(this.ctx, action, p));
      if (denial) throw unauthorized(denial);
      const randomly = this.throttleRatio > 0 && this.prng.next() < this.throttleRatio;
      // EC2's buckets (throttle.ts): an empty one refuses the request before anything else looks at it.
      if (randomly || (this.ctx.realism.requestBuckets && !this.ctx.account.buckets.take(action, p))) {
        return fail(503, 'RequestLimitExceeded', 'Request limit exceeded.');
      }
      answerDryRun(p);
      this.faults.check(action);
      await injectLatency(
        this.clock,
        scaledLatencyMs(DEFAULT_LATENCY.actions[action as SimAction], this.o.latencyScale),
      );
      this.imds.observe(); // attaches and detaches due by now complete before the action sees the cloud
      this.consistency.check(this.o.cloud, action, p);
      const out = handler(this.ctx, p);
      if (MUTATING_ACTIONS.has(action as SimAction)) this.o.onMutate?.(action);
      this.imds.observe();
      const answer = reply(200, responseXml(action, requestId, out));
      if (!this.takeDrop(action)) return answer;
      rec.dropped = true;
      return { ...answer, drop: true };
    } catch (err) {
      const a = errorAnswer(err);
      return fail(a.status, a.code, a.message);
    }
  }

  private record(headers: IncomingHttpHeaders, p: QueryParams): EmulatorRequest {
    const rec: EmulatorRequest = { action: p.action, status: 200 };
    const inv = headers['amz-sdk-invocation-id'];
    if (typeof inv === 'string') rec.invocationId = inv;
    const attempt = /attempt=(\d+)/.exec(String(headers['amz-sdk-request'] ?? ''));
    if (attempt) rec.attempt = Number(attempt[1]);
    const token = p.str('ClientToken');
    if (token !== undefined) rec.clientToken = token;
    if (p.str('DryRun') === 'true') rec.dryRun = true;
    return this.log.push(rec);
  }

  private takeDrop(action: string): boolean {
    const left = this.drops.get(action) ?? 0;
    if (left > 0) this.drops.set(action, left - 1);
    return left > 0;
  }
}
