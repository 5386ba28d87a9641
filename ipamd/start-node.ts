/**
 * @module start node
 * Where a start takes the node from before the cloud answers (the node cache, cloud-node-cache.ts), and the check that
 * the cloud's answer is the same machine. Kept apart from daemon.ts, which only sequences the start.
 */
import { ConfigError } from '../providers/errors.js';
import type { NetworkInterface, NodeInventory } from '../providers/types.js';
import type { DaemonDeps } from './daemon-deps.js';
import type { Datastore } from './datastore/datastore.js';
import type { Assignment } from './datastore/types.js';
import type { DaemonView } from './daemon-view.js';
import type { CachedNode } from './cloud-node-cache.js';

/**
 * The cached node a start may serve from, or undefined: read the cloud first. Adopting aws-node's Pods
 * (VPC_IPAM_ADOPT_AWS_NODE) always reads the cloud first: adoption decides from the cloud's view of the ENIs.
 */
export function cachedNodeFor(d: Pick<DaemonDeps, 'nodeCache' | 'adoption' | 'log'>): CachedNode | undefined {
  if (!d.nodeCache || d.adoption) return undefined;
  const { cached, why } = d.nodeCache.load();
  if (!cached) {
    d.log.info({ file: d.nodeCache.location, why }, 'no usable node cache: reading the cloud before serving');
    return undefined;
  }
  d.log.info(
    { file: d.nodeCache.location, instanceId: cached.node.instanceId, interfaces: cached.node.interfaces.length },
    'serving from the node cache until the cloud answers',
  );
  return cached;
}

/**
 * The cloud's description must be the cached node's machine with the same limits: otherwise the cache (and
 * what was answered from it) belonged to another instance, or the type changed under a stop/start. The cache
 * goes and the start fails, so the restart reads the cloud first (and keeps the checkpoint's Pods as orphans).
 */
export function checkCachedNode(d: Pick<DaemonDeps, 'nodeCache'>, cached: CachedNode, fresh: CachedNode): void {
  const why =
    cached.node.instanceId !== fresh.node.instanceId
      ? `instance ${cached.node.instanceId}, but this node is ${fresh.node.instanceId}`
      : JSON.stringify(cached.limits) !== JSON.stringify(fresh.limits)
        ? `limits of ${cached.limits.instanceType}, but the cloud says ${fresh.limits.instanceType} has others`
        : undefined;
  if (!why) return;
  d.nodeCache?.remove();
  throw new ConfigError(
    'VPC_IPAM_STATE_DIR',
    `the node cache ${d.nodeCache?.location ?? ''} described ${why}; removed it, the next start reads the cloud first`,
  );
}

/** The node to cache: the cloud's last description with the interfaces and blocks as the datastore holds them. */
export function nodeForCache(node: NodeInventory, datastore: Pick<Datastore, 'interfaceList'>): NodeInventory {
  const interfaces: NetworkInterface[] = datastore.interfaceList().map((i) => {
    const { usable: _u, createdAt: _c, assigned: _a, ...nic } = i;
    return nic;
  });
  return { ...node, interfaces };
}

/**
 * After a start from the node cache, the cloud's description (already in `x.node`) replaces it: interfaces and
 * blocks it shows are added (restored orphans bind to them), those it no longer shows go unless a Pod holds
 * them; the checkpoint is written back, host links and, when the VPC CIDRs changed, host networking follow.
 */
export async function applyCloudView(
  x: DaemonView,
  cachedNode: NodeInventory,
  orphansAtStart: readonly Assignment[],
): Promise<void> {
  const { clock, log, config } = x.d;
  const now = clock.now();
  // Orphans (a block the cache did not have) released before the cloud answered went without a cooldown:
  // it starts now, once their block is known, so the next Pod does not get an address still routed to the old.
  const released = orphansAtStart.filter((a) => !x.datastore.find(a));
  for (const nic of x.node.interfaces) x.datastore.upsertInterface(nic, now, x.d.isUsable?.(nic) ?? true);
  const report = x.datastore.syncFromCloud(x.node.interfaces, now);
  if (config.cooldownMs > 0)
    x.datastore.restore(
      [],
      released.map((a) => ({ ip: a.ip, until: now + config.cooldownMs })),
      now,
    );
  log.info({ ...report, orphansReleased: released.length }, 'node cache replaced by the cloud view');
  await x.allocator
    .persist()
    .catch((err) => log.error({ err }, 'cannot write the checkpoint; not ready until a write succeeds'));
  await x.syncHostLinks();
  if (x.node.vpcCidrs.join() !== cachedNode.vpcCidrs.join()) {
    await x.nodeNetwork?.ensure(x.node);
    await x.handler.repairPodRules();
  }
}
