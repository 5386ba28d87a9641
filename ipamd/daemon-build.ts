/**
 * @module daemon build
 * The two parts init() builds once the node is known: the pool reconciler (with the daemon's own event
 * handlers first, then the other subscribers) and the API handler the plugin socket serves.
 */
import { ApiHandler } from './api/handler.js';
import type { DaemonView } from './daemon-view.js';
import { daemonEvents } from './daemon-events.js';
import { tableDestinations } from './netns/node-network.js';
import { fanOutEvents } from './pool/event-fan-out.js';
import { PoolReconciler } from './pool/reconciler.js';

export function buildReconciler(x: DaemonView): PoolReconciler {
  const { config: c, clock, log, provider } = x.d;
  return new PoolReconciler({
    datastore: x.datastore,
    provider,
    caller: x.caller,
    clock,
    policy: x.policy,
    limits: x.poolLimits,
    intervalMs: c.reconcileIntervalMs,
    resyncIntervalMs: c.resyncIntervalMs,
    shrinkIntervalMs: c.shrinkIntervalMs,
    subnetFullBackoffMs: c.subnetFullBackoffMs,
    prefixFallbackToIps: c.prefixFallbackToIps,
    selectSubnets: x.d.selectSubnets,
    interfaceTags: x.d.interfaceTags,
    waiting: () => x.allocator.waiting,
    expectedDemand: () => x.expectedDemand,
    log,
    // The daemon's own handlers first (the allocator wakes before anyone reports), then the other subscribers.
    events: fanOutEvents([daemonEvents(x), ...(x.d.subscribers ?? [])]),
  });
}

export function buildHandler(x: DaemonView): ApiHandler {
  const { config: c, log } = x.d;
  const nodeNetwork = x.nodeNetwork;
  return new ApiHandler({
    allocator: x.allocator,
    datastore: x.datastore,
    plumber: x.d.plumber,
    vpcCidrs: () => x.node.vpcCidrs,
    tableDestinations: () => tableDestinations(c.hostNetwork, x.node.vpcCidrs),
    vethNaming: { ...(c.hostNetwork.vethPrefix ? { prefix: c.hostNetwork.vethPrefix } : {}) },
    ...(nodeNetwork ? { nodeProblems: () => nodeNetwork.problems() } : {}),
    log,
    status: () => x.status(),
    version: x.d.version,
    onError: (code) => x.metrics.error(code),
    phases: x.metrics.requestPhases,
    ...(x.d.podAddresses ? { podAddresses: x.d.podAddresses } : {}),
  });
}
