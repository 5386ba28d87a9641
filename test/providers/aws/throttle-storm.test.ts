/**
 * A throttle storm at EC2's documented bucket sizes (issue 13, "done when"): 20 nodes of one account, each
 * the real IpamDaemon core over the real AwsProvider and SDK, against strict emulators that share the
 * account's per-API token buckets (Create/Delete/Assign/Unassign 100 tokens at 5 a second, Attach/Detach 50
 * at 5, filtered Describes 100 at 20), with attach/detach delays, eventual consistency and IMDS lag on. Each
 * node fills its pool through churn (waves of concurrent ADDs, some DELs between them, with a small warm
 * target and no cooldown, so the pool grows and shrinks at every wave).
 *
 * A second storm churns whole ENIs (every node fills all its ENIs, then empties them, three times) in an account
 * whose buckets another client keeps nearly empty, so Create, Attach, Detach and Delete are throttled too and each
 * lifecycle step (ClientToken retry, retry before undo, delete while detaching) is driven through it.
 *
 * Both run at ipamd's defaults (the ADD wait included) and must converge: every ADD succeeds (each fits the
 * node: none may fail for having been throttled), no ENI leaks (every ENI in the cloud is attached to a node
 * and is the one that node's pool holds), and the account was really throttled. The figures are printed.
 * Virtual time (storm-helpers.ts): seconds of emulated time take milliseconds, and only while nothing is on
 * the wire.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AttachmentKey } from '../../../cni/contract/protocol.js';
import { QueryParams } from '../../../providers/aws/emulator/query.js';
import { StormCluster, type StormNode } from './storm-helpers.js';

const NODES = 20;

interface Scenario {
  instanceType: string;
  env: Record<string, string>;
  rounds: number;
  /** ADDs at once per round, then DELs of the oldest Pods. */
  adds: number;
  dels: number;
  /** Virtual ms after the ADDs and after the DELs of each round. */
  holdMs: number;
  /** ENIs per node once it has settled. */
  finalEnis: number;
  /**
   * Buckets another client of the account (a deploy pipeline, an autoscaler) spends every 5 s during the churn,
   * leaving this many tokens in each.
   */
  drained?: Record<string, number>;
}

/**
 * Every node, every second, starts Pods and, half a second later, ends some (a busy cluster of short jobs):
 * each round is 3 ADDs at once then 2 DELs, 8 rounds, so each node ends with 8 Pods on 2 ENIs of an
 * m5.large (9 Pod slots each; 8 Pods and 2 warm need the second). With a warm target of 2, no cooldown and no
 * shrink delay, every round assigns and unassigns on every node: 20 nodes ask ~20 Assign and ~20 Unassign a
 * second of an account that holds 100 of each and refills 5 a second, so the buckets run dry after a few rounds.
 */
const ADDRESS_CHURN: Scenario = {
  instanceType: 'm5.large',
  env: { WARM_IP_TARGET: '2', WARM_ENI_TARGET: '0', IP_COOLDOWN_PERIOD: '0', VPC_IPAM_SHRINK_INTERVAL_SECONDS: '0' },
  rounds: 8,
  adds: 3,
  dels: 2,
  holdMs: 500,
  finalEnis: 2,
};

/**
 * A t3.medium holds 3 ENIs of 5 Pod addresses. Each round fills all three (13 Pods, 2 warm) and, past the
 * 60 s an ENI lives at least, empties them again, so every node creates, attaches, detaches and deletes two
 * ENIs a round: 40 of each for the account, against buckets another client has just emptied.
 */
const ENI_CHURN: Scenario = {
  instanceType: 't3.medium',
  env: { WARM_IP_TARGET: '2', WARM_ENI_TARGET: '0', IP_COOLDOWN_PERIOD: '0', VPC_IPAM_SHRINK_INTERVAL_SECONDS: '0' },
  rounds: 3,
  adds: 13,
  dels: 13,
  holdMs: 65_000,
  finalEnis: 1,
  // At most 35 tokens for 40 creates and 40 attaches at once, and at most 25 for 40 detaches and deletes.
  drained: {
    CreateNetworkInterface: 10,
    AttachNetworkInterface: 10,
    DetachNetworkInterface: 0,
    DeleteNetworkInterface: 0,
  },
};

const key = (id: string): AttachmentKey => ({ network: 'vpc-ipam', containerId: id, ifName: 'eth0' });

let cluster: StormCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

interface Tally {
  failed: string[];
  /** Longest an ADD waited for its address, virtual ms. */
  maxWaitMs: number;
}

/** One node's Pods coming and going; every failed ADD is recorded with why. */
async function churn(c: StormCluster, n: StormNode, sc: Scenario, tally: Tally): Promise<void> {
  const live: string[] = [];
  let seq = 0;
  const add = async () => {
    const id = `${n.instanceId}-p${seq++}`;
    try {
      const out = await n.daemon.allocator.add(key(id), {});
      tally.maxWaitMs = Math.max(tally.maxWaitMs, out.waitedMs);
      live.push(id);
    } catch (err) {
      tally.failed.push(`${id}: ${(err as Error).message}`);
    }
  };
  for (let round = 0; round < sc.rounds; round++) {
    await Promise.all(Array.from({ length: sc.adds }, add));
    await c.clock.sleep(sc.holdMs);
    await Promise.all(live.splice(0, sc.dels).map((id) => n.daemon.allocator.del(key(id))));
    await c.clock.sleep(sc.holdMs);
  }
}

