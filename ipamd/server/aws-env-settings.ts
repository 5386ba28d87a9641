/**
 * @module AWS env settings views
 * `GET /v1/ipamd-env-settings` and `GET /v1/networkutils-env-settings` in the AWS VPC CNI's shape: the maps its
 * `GetConfigForDebug` functions return (aws/amazon-vpc-cni-k8s v1.23.1 @b521883, pkg/ipamd/ipamd.go and
 * pkg/networkutils/network.go), the same keys with the same JSON types (numbers, booleans, a list of CIDRs or
 * null), keys sorted as Go marshals a map.
 *
 * The values are the ones this ipamd runs with, from the parsed configuration, never the raw environment: where
 * vpc-ipam does something fixed, that is what is shown (AWS_MANAGE_ENIS_NON_SCHEDULABLE is true because vpc-ipam
 * always manages interfaces on a cordoned node; AWS_EXTERNAL_SERVICE_CIDRS is null because any other value is
 * refused). None of these is a secret.
 */
import { DEFAULT_VETH_PREFIX } from '../../cni/contract/veth-name.js';
import type { DaemonConfig } from '../config.js';

/** The AWS CNI's `snatType` (a uint32 iota in pkg/networkutils/network.go), which is what it marshals. */
const SNAT_TYPE: Record<DaemonConfig['hostNetwork']['randomizeSnat'], number> = { none: 0, hashrandom: 1, prng: 2 };

export interface AwsIpamdEnvSettings {
  AWS_MANAGE_ENIS_NON_SCHEDULABLE: boolean;
  AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: boolean;
  ENABLE_SUBNET_DISCOVERY: boolean;
  WARM_ENI_TARGET: number;
  WARM_IP_TARGET: number;
}

export interface AwsNetworkutilsEnvSettings {
  AWS_EXTERNAL_SERVICE_CIDRS: string[] | null;
  AWS_VPC_CNI_NODE_PORT_SUPPORT: boolean;
  AWS_VPC_ENI_MTU: number;
  AWS_VPC_K8S_CNI_CONNMARK: number;
  AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: string[] | null;
  AWS_VPC_K8S_CNI_EXTERNALSNAT: boolean;
  AWS_VPC_K8S_CNI_RANDOMIZESNAT: number;
  AWS_VPC_K8S_CNI_VETHPREFIX: string;
}

export function awsIpamdEnvSettings(c: DaemonConfig): AwsIpamdEnvSettings {
  const p = c.providerSettings;
  return {
    AWS_MANAGE_ENIS_NON_SCHEDULABLE: true,
    AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: c.customNetworking.enabled,
    // Only the aws provider discovers subnets by tag; the others use what they are given.
    ENABLE_SUBNET_DISCOVERY: p.name === 'aws' && p.settings.subnetDiscovery,
    WARM_ENI_TARGET: c.targets.warmInterfaces,
    WARM_IP_TARGET: c.targets.warmIps,
  };
}

export function awsNetworkutilsEnvSettings(c: DaemonConfig): AwsNetworkutilsEnvSettings {
  const h = c.hostNetwork;
  return {
    AWS_EXTERNAL_SERVICE_CIDRS: null,
    AWS_VPC_CNI_NODE_PORT_SUPPORT: h.nodePortSupport,
    AWS_VPC_ENI_MTU: c.interfaceMtu,
    AWS_VPC_K8S_CNI_CONNMARK: h.connmark,
    // Go's nil slice: null when there is none, as there.
    AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: h.excludeSnatCidrs.length > 0 ? [...h.excludeSnatCidrs] : null,
    AWS_VPC_K8S_CNI_EXTERNALSNAT: h.externalSnat,
    AWS_VPC_K8S_CNI_RANDOMIZESNAT: SNAT_TYPE[h.randomizeSnat],
    // Unset (or vpc): our own vpc<hash> names (cni/contract/veth-name.ts).
    AWS_VPC_K8S_CNI_VETHPREFIX: h.vethPrefix ?? DEFAULT_VETH_PREFIX,
  };
}
