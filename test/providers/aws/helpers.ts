/**
 * @module aws test helpers
 * A sim cloud with one node behind a live AWS emulator (EC2 Query API +
 * IMDSv2 on loopback), the real `@aws-sdk/client-ec2` pointed at it with
 * fake static credentials, and the AwsProvider built from them.
 *
 * The emulator is as unkind as EC2 unless a test opts out with `strict:
 * false` (the emulate mode's realism: asynchronous attach/detach, eventual
 * consistency, IMDS lag, both "no room" wordings, token buckets, security
 * group checks), with the provider and the emulator sharing a {@link
 * JumpClock}, so its seconds of waiting pass in milliseconds, the same way on
 * every run. A test that drives EC2 itself waits the way a real client would,
 * on that clock: {@link waitOnClock}, {@link pastNotFound}, {@link settle}.
 */
import { eventually } from '../../helpers/eventually.js';
import { SystemClock, type Clock } from '../../../ipamd/util/clock.js';
import { AwsProvider } from '../../../providers/aws/aws-provider.js';
import { createEc2Client, EMULATOR_CREDENTIALS } from '../../../providers/aws/ec2-client.js';
import { EMULATE_REALISM, type Ec2Realism } from '../../../providers/aws/emulator/realism.js';
import { AwsEmulator, type AwsEmulatorOptions } from '../../../providers/aws/emulator/server.js';
import { ImdsClient } from '../../../providers/aws/imds-client.js';
import { SimCloud } from '../../../providers/sim/cloud.js';
import type { EC2Client } from '@aws-sdk/client-ec2';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export const POD_TAG = { 'kubernetes.io/role/cni': '1' };

export interface AwsNode {
  cloud: SimCloud;
  emu: AwsEmulator;
  ec2: EC2Client;
  imds: ImdsClient;
  provider: AwsProvider;
  instanceId: string;
  nodeSubnetId: string;
  podSubnetId: string;
  /** The provider's (and with `strict`, the emulator's) clock. */
  clock: Clock;
  close(): Promise<void>;
}

/**
 * A clock that stands still until something sleeps on it; a sleep ends at once and moves it forward by
 * its length. Shared by the provider and the emulator, the emulator's delays pass exactly as fast as the
 * provider waits for them, and a run replays the same way whatever the machine's load. Not for code that
 * sleeps in a loop with nothing to wait for (a daemon's timers): that would spin.
 */
export class JumpClock implements Clock {
  private t = Date.now();

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.t += Math.max(0, ms);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
      else setImmediate(resolve);
    });
  }
}

export interface AwsNodeOptions {
  instanceType?: string;
  seed?: number;
  emulator?: Partial<Omit<AwsEmulatorOptions, 'cloud' | 'instanceId'>>;
  attachWaitMs?: number;
  clusterName?: string;
  /** SDK attempts per call (default 2, the production default). */
  maxAttempts?: number;
  /** Reuse a cloud (a second node, or a restart) instead of seeding a new one. */
  cloud?: SimCloud;
  instanceId?: string;
  /**
   * The emulate mode's realism (with these changes), on a JumpClock shared with the provider: the default.
   * `false`: an instantly consistent EC2 on the system clock, for a test that times something against wall
   * time or drives a daemon's timers (which would spin a JumpClock).
   */
  strict?: boolean | Partial<Ec2Realism>;
  /** Security groups of the node's VPC besides {@link TEST_GROUP} and those in use (see {@link defineGroups}). */
  groups?: string[];
  /** AwsProvider.visibilityWaitMs. */
  visibilityWaitMs?: number;
}

/** A security group every test node's VPC has, for the ENIs a test creates itself with the SDK. */
export const TEST_GROUP = 'sg-0123';

/**
 * Makes `groups` exist in the node's VPC, as CreateSecurityGroup would: the strict emulator, like EC2, refuses
 * an interface naming a group the account does not have (security-groups.ts).
 */
export function defineGroups(n: Pick<AwsNode, 'emu' | 'cloud' | 'instanceId'>, ...groups: string[]): void {
  const vpcId = n.cloud.getInstance(n.instanceId).vpcId;
  for (const g of groups) n.emu.account.groups.define(g, vpcId);
}

export function seedCloud(opts: { instanceType?: string; seed?: number } = {}): {
  cloud: SimCloud;
  instanceId: string;
} {
  const cloud = new SimCloud({ seed: opts.seed ?? 7, clock: { now: Date.now }, provider: 'aws' });
  const instanceId = cloud.seedNode({
    instanceType: opts.instanceType ?? 'm5.large',
    subnetCidr: '10.0.1.0/24',
    podSubnetCidr: '10.0.2.0/24',
  });
  return { cloud, instanceId };
}

