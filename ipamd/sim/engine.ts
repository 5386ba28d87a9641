/**
 * @module sim engine
 * Replays a Pod churn trace through the daemon's real core, in virtual time.
 *
 * Nothing here re-implements the pool: an {@link IpamDaemon} is built exactly
 * as `run.ts` builds it, by the node's composition root (compose-node.ts)
 * from `parseConfig(env)`, with a {@link VirtualClock},
 * an in-memory checkpoint, no netns plumbing, and a {@link SimProvider} over a
 * fresh {@link SimCloud} holding one node. Its allocator serves the trace's
 * ADDs and DELs; its reconciler, planner, policy, CloudCaller and datastore
 * decide and do everything else. The cloud calls take their documented
 * latencies on the virtual clock, which jumps from timer to timer, so a day of
 * churn replays in seconds. The timings default to the realistic profile
 * (`REALISTIC_LATENCY`: metadata lag drawn per attach, detach in progress for
 * seconds, eventual consistency, as the strict EC2 emulator plays EC2), its
 * draws seeded from `VPC_IPAM_SIM_SEED`; `LEGACY_LATENCY` is the old table.
 *
 * Time zero of the trace is the moment ipamd became ready (init + first pool
 * tick), like a real node, where the kubelet schedules nothing until the CNI
 * reports ready. ADDs are not awaited: many can be waiting at once, each
 * measured from its request to its answer.
 */
import { Prng } from '../../providers/sim/prng.js';
import { DEFAULT_VPC_CIDR, SimCloud, SimProvider, type LatencyOverrides } from '../../providers/sim/index.js';
import { IpamError } from '../../providers/errors.js';
import { composeNode } from '../compose-node.js';
import { parseConfig, type DaemonConfig } from '../config.js';
import { IpamDaemon } from '../daemon.js';
import type { AdaptivePolicyOptions } from '../pool/adaptive-policy.js';
import { MemoryCheckpointer } from '../datastore/checkpoint.js';
import { NoopPlumber } from '../netns/plumber.js';
import { silentLogger } from '../observability/logger.js';
import { VirtualClock } from '../util/clock.js';
import { VERSION } from '../version.js';
import { PoolRecorder, waitStats, type PoolSample } from './recorder.js';
import type { Trace } from './trace.js';
import { vpcCidrFor } from './vpc.js';

export interface SimulationOptions {
  trace: Trace;
  instanceType: string;
  /** Node subnet; default the daemon's `VPC_IPAM_SIM_SUBNET_CIDR` (10.0.0.0/24). */
  subnetCidr?: string;
  /** Daemon environment (WARM_*, MINIMUM_IP_TARGET, ENABLE_PREFIX_DELEGATION, WARM_POOL_POLICY, ...). */
  env?: Record<string, string>;
  /** Timings (a profile or overrides of the default); default `REALISTIC_LATENCY`, the same for every policy. */
  latency?: LatencyOverrides;
  /**
   * Adaptive-policy options beyond WARM_POOL_FLOOR/CEILING (the constants a policy study varies, or `design: 'v1'`
   * to replay the issue-5 policy beside the current one in one benchmark run). The env cannot carry them.
   */
  adaptive?: Partial<AdaptivePolicyOptions>;
  /** Called after every sample with the daemon and the trace time (ms): for tests and policy studies. */
  observe?: (daemon: IpamDaemon, tMs: number) => void;
}

export interface SimulationResult {
  avgIdleIps: number;
  peakIpsHeld: number;
  podWaitP50Ms: number;
  podWaitP99Ms: number;
  podWaitMaxMs: number;
  podsWaited: number;
  failedAdds: number;
  apiCalls: { total: number; byAction: Record<string, number> };
  durationS: number;
}

export interface SimulationRun {
  result: SimulationResult;
  /** Idle address-seconds over the trace (avgIdleIps × durationS, before rounding). */
  idleIpSeconds: number;
  adds: number;
  /** Per ADD, in trace order: when (trace ms), its wait (ms), whether it found no ready address, whether it failed. */
  addOutcomes: AddOutcome[];
  timeline: PoolSample[];
  /** Virtual ms ipamd took to become ready before the trace started. */
  startupMs: number;
  /** The policy's last explanation (what /v1/pool and the status line show). */
  policyExplain: string;
  config: DaemonConfig;
}

export interface AddOutcome {
  pod: string;
  atMs: number;
  waitMs: number;
  waited: boolean;
  failed: boolean;
}

const NETWORK = 'sim';
const IFNAME = 'eth0';

