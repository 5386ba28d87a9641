/**
 * @module daemon deps
 * What the node daemon (daemon.ts) is built from; the node's composition root (compose-node.ts) assembles it.
 * Its own module so the provider setups (setup/types.ts), which
 * contribute some of these hooks, depend on the daemon's inputs and not on the daemon.
 */
import type { CloudProvider, NodeInventory } from '../providers/types.js';
import type { AdoptionHooks } from './adopt/adoption-hooks.js';
import type { PodAddressHook } from './api/pod-address-hook.js';
import type { DaemonConfig } from './config.js';
import type { Checkpointer } from './datastore/checkpoint.js';
import type { EventSink } from './monitor/events.js';
import type { PodNetworkPlumber } from './netns/plumber.js';
import type { NetfilterPort } from './netns/node-network.js';
import type { Logger } from './observability/logger.js';
import type { ReconcilerEvents, SubnetSelector } from './pool/reconciler.js';
import type { Clock } from './util/clock.js';
import type { EniConfigNameSource } from './server/aws-introspection-routes.js';
import type { NodeCacheStore } from './cloud-node-cache.js';
import type { StartTimeline } from './start-timeline.js';

export interface DaemonDeps {
  config: DaemonConfig;
  clock: Clock;
  provider: CloudProvider;
  checkpointer: Checkpointer;
  plumber: PodNetworkPlumber;
  log: Logger;
  version: string;
  random?: () => number;
  selectSubnets?: SubnetSelector;
  interfaceTags?: () => Record<string, string>;
  /** Interfaces that must not host Pods (e.g. the primary under custom networking). */
  isUsable?: (nic: NodeInventory['interfaces'][number]) => boolean;
  /**
   * Who else hears the reconciler's events (the Kubernetes integration), called directly after the daemon's own
   * handlers, in this order (pool/event-fan-out.ts).
   */
  subscribers?: readonly ReconcilerEvents[];
  /** Directory the plugin spools DELs into while ipamd is down. */
  pendingReleaseDir?: string;
  /**
   * Where "pool cannot grow" events go (default: the log). The Kubernetes integration posts Events and a node
   * condition.
   */
  eventSink?: EventSink;
  /** Node name for events (default: the instance id). */
  nodeName?: () => string;
  /** `false` keeps the subnet monitor from sampling even with servers running (events still flow). */
  monitor?: boolean;
  /** Hears each Pod's address given and released, inside the request (Kubernetes: ANNOTATE_POD_IP). */
  podAddresses?: PodAddressHook;
  /** The ENIConfig this node names (AWS custom networking), for the introspection path /v1/eni-configs. */
  eniConfigName?: EniConfigNameSource;
  /** Netfilter programming (default: iptables-restore through netns/netfilter.ts). */
  netfilter?: NetfilterPort;
  /** VPC_IPAM_ADOPT_AWS_NODE: take over the Pods aws-node wired (adopt/adoption-hooks.ts). */
  adoption?: AdoptionHooks;
  /**
   * The node as the cloud last described it (cloud-node-cache.ts): with it, a restart serves DELs and repeated ADDs
   * before any cloud call completes. Without it (the simulator, tests), init() reads the cloud first.
   */
  nodeCache?: NodeCacheStore;
  /** Where the start's steps are recorded (run.ts marks the process start); default: a timeline of its own. */
  timeline?: StartTimeline;
}