export async function awsNode(opts: AwsNodeOptions = {}): Promise<AwsNode> {
  const seeded = opts.cloud
    ? { cloud: opts.cloud, instanceId: opts.instanceId ?? opts.cloud.describeInstances()[0]!.id }
    : seedCloud(opts);
  const { cloud, instanceId } = seeded;
  const strict = opts.strict === false ? undefined : typeof opts.strict === 'object' ? opts.strict : {};
  const clock: Clock = strict ? new JumpClock() : new SystemClock();
  const realism = strict ? { realism: { ...EMULATE_REALISM, ...strict }, clock } : {};
  const emu = await AwsEmulator.start({ cloud, instanceId, ...realism, ...opts.emulator });
  defineGroups({ emu, cloud, instanceId }, TEST_GROUP, ...(opts.groups ?? []));
  // The IMDS client times its requests out on its clock: a real one, whatever the provider's.
  const imds = new ImdsClient({ endpoint: emu.endpoint, clock: new SystemClock() });
  const ec2 = createEc2Client({
    region: 'us-east-1',
    endpoint: emu.endpoint,
    credentials: EMULATOR_CREDENTIALS,
    maxAttempts: opts.maxAttempts ?? 2,
  });
  const provider = await AwsProvider.create({
    ec2,
    imds,
    clock,
    clusterName: opts.clusterName,
    attachWaitMs: opts.attachWaitMs ?? (strict ? 30_000 : 5_000),
    ...(opts.visibilityWaitMs !== undefined ? { visibilityWaitMs: opts.visibilityWaitMs } : {}),
  });
  const nodeSubnetId = cloud.getInstance(instanceId).subnetId;
  const podSubnetId = cloud.describeSubnets({ tags: POD_TAG })[0]!.id;
  return {
    cloud,
    emu,
    ec2,
    imds,
    provider,
    instanceId,
    nodeSubnetId,
    podSubnetId,
    clock,
    close: async () => {
      ec2.destroy();
      await emu.close();
    },
  };
}

/** What EC2 answered an SDK call: `ok`, or the error's name (EC2's code), message and HTTP status. */
export async function sdkAnswer(p: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await p;
    return { name: 'ok', message: '' };
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
}

/** The code (and cloudCode) a promise rejects with. */
export async function failure(
  p: Promise<unknown>,
): Promise<{ code: string; cloudCode?: string; retryable?: boolean; name?: string; status?: number }> {
  try {
    await p;
  } catch (err) {
    const e = err as {
      code?: string;
      cloudCode?: string;
      retryable?: boolean;
      name?: string;
      $metadata?: { httpStatusCode?: number };
    };
    return {
      code: e.code ?? '',
      cloudCode: e.cloudCode,
      retryable: e.retryable,
      name: e.name,
      status: e.$metadata?.httpStatusCode,
    };
  }
  throw new Error('expected a rejection');
}

/** Interfaces in the cloud that ipamd created (our instance tag), attached or not. */
export function ourInterfaces(cloud: SimCloud) {
  return cloud.describeInterfaces({ tagKeys: ['vpc-ipam.io/instance-id'] });
}

/** Polls `check` every 20 ms until it returns a value other than undefined/false, or throws after `ms`. */
export function until<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 20_000,
): Promise<T> {
  return waitOnClock({ clock: new SystemClock() }, what, check, ms, 20);
}

/**
 * Polls `check` every `stepMs` of the node's clock until it returns a value other than undefined/false, or throws
 * once `ms` of that clock have passed: how a client waits on EC2 (an attachment to finish, IMDS to show a change).
 * With the strict default it is a JumpClock, so the emulator's seconds pass at once, the same way on every run.
 */
export function waitOnClock<T>(
  n: { clock: Clock },
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 60_000,
  stepMs = 100,
): Promise<T> {
  return eventually(what, check, { clock: n.clock, timeoutMs: ms, everyMs: stepMs });
}

/**
 * An SDK call naming an ENI made or changed moments ago, retried on the node's clock while EC2 answers NotFound:
 * its eventual consistency ("the ID might not have propagated"), which AWS says to retry with backoff.
 */
export async function pastNotFound<T>(n: { clock: Clock }, call: () => Promise<T>, ms = 15_000): Promise<T> {
  const deadline = n.clock.now() + ms;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      return await call();
    } catch (err) {
      if (!String((err as Error).name).endsWith('.NotFound') || n.clock.now() >= deadline) throw err;
      await n.clock.sleep(delay);
    }
  }
}

/**
 * Lets every delay of the emulator's realism pass on the node's clock (attach/detach, the consistency window,
 * IMDS lag): what the test set up is then old news to EC2 and IMDS, as for ENIs made long before.
 */
export async function settle(n: Pick<AwsNode, 'clock' | 'emu'>): Promise<void> {
  const r = n.emu.realism;
  // IMDS shows a finished attach its lag after the attach is due.
  await n.clock.sleep(Math.max(r.attachMs, r.detachMs) + Math.max(r.consistencyWindowMs, r.imdsLagMs.max) + 1);
  n.emu.imds.observe(); // due transitions complete when the emulator next looks at the cloud
}
