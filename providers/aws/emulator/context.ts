/**
 * @module ec2 action context
 * What an EC2 action handler gets besides its parameters: the shared sim
 * cloud (the one truth behind EC2 and IMDS), the idempotency tokens seen so
 * far, and how the emulator words prefix exhaustion.
 */
import type { SimCloud } from '../../sim/cloud.js';

/**
 * How prefix exhaustion is reported. `InsufficientCidrBlocks` is the usual
 * code; real EC2 also answers `InvalidParameterValue` "There aren't
 * sufficient free Ipv4 addresses or prefixes" (amazon-vpc-cni-k8s#3105,
 * cilium#31016), which clients must treat the same way.
 */
export type PrefixShortageCode = 'InsufficientCidrBlocks' | 'InvalidParameterValue';

export const PREFIX_SHORTAGE_MESSAGE = "There aren't sufficient free Ipv4 addresses or prefixes";

export interface ActionContext {
  cloud: SimCloud;
  /** CreateNetworkInterface ClientToken → interface id (EC2 idempotency). */
  clientTokens: Map<string, string>;
  prefixShortage: PrefixShortageCode;
}
