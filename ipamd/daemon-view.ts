/**
 * @module daemon view
 * What the daemon's helpers (daemon-build.ts, daemon-events.ts, start-node.ts) use of an IpamDaemon, which has
 * it structurally. Declared apart so they depend on these parts, not on daemon.ts (which imports them).
 */
import type { PoolStatus } from '../cni/contract/protocol.js';
import type { NodeInventory } from '../providers/types.js';
import type { Allocator } from './allocator.js';
import type { ApiHandler } from './api/handler.js';
import type { CloudCaller } from './cloud/cloud-caller.js';
import type { LeakReclaimRunner } from './cloud/leak-reclaim.js';
import type { DaemonDeps } from './daemon-deps.js';
import type { Datastore } from './datastore/datastore.js';
import type { NodeMonitor } from './monitor/node-monitor.js';
import type { NodeNetworkSync } from './netns/node-network.js';
import type { DaemonMetrics } from './observability/metrics.js';
import type { PoolLimits } from './pool/planner.js';
import type { PoolPolicy } from './pool/policy.js';

export interface DaemonView {
  readonly d: DaemonDeps;
  readonly datastore: Datastore;
  readonly caller: CloudCaller;
  readonly policy: PoolPolicy;
  readonly metrics: DaemonMetrics;
  readonly leaks: LeakReclaimRunner;
  readonly nodeNetwork: NodeNetworkSync | undefined;
  readonly node: NodeInventory;
  readonly poolLimits: PoolLimits;
  readonly allocator: Allocator;
  readonly handler: ApiHandler;
  readonly monitor: NodeMonitor;
  readonly expectedDemand: number;
  status(): PoolStatus;
  setVpcCidrs(cidrs: readonly string[]): void;
  saveNodeCache(): void;
  replaySpool(): Promise<void>;
  syncHostLinks(): Promise<void>;
}
