/**
 * Test helper: an IpamDaemon core (no servers) on a VirtualClock over a fresh
 * sim cloud, so pool behaviour can be checked to the millisecond.
 */
import { IpamDaemon } from '../../ipamd/daemon.js';
import { parseConfig } from '../../ipamd/config.js';
import { MemoryCheckpointer } from '../../ipamd/datastore/checkpoint.js';
import { NoopPlumber, type PodNetworkPlumber } from '../../ipamd/netns/plumber.js';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { VirtualClock } from '../../ipamd/util/clock.js';
import { FaultInjector, SimCloud, SimProvider, type LatencyOverrides } from '../../providers/sim/index.js';

export interface VirtualNode {
  clock: VirtualClock;
  cloud: SimCloud;
  provider: SimProvider;
  daemon: IpamDaemon;
  checkpointer: MemoryCheckpointer;
  add(id: string): Promise<{ ip: string; waitedMs: number }>;
  del(id: string): Promise<void>;
}

export async function virtualNode(
  env: Record<string, string> = {},
  opts: {
    instanceType?: string;
    subnetCidr?: string;
    latency?: LatencyOverrides;
    cloud?: SimCloud;
    checkpointer?: MemoryCheckpointer;
    plumber?: PodNetworkPlumber;
    faults?: (clock: VirtualClock) => FaultInjector;
    /** A clock to share with the caller (a restart: time goes on from where the cloud left it). */
    clock?: VirtualClock;
  } = {},
): Promise<VirtualNode> {
  const clock = opts.clock ?? new VirtualClock(1_700_000_000_000);
  const cloud = opts.cloud ?? new SimCloud({ seed: 3, clock });
  if (!opts.cloud)
    cloud.seedNode({ instanceType: opts.instanceType ?? 'm5.large', subnetCidr: opts.subnetCidr ?? '10.0.0.0/24' });
  const instanceId = cloud.describeInstances()[0]!.id;
  const provider = new SimProvider({ cloud, instanceId, clock, latency: opts.latency, faults: opts.faults?.(clock) });
  const checkpointer = opts.checkpointer ?? new MemoryCheckpointer();
  const daemon = new IpamDaemon({
    config: parseConfig(env),
    clock,
    provider,
    checkpointer,
    plumber: opts.plumber ?? new NoopPlumber(),
    log: silentLogger(),
    version: 'test',
    random: () => 0.5,
  });
  // Cloud calls sleep on the virtual clock, so time must move while the daemon starts.
  await drive(clock, daemon.init());
  await drive(clock, daemon.startLoop());
  const key = (id: string) => ({ network: 'vpc-ipam', containerId: id, ifName: 'eth0' });
  return {
    clock,
    cloud,
    provider,
    daemon,
    checkpointer,
    async add(id) {
      const r = await daemon.allocator.add(key(id), {});
      return { ip: r.assignment.ip, waitedMs: r.waitedMs };
    },
    async del(id) {
      await daemon.allocator.del(key(id));
    },
  };
}

/**
 * Runs `p` to completion while advancing virtual time in `stepMs` steps.
 *
 * Each step lets real macrotasks run (clock.advance settles through
 * setImmediate). When no virtual timer is pending, `p` can only be waiting on
 * real I/O (a worker thread starting, netlink, a socket): such a step also
 * waits a real millisecond and does not count against the virtual budget
 * `maxMs`, which a real wait would otherwise burn through in well under a
 * second. Real time is bounded too (`realMaxMs`), so a wait that never ends
 * still fails. While other timers are pending (a running daemon loop), steps
 * count, so start slow real resources (NetlinkPlumber.warmUp) before driving.
 */
export async function drive<T>(
  clock: VirtualClock,
  p: Promise<T>,
  stepMs = 10,
  maxMs = 600_000,
  realMaxMs = 60_000,
): Promise<T> {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  p.then(
    (v) => ((done = true), (value = v)),
    (e) => ((done = true), (error = e)),
  );
  const startVirtual = clock.now();
  const startReal = performance.now();
  let busyMs = 0;
  while (!done && busyMs < maxMs && performance.now() - startReal < realMaxMs) {
    const due = clock.pending() > 0;
    await clock.advance(stepMs);
    if (due) busyMs += stepMs;
    else if (!done) await new Promise((r) => setTimeout(r, 1));
  }
  if (!done) {
    const real = Math.round(performance.now() - startReal);
    throw new Error(
      `still pending after ${clock.now() - startVirtual} virtual ms (${busyMs} with timers due; limit ${maxMs})` +
        ` and ${real} real ms (limit ${realMaxMs})`,
    );
  }
  if (error) throw error;
  return value as T;
}
