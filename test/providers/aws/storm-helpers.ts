/**
 * @module aws storm harness
 * Many nodes of one EC2 account in one process: one {@link SimCloud}, one strict emulator per instance (its
 * IMDS is the instance's) sharing that cloud's account (token buckets, client tokens, groups), and on each
 * node the real IpamDaemon core over the real AwsProvider and `@aws-sdk/client-ec2`, all on one
 * VirtualClock.
 *
 * Virtual time only moves while no EC2 or IMDS request is on the wire ({@link StormCluster.drive}): a
 * request takes no emulated time, so a daemon's deadlines (the ADD wait, its retries) are never spent by
 * the machine being slow, and the buckets see requests as densely as the daemons can send them. The SDK
 * gets one attempt per call: its retry sleeps on real timers the virtual clock cannot move, so every retry
 * is the provider's or ipamd's own, on the virtual clock. The IMDS client times out on a real clock too.
 */
import { parseConfig } from '../../../ipamd/config.js';
import { IpamDaemon } from '../../../ipamd/daemon.js';
import { MemoryCheckpointer } from '../../../ipamd/datastore/checkpoint.js';
import { NoopPlumber } from '../../../ipamd/netns/plumber.js';
import { silentLogger } from '../../../ipamd/observability/logger.js';
import { SystemClock, VirtualClock } from '../../../ipamd/util/clock.js';
import { AwsProvider } from '../../../providers/aws/aws-provider.js';
import { createEc2Client, EMULATOR_CREDENTIALS } from '../../../providers/aws/ec2-client.js';
import { EMULATE_REALISM } from '../../../providers/aws/emulator/realism.js';
import { AwsEmulator } from '../../../providers/aws/emulator/server.js';
import { ImdsClient } from '../../../providers/aws/imds-client.js';
import { SimCloud } from '../../../providers/sim/cloud.js';
import { Prng } from '../../../providers/sim/prng.js';
import type { EC2Client } from '@aws-sdk/client-ec2';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export interface StormNode {
  instanceId: string;
  emu: AwsEmulator;
  provider: AwsProvider;
  daemon: IpamDaemon;
  ec2: EC2Client;
}

export interface StormOptions {
  nodes: number;
  instanceType: string;
  /** The daemons' environment (pool targets, intervals). */
  env: Record<string, string>;
}

/** Counts the requests on the wire, so the driver knows when virtual time may move. */
class Wire {
  inFlight = 0;
  private waiters: Array<() => void> = [];

  async track<T>(p: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await p();
    } finally {
      if (--this.inFlight === 0) for (const w of this.waiters.splice(0)) w();
    }
  }

  /** Resolves once nothing is on the wire (at once if nothing is). */
  idle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }
}

export class StormCluster {
  readonly clock = new VirtualClock(1_700_000_000_000);
  readonly cloud: SimCloud;
  readonly nodes: StormNode[] = [];
  private readonly wire = new Wire();

  private constructor() {
    this.cloud = new SimCloud({ seed: 11, clock: this.clock, provider: 'aws' });
  }

  /** Seeds the nodes (one /22 for every ENI), starts an emulator per instance, then each daemon (init + loop). */
  static async start(o: StormOptions): Promise<StormCluster> {
    const c = new StormCluster();
    const seed = () => c.cloud.seedNode({ instanceType: o.instanceType, subnetCidr: '10.0.0.0/22' });
    const ids = Array.from({ length: o.nodes }, seed);
    for (const [i, instanceId] of ids.entries()) {
      const strict = { realism: EMULATE_REALISM, clock: c.clock, seed: i + 1 };
      const emu = await AwsEmulator.start({ cloud: c.cloud, instanceId, ...strict });
      const imds = new ImdsClient({ endpoint: emu.endpoint, clock: new SystemClock() });
      const get = imds.get.bind(imds);
      imds.get = (path) => c.wire.track(() => get(path));
      const credentials = EMULATOR_CREDENTIALS;
      const ec2 = createEc2Client({ region: 'us-east-1', endpoint: emu.endpoint, credentials, maxAttempts: 1 });
      const onWire = { step: 'initialize', name: 'stormWire' } as const;
      ec2.middlewareStack.add((next) => (args) => c.wire.track(() => next(args)), onWire);
      const provider = await c.drive(AwsProvider.create({ ec2, imds, clock: c.clock, attachWaitMs: 30_000 }));
      const random = new Prng(100 + i);
      const daemon = new IpamDaemon({
        config: parseConfig(o.env),
        clock: c.clock,
        provider,
        checkpointer: new MemoryCheckpointer(),
        plumber: new NoopPlumber(),
        log: silentLogger(),
        version: 'storm',
        random: () => random.next(),
      });
      c.nodes.push({ instanceId, emu, provider, daemon, ec2 });
    }
    // All daemons start at once, as after a cluster-wide rollout.
    await c.drive(Promise.all(c.nodes.map(async (n) => (await n.daemon.init(), await n.daemon.startLoop()))));
    return c;
  }

  /**
   * Runs `p` to completion, moving virtual time whenever nothing is on the wire: to the next timer, at most
   * `stepMs` ahead. Bounded in virtual time (`maxMs`) and in real time (`realMaxMs`).
   */
  async drive<T>(p: Promise<T>, stepMs = 50, maxMs = 30 * 60_000, realMaxMs = 60_000): Promise<T> {
    type Outcome = { ok: true; value: T } | { ok: false; error: unknown };
    let outcome: Outcome | undefined;
    p.then(
      (value) => {
        outcome = { ok: true, value };
      },
      (error: unknown) => {
        outcome = { ok: false, error };
      },
    );
    const start = this.clock.now();
    const realStart = performance.now();
    while (!outcome) {
      if (this.clock.now() - start > maxMs || performance.now() - realStart > realMaxMs) {
        const real = Math.round(performance.now() - realStart);
        throw new Error(`storm still running after ${this.clock.now() - start} virtual ms, ${real} real ms`);
      }
      await this.wire.idle();
      await new Promise((r) => setImmediate(r)); // what the answers set off may put more on the wire
      if (this.wire.inFlight > 0) continue;
      const next = this.clock.nextAt();
      await this.clock.runUntil(Math.min(next ?? Infinity, this.clock.now() + stepMs));
    }
    const o = outcome as Outcome; // set by the callbacks above, which TypeScript's narrowing does not see
    if (!o.ok) throw o.error;
    return o.value;
  }

  /** Every emulator's answers with this code. */
  count(code: string): number {
    return this.nodes.reduce((n, x) => n + x.emu.requests.filter((r) => r.code === code).length, 0);
  }

  /** EC2 requests of the whole account, per action. */
  calls(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const n of this.nodes) for (const [a, k] of Object.entries(n.emu.counts())) out[a] = (out[a] ?? 0) + k;
    return out;
  }

  async stop(): Promise<void> {
    await this.drive(Promise.all(this.nodes.map((n) => n.daemon.stop())));
    for (const n of this.nodes) await n.emu.close();
  }
}
