/**
 * @module node composition root
 * The one place a node's parts are put together from the configuration, in this order:
 *
 * 1. the provider (provider-factory.ts: the selected cloud, its settings, an embedded emulator);
 * 2. the subnet source (setup/pod-subnets.ts): the Kubernetes PodSubnetConfig, else the provider's static
 *    list, else the node's own subnet, under the configuration's one reading of custom networking;
 * 3. the pool policy: the daemon builds it through pool/policy-factory.ts, the one factory, because the
 *    adaptive policy reads the pool limits the daemon learns at init;
 * 4. the Kubernetes hooks (event sink, node name, a reconciler subscriber), when the agent runs;
 * 5. the daemon's dependencies, each field from exactly one of the above (precedence written out below).
 *
 * The daemon (run.ts) and the simulator (sim/engine.ts) both build their node here, so a replay runs the
 * node a DaemonSet would run.
 */
import type { CloudProvider } from '../providers/types.js';
import { adoptionHooks } from './adopt/adoption-hooks.js';
import { RollbackCheckpointer } from './adopt/rollback-checkpointer.js';
import type { DaemonConfig } from './config.js';
import type { DaemonDeps } from './daemon-deps.js';
import type { Checkpointer } from './datastore/checkpoint.js';
import type { K8sNodeAgent } from './k8s/agent.js';
import type { PodNetworkPlumber } from './netns/plumber.js';
import type { Logger } from './observability/logger.js';
import { createProvider } from './provider-factory.js';
import { NETWORK_NAME } from '../cni/contract/plugin-name.js';
import { DEFAULT_VETH_PREFIX } from '../cni/contract/veth-name.js';
import { podSubnetHooks } from './setup/pod-subnets.js';
import type { BuiltProvider } from './setup/types.js';
import type { Clock } from './util/clock.js';
import type { NodeCacheStore } from './cloud-node-cache.js';
import type { StartTimeline } from './start-timeline.js';
import { eniConfigNameFrom } from './server/aws-introspection-routes.js';

export interface NodeInputs {
  config: DaemonConfig;
  clock: Clock;
  log: Logger;
  checkpointer: Checkpointer;
  plumber: PodNetworkPlumber;
  version: string;
  random?: () => number;
  /** Directory the plugin spools DELs into while ipamd is down. */
  pendingReleaseDir?: string;
  /** The Kubernetes integration, created before the provider (its PodSubnetConfig is a subnet source). */
  kubernetes?: Pick<K8sNodeAgent, 'podSubnets' | 'eniConfigs' | 'hooks'>;
  /** A provider built by the caller (the simulator's, over its in-memory cloud); default: from the configuration. */
  provider?: BuiltProvider;
  /** The node as the cloud last described it, so a restart serves before the cloud answers (cloud-node-cache.ts). */
  nodeCache?: NodeCacheStore;
  timeline?: StartTimeline;
}

export interface ComposedNode {
  deps: DaemonDeps;
  provider: CloudProvider;
  /** Stops what the composition started besides the provider (embedded emulators); after the daemon stops. */
  close(): Promise<void>;
}

/** Builds a node's daemon dependencies; on a failure, closes the provider it built before rethrowing. */
export async function composeNode(i: NodeInputs): Promise<ComposedNode> {
  const { config, clock, log, kubernetes } = i;
  // 1. The provider.
  const built = i.provider ?? (await createProvider(config, clock, log));
  const close = async () => {
    await built.close?.();
  };
  try {
    // 2. The subnet source: Kubernetes' PodSubnetConfig before the provider's static list (firstPodSubnetSource).
    const subnets = podSubnetHooks({
      customNetworking: config.customNetworking,
      provider: built.provider,
      facts: built.subnets,
      kubernetes: kubernetes?.podSubnets,
      eniConfig: kubernetes?.eniConfigs,
      log,
    });
    // 4. Kubernetes: its sink and node name replace the daemon's defaults (the log, the instance id).
    const k8s = kubernetes?.hooks();
    // 5. Each dependency has one source; none is decided by the order of an object spread.
    const deps: DaemonDeps = {
      config,
      clock,
      provider: built.provider,
      // Adopting aws-node: its checkpoint is kept current beside ours, so it can come back (rollback).
      checkpointer: config.adoption
        ? new RollbackCheckpointer(i.checkpointer, config.adoption.checkpointFile)
        : i.checkpointer,
      plumber: i.plumber,
      log,
      version: i.version,
      ...(i.random ? { random: i.random } : {}),
      ...(i.pendingReleaseDir ? { pendingReleaseDir: i.pendingReleaseDir } : {}),
      ...(i.nodeCache ? { nodeCache: i.nodeCache } : {}),
      ...(i.timeline ? { timeline: i.timeline } : {}),
      // Only the provider tags interfaces (AWS ADDITIONAL_ENI_TAGS).
      ...(built.interfaceTags ? { interfaceTags: built.interfaceTags } : {}),
      // Only the subnet source chooses subnets and says which interfaces may host Pods.
      ...(subnets.selectSubnets ? { selectSubnets: subnets.selectSubnets } : {}),
      ...(subnets.isUsable ? { isUsable: subnets.isUsable } : {}),
      // The prefix our rules match (`-i <prefix>+`): the one every adopted veth must carry.
      ...(config.adoption
        ? {
            adoption: adoptionHooks(config.adoption, {
              network: NETWORK_NAME,
              vethPrefix: vethPrefixOf(config),
              log,
              clock,
            }),
          }
        : {}),
      ...(k8s ? { eventSink: k8s.eventSink, nodeName: k8s.nodeName, subscribers: [k8s.subscriber] } : {}),
      // Only Kubernetes hears of a Pod's address (ANNOTATE_POD_IP).
      ...(k8s?.podAddresses ? { podAddresses: k8s.podAddresses } : {}),
      // The AWS introspection path /v1/eni-configs: the ENIConfig this node names.
      ...(kubernetes ? { eniConfigName: eniConfigNameFrom(() => kubernetes.eniConfigs.view()) } : {}),
    };
    return { deps, provider: built.provider, close };
  } catch (err) {
    await built.provider.close?.();
    await close();
    throw err;
  }
}

const vethPrefixOf = (c: DaemonConfig): string => c.hostNetwork.vethPrefix ?? DEFAULT_VETH_PREFIX;