/** Replays `trace` and returns the figures; deterministic for the same inputs. */
export async function simulate(o: SimulationOptions): Promise<SimulationRun> {
  const env = { ...o.env };
  // The simulator is always the sim provider; nothing it builds listens on a socket or port.
  const parsed = parseConfig({
    ...env,
    VPC_IPAM_PROVIDER: 'sim',
    INTROSPECTION_BIND_ADDRESS: 'off',
    VPC_IPAM_METRICS_ADDRESS: 'off',
  });
  // The policy factory spreads config.adaptive into the policy's options: the study's overrides ride along.
  const config: DaemonConfig = o.adaptive ? { ...parsed, adaptive: { ...parsed.adaptive, ...o.adaptive } } : parsed;
  const subnetCidr = o.subnetCidr ?? config.sim.subnetCidr;
  const clock = new VirtualClock(0);
  const cloud = new SimCloud({ seed: config.sim.seed, clock });
  const instanceId = cloud.seedNode({
    instanceType: o.instanceType,
    subnetCidr,
    vpcCidr: vpcCidrFor(subnetCidr, DEFAULT_VPC_CIDR),
    seed: config.sim.seed,
  });
  const provider = new SimProvider({ cloud, instanceId, clock, latency: o.latency, seed: config.sim.seed });
  const prng = new Prng(config.sim.seed);
  const instance = cloud.getInstance(instanceId);
  // The sim attaches interfaces like EC2: the same subnet facts setup/sim.ts hands a sim daemon.
  const subnets = { vpcId: instance.vpcId, zone: instance.zone, nodeSubnetId: instance.subnetId };
  const node = await composeNode({
    config,
    clock,
    log: silentLogger(),
    checkpointer: new MemoryCheckpointer(),
    plumber: new NoopPlumber(),
    version: VERSION,
    random: () => prng.next(),
    provider: { provider, subnets },
  });
  const daemon = new IpamDaemon(node.deps);

  await drive(clock, daemon.init(), 'ipamd init');
  await drive(clock, daemon.startLoop(), 'first pool tick');
  const t0 = clock.now();
  const endMs = o.trace.durationMs;
  const rec = new PoolRecorder(0, endMs);
  const sample = () => {
    const s = daemon.snapshot();
    rec.sample({ t: clock.now() - t0, held: s.total, assigned: s.assigned, cooling: s.cooling });
    o.observe?.(daemon, clock.now() - t0);
  };
  sample();

  const outcomes: AddOutcome[] = [];
  /** Requests not yet answered, by event line. */
  const inflight = new Map<number, Promise<void>>();
  /** The sandbox each live pod has: a pod added again after its DEL is a new sandbox (a new container ID). */
  const sandboxes = new Map<string, { containerId: string; added: Promise<void> }>();
  const track = (line: number, p: Promise<void>) =>
    inflight.set(
      line,
      p.finally(() => inflight.delete(line)),
    );
  const advanceTo = async (t: number) => {
    for (let next = clock.nextAt(); next !== undefined && next <= t; next = clock.nextAt()) {
      await clock.runUntil(next);
      sample();
    }
    await clock.runUntil(t);
    sample();
  };

  for (const ev of o.trace.events) {
    await advanceTo(t0 + ev.tMs);
    if (ev.op === 'add') {
      const containerId = `${ev.pod}-${ev.line}`;
      const requested = clock.now();
      const before = daemon.allocator.waiting;
      const out: AddOutcome = { pod: ev.pod, atMs: ev.tMs, waitMs: 0, waited: false, failed: false };
      outcomes.push(out);
      const p = daemon.allocator.add(
        { network: NETWORK, containerId, ifName: IFNAME },
        { namespace: NETWORK, name: ev.pod },
      );
      // The allocator counts a waiter synchronously, before its first await: that is "found no ready IP".
      out.waited = daemon.allocator.waiting > before;
      const added = p.then(
        () => {
          out.waitMs = clock.now() - requested;
        },
        (err: unknown) => {
          if (!IpamError.is(err) || err.code !== 'POOL_EXHAUSTED') throw err;
          out.waitMs = clock.now() - requested;
          out.failed = true;
          out.waited = true; // it found nothing, waited or not
        },
      );
      sandboxes.set(ev.pod, { containerId, added });
      track(ev.line, added);
    } else {
      // The runtime deletes a sandbox only after its ADD returned (CRI serialises per sandbox).
      const sb = sandboxes.get(ev.pod)!; // the parser guarantees a DEL follows its ADD
      sandboxes.delete(ev.pod);
      const del = async () => {
        await sb.added.catch(() => {});
        await daemon.allocator.del({ network: NETWORK, containerId: sb.containerId, ifName: IFNAME });
      };
      track(ev.line, del());
    }
    await clock.runUntil(clock.now()); // let the request's synchronous effects settle before sampling
    sample();
  }
  // ADDs still waiting at the end are bounded by VPC_IPAM_ADD_WAIT_SECONDS; let them finish.
  await drive(clock, Promise.all([...inflight.values()]), 'ADDs still in flight at the end of the trace', () =>
    sample(),
  );
  rec.finish();
  await drive(clock, daemon.stop(), 'daemon stop');

  const waits = waitStats(outcomes.map((x) => x.waitMs));
  const byAction = provider.callCounts();
  return {
    result: {
      avgIdleIps: round(rec.avgIdle(), 2),
      peakIpsHeld: rec.peakHeld(),
      podWaitP50Ms: waits.p50Ms,
      podWaitP99Ms: waits.p99Ms,
      podWaitMaxMs: waits.maxMs,
      podsWaited: outcomes.filter((x) => x.waited).length,
      failedAdds: outcomes.filter((x) => x.failed).length,
      apiCalls: { total: provider.totalCalls(), byAction: sortKeys(byAction) },
      durationS: round(endMs / 1000, 3),
    },
    idleIpSeconds: rec.idleIpSeconds(),
    adds: outcomes.length,
    addOutcomes: outcomes,
    timeline: rec.timeline(),
    startupMs: t0,
    policyExplain: daemon.policy.explain(),
    config,
  };
}

/**
 * Runs the virtual clock until `p` settles. Fails (instead of hanging) when
 * nothing is scheduled and `p` still has not settled: the code under test is
 * waiting on something that is not on the virtual clock.
 */
async function drive<T>(clock: VirtualClock, p: Promise<T>, what: string, onStep?: () => void): Promise<T> {
  let done = false;
  const watched = p.finally(() => {
    done = true;
  });
  watched.catch(() => {});
  await clock.runUntil(clock.now());
  while (!done) {
    const next = clock.nextAt();
    if (next === undefined) {
      await clock.runUntil(clock.now());
      if (done) break;
      throw new Error(`simulator: ${what} is waiting on something outside the virtual clock (no timer pending)`);
    }
    await clock.runUntil(next);
    onStep?.();
  }
  return watched;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function sortKeys(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}