/** Why the cluster has not converged yet, or undefined when it has. */
function unsettled(c: StormCluster, sc: Scenario): string | undefined {
  const all = c.cloud.describeInterfaces();
  const loose = all.filter((x) => !x.attachment || x.attachment.state !== undefined);
  if (loose.length) return `${loose.length} ENIs detached or changing`;
  const pods = sc.rounds * (sc.adds - sc.dels);
  for (const n of c.nodes) {
    const inCloud = all
      .filter((x) => x.attachment!.instanceId === n.instanceId)
      .map((x) => x.id)
      .sort();
    const snap = n.daemon.snapshot();
    const inPool = snap.interfaces.map((x) => x.id).sort();
    const who = n.instanceId;
    if (JSON.stringify(inCloud) !== JSON.stringify(inPool)) return `${who}: cloud ${inCloud} vs pool ${inPool}`;
    if (inPool.length !== sc.finalEnis) return `${who}: ${inPool.length} ENIs`;
    if (snap.assigned !== pods || snap.waiting > 0) return `${who}: ${snap.assigned} assigned, ${snap.waiting} wait`;
  }
  return undefined;
}

const ANY = new QueryParams('');
/** Tokens the other client of the account has spent. */
let spentByNeighbour = 0;
/** Another client of the account spends these buckets every 5 s, down to the tokens it leaves, until `done`. */
async function neighbour(c: StormCluster, left: Record<string, number>, done: { value: boolean }): Promise<void> {
  const buckets = c.nodes[0]!.emu.account.buckets;
  while (!done.value) {
    for (const [action, n] of Object.entries(left)) {
      let spent = 0;
      while ((buckets.available(action) ?? Infinity) > n && buckets.take(action, ANY)) spent++;
      spentByNeighbour += spent;
    }
    await c.clock.sleep(5_000);
  }
}

async function storm(sc: Scenario) {
  const started = performance.now();
  cluster = await StormCluster.start({ nodes: NODES, instanceType: sc.instanceType, env: sc.env });
  const c = cluster;
  const t0 = c.clock.now();
  const tally: Tally = { failed: [], maxWaitMs: 0 };
  const done = { value: false };
  const busy = sc.drained ? neighbour(c, sc.drained, done) : Promise.resolve();
  await c.drive(Promise.all(c.nodes.map((n) => churn(c, n, sc, tally))).finally(() => (done.value = true)));
  await c.drive(busy);
  let why: string | undefined;
  const settle = async () => {
    for (let i = 0; i < 120 && (why = unsettled(c, sc)) !== undefined; i++) await c.clock.sleep(5_000);
  };
  await c.drive(settle());
  const buckets = c.nodes[0]!.emu.account.buckets.throttled();
  const imds = c.nodes.reduce((k, n) => k + n.emu.imds.requests, 0);
  const virtualSeconds = Math.round((c.clock.now() - t0) / 1000);
  // The nodes' own throttled requests (buckets counts the neighbour's too).
  const throttled: Record<string, number> = {};
  for (const n of c.nodes)
    for (const r of n.emu.requests)
      if (r.code === 'RequestLimitExceeded') throttled[r.action] = (throttled[r.action] ?? 0) + 1;
  const figures = { throttled, buckets, calls: c.calls(), imds, virtualSeconds };
  const wallMs = Math.round(performance.now() - started);
  const neighbourTokens = spentByNeighbour;
  console.info(
    `throttle storm: ${JSON.stringify({ ...figures, neighbourTokens, maxAddWaitMs: tally.maxWaitMs, wallMs })}`,
  );
  return { c, tally, why, figures };
}

describe('throttle storm: 20 nodes of one account at EC2 default bucket sizes, ipamd defaults', () => {
  it(
    'address churn converges: every ADD served, no ENI leaked, RequestLimitExceeded answered and waited ' + 'out',
    async () => {
      const { c, tally, why, figures } = await storm(ADDRESS_CHURN);
      expect(tally.failed).toEqual([]);
      expect(why).toBeUndefined();
      expect(c.cloud.describeInterfaces()).toHaveLength(NODES * ADDRESS_CHURN.finalEnis);
      expect(figures.throttled.AssignPrivateIpAddresses ?? 0).toBeGreaterThan(0); // the buckets were really in play
    },
  );

  it('ENI churn in a busy account converges: Create/Attach/Detach/Delete throttled, nothing leaked', async () => {
    const { c, tally, why, figures } = await storm(ENI_CHURN);
    expect(tally.failed).toEqual([]);
    expect(why).toBeUndefined();
    expect(c.cloud.describeInterfaces()).toHaveLength(NODES * ENI_CHURN.finalEnis);
    for (const action of Object.keys(ENI_CHURN.drained!))
      expect(figures.throttled[action] ?? 0, action).toBeGreaterThan(0);
  });
});
