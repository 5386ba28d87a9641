/**
 * @module pod subnet composition
 * The one seam through which a node learns where its Pod interfaces go, built
 * in one place: the node's composition (ipamd/compose-node.ts) calls
 * {@link podSubnetHooks} once, after the provider and before the daemon, with
 * every source the node has:
 *
 * 1. the Kubernetes integration's PodSubnetConfig (node label/annotation →
 *    CRD, ipamd/k8s/node-subnets.ts), when MY_NODE_NAME is set and the node
 *    selects one (its VPC_IPAM_POD_SUBNET_CONFIG_KEY, or one named after its zone);
 * 2. else, under custom networking only, the node's AWS ENIConfig
 *    (ipamd/k8s/node-eni-config.ts) when the cluster serves that CRD: a
 *    cluster moved over from aws-node keeps its ENIConfigs, and a
 *    PodSubnetConfig is how one node is moved off them;
 * 3. the provider's static list (AWS: POD_SUBNET_IDS / POD_SECURITY_GROUPS),
 *    used when the node has neither, or alone without Kubernetes.
 *
 * Custom networking comes read once from the configuration
 * (ipamd/config/pod-subnets.ts), so the subnet choice and the Kubernetes
 * integration (max Pods) cannot disagree about it. With it on and no source
 * at all, start fails with a ConfigError naming the variable. The rules of the choice itself are
 * in providers/pod-subnets.ts.
 */
import { ConfigError } from '../../providers/errors.js';
import {
  createSubnetSelector,
  firstPodSubnetSource,
  usableUnderCustomNetworking,
  type PodSubnetSource,
} from '../../providers/pod-subnets.js';
import type { CloudProvider } from '../../providers/types.js';
import type { CustomNetworking } from '../config/pod-subnets.js';
import type { DaemonDeps } from '../daemon-deps.js';

/** What the subnet choice needs from a provider that creates interfaces (BuiltProvider.subnets). */
export interface ProviderSubnetFacts {
  vpcId: string;
  zone: string;
  nodeSubnetId: string;
  /** The provider's own static config (AWS: POD_SUBNET_IDS), if set. */
  static?: PodSubnetSource;
  /** Tag of discoverable Pod subnets (AWS ENABLE_SUBNET_DISCOVERY); undefined: no discovery. */
  discoveryTag?: string;
}

export interface PodSubnetInputs {
  customNetworking: CustomNetworking;
  provider: Pick<CloudProvider, 'name' | 'listSubnets'>;
  /** Undefined: the provider cannot create interfaces (Azure, GCP), so subnet choice does not apply. */
  facts: ProviderSubnetFacts | undefined;
  /** The Kubernetes integration's PodSubnetConfig source (MY_NODE_NAME). */
  kubernetes?: PodSubnetSource;
  /** The node's AWS ENIConfig (MY_NODE_NAME); read only under custom networking. */
  eniConfig?: PodSubnetSource;
  log?: { warn(o: object, m?: string): void };
}

/** The daemon hooks for subnet choice and interface usability; throws ConfigError when they cannot work. */
export function podSubnetHooks(i: PodSubnetInputs): Partial<Pick<DaemonDeps, 'selectSubnets' | 'isUsable'>> {
  const custom = i.customNetworking;
  const eniConfig = custom.enabled ? i.eniConfig : undefined;
  const source = firstPodSubnetSource(i.kubernetes, eniConfig, i.facts?.static);
  if (custom.enabled && !i.facts) {
    const why = `custom networking moves Pods to other interfaces, which ${i.provider.name} cannot attach`;
    throw new ConfigError(custom.variable, why);
  }
  if (custom.enabled && !source) {
    const why =
      'custom networking needs Pod subnets: run with the Kubernetes integration (MY_NODE_NAME, a PodSubnetConfig), ' +
      'or set POD_SUBNET_IDS';
    throw new ConfigError(custom.variable, why);
  }
  if (!i.facts) return {};
  const { vpcId, zone, nodeSubnetId, discoveryTag } = i.facts;
  const selectSubnets = createSubnetSelector({
    provider: i.provider,
    vpcId,
    zone,
    nodeSubnetId,
    ...(custom.enabled ? { customNetworking: { variable: custom.variable } } : {}),
    ...(source ? { podSubnets: source } : {}),
    ...(discoveryTag !== undefined ? { discoveryTag } : {}),
    ...(i.log ? { log: i.log } : {}),
  });
  return { selectSubnets, ...(custom.enabled ? { isUsable: usableUnderCustomNetworking } : {}) };
}
