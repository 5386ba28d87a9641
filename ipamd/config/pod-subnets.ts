/**
 * @module pod subnet settings
 * Custom networking (`VPC_IPAM_CUSTOM_NETWORKING`, or the AWS VPC CNI's `AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG`),
 * read here and only here, so the subnet choice (ipamd/setup/pod-subnets.ts), the Kubernetes integration
 * (max Pods) and `vpc-ipamctl plan` cannot disagree about it.
 */
import { present, readBool, type Env } from './readers.js';

export interface CustomNetworking {
  enabled: boolean;
  /** The variable that decided it, named in errors. */
  variable: string;
}

/** VPC_IPAM_CUSTOM_NETWORKING when set, else AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG (migrated DaemonSets keep working). */
export function readCustomNetworking(env: Env): CustomNetworking {
  const own = 'VPC_IPAM_CUSTOM_NETWORKING';
  const aws = 'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG';
  if (present(env, own) !== undefined) return Object.freeze({ enabled: readBool(env, own, false), variable: own });
  return Object.freeze({ enabled: readBool(env, aws, false), variable: aws });
}
