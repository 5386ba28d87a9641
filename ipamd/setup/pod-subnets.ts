/**
 * @module pod subnet composition
 * The one seam through which a node learns where its Pod interfaces go, built
 * in one place: `createNodeProvider` (provider-factory.ts) calls
 * {@link podSubnetHooks} once, after the provider and before the daemon, with
 * every source the node has:
 *
 * 1. the Kubernetes integration's PodSubnetConfig (node label/annotation →
 *    CRD, ipamd/k8s/node-subnets.ts), when MY_NODE_NAME is set;
 * 2. the provider's static list (AWS: POD_SUBNET_IDS / POD_SECURITY_GROUPS),
 *    used when the node has no PodSubnetConfig, or alone without Kubernetes.
 *
 * Custom networking (`VPC_IPAM_CUSTOM_NETWORKING`, or the AWS VPC CNI's
 * `AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG`) is read here and only here, so the
 * provider, the subnet choice and the Kubernetes integration (max Pods)
 * cannot disagree about it. With it on and no source at all, start fails
 * with a ConfigError naming the variable. The rules of the choice itself are
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
import { readBool } from '../config.js';
import type { DaemonDeps } from '../daemon-deps.js';

type Env = Readonly<Record<string, string | undefined>>;

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

export interface CustomNetworking {
  enabled: boolean;
  /** The variable that decided it, named in errors. */
  variable: string;
}

/** VPC_IPAM_CUSTOM_NETWORKING when set, else AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG (migrated DaemonSets keep working). */
export function readCustomNetworking(env: Env): CustomNetworking {
  const own = 'VPC_IPAM_CUSTOM_NETWORKING';
  const aws = 'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG';
  if (env[own] !== undefined && env[own].trim() !== '') return { enabled: readBool(env, own, false), variable: own };
  return { enabled: readBool(env, aws, false), variable: aws };
}

export interface PodSubnetInputs {
  env: Env;
  provider: Pick<CloudProvider, 'name' | 'listSubnets'>;
  /** Undefined: the provider cannot create interfaces (Azure, GCP), so subnet choice does not apply. */
  facts: ProviderSubnetFacts | undefined;
  /** The Kubernetes integration's PodSubnetConfig source (MY_NODE_NAME). */
  kubernetes?: PodSubnetSource;
  log?: { warn(o: object, m?: string): void };
}

/** The daemon hooks for subnet choice and interface usability; throws ConfigError when they cannot work. */
export function podSubnetHooks(i: PodSubnetInputs): Partial<Pick<DaemonDeps, 'selectSubnets' | 'isUsable'>> {
  const custom = readCustomNetworking(i.env);
  const source = firstPodSubnetSource(i.kubernetes, i.facts?.static);
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
