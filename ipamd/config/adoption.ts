/**
 * @module adoption settings
 * In-place migration from aws-node (ipamd/adopt/): explicit, off by default.
 * - VPC_IPAM_ADOPT_AWS_NODE (Go-style boolean, default false): at start, adopt the Pods the AWS VPC CNI wired,
 *   keep its checkpoint current for a rollback, and move its conflist aside once ours is in place;
 * - VPC_IPAM_AWS_NODE_CHECKPOINT (default /var/run/aws-node/ipam.json): the AWS CNI's checkpoint. Our own name
 *   rather than AWS_VPC_K8S_CNI_BACKING_STORE: that one is aws-node's container path, and a manifest copied from
 *   aws-node would carry it into ours unnoticed. Set without adoption, it is refused (nothing is ignored).
 * AWS only: the AWS CNI runs nowhere else.
 */
import { ConfigError } from '../../providers/errors.js';
import type { ProviderName } from '../../providers/types.js';
import { present, readBool, type Env } from './readers.js';

export const DEFAULT_AWS_NODE_CHECKPOINT = '/var/run/aws-node/ipam.json';

export interface AdoptionSettings {
  /** The AWS CNI's checkpoint file. */
  checkpointFile: string;
}

export function parseAdoption(env: Env, provider: ProviderName): AdoptionSettings | undefined {
  const file = present(env, 'VPC_IPAM_AWS_NODE_CHECKPOINT');
  if (!readBool(env, 'VPC_IPAM_ADOPT_AWS_NODE', false)) {
    if (file !== undefined) {
      throw new ConfigError('VPC_IPAM_AWS_NODE_CHECKPOINT', 'only read with VPC_IPAM_ADOPT_AWS_NODE=true; unset it');
    }
    return undefined;
  }
  if (provider !== 'aws') {
    throw new ConfigError('VPC_IPAM_ADOPT_AWS_NODE', `aws-node runs on AWS only; VPC_IPAM_PROVIDER is ${provider}`);
  }
  if (file !== undefined && !file.startsWith('/')) {
    throw new ConfigError('VPC_IPAM_AWS_NODE_CHECKPOINT', `expected an absolute path, got "${file}"`);
  }
  return Object.freeze({ checkpointFile: file ?? DEFAULT_AWS_NODE_CHECKPOINT });
}
