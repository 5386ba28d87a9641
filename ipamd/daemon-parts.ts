/**
 * @module daemon parts
 * The parts of a daemon that need the node as the cloud describes it (its interfaces, its instance type's
 * limits), so `IpamDaemon.init()` builds them. Until then each getter says so instead of handing out
 * `undefined`; code that may run before init (metrics callbacks, a SIGTERM during init) reads `parts` directly.
 */
import type { InstanceLimits, NodeInventory } from '../providers/types.js';
import type { Allocator } from './allocator.js';
import type { ApiHandler } from './api/handler.js';
import type { NodeMonitor } from './monitor/node-monitor.js';
import type { PoolLimits } from './pool/planner.js';
import type { PoolReconciler } from './pool/reconciler.js';

/** The parts that need the node as the cloud describes it, so init() builds them. */
export interface NodeParts {
  node: NodeInventory;
  instanceLimits: InstanceLimits;
  poolLimits: PoolLimits;
  allocator: Allocator;
  reconciler: PoolReconciler;
  handler: ApiHandler;
  monitor: NodeMonitor;
}

export class InitParts {
  /** What init() has built so far. */
  protected readonly parts: Partial<NodeParts> = {};

  get node(): NodeInventory {
    return this.part('node');
  }
  get instanceLimits(): InstanceLimits {
    return this.part('instanceLimits');
  }
  get poolLimits(): PoolLimits {
    return this.part('poolLimits');
  }
  get allocator(): Allocator {
    return this.part('allocator');
  }
  get reconciler(): PoolReconciler {
    return this.part('reconciler');
  }
  get handler(): ApiHandler {
    return this.part('handler');
  }
  /** Subnet exhaustion monitor (ipamd/monitor): samples from startServers(), stopped in stop(). */
  get monitor(): NodeMonitor {
    return this.part('monitor');
  }

  /** A part init() builds; asking before it exists is a programming error, said as such. */
  private part<K extends keyof NodeParts>(k: K): NodeParts[K] {
    const v = this.parts[k];
    if (v === undefined) throw new Error(`ipamd is not initialised: ${k} exists once init() has built it`);
    return v as NodeParts[K];
  }
}
