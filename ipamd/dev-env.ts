/**
 * @module dev environment
 * The environment `npm start` (ipamd/dev-start.ts) runs the daemon with. Pure
 * (an environment in, one out), so it is tested without starting anything.
 *
 * The rule: the dev runner never reaches a real cloud or cluster. Whatever
 * VPC_IPAM_PROVIDER says, aws, azure and gcp run against their embedded
 * emulator on loopback, and variables that would point the SDKs or the
 * Kubernetes client elsewhere (endpoints, tokens, MY_NODE_NAME) are dropped
 * with a note. On an EC2, Azure or GCE host with a role, the SDK's defaults
 * would otherwise find the real metadata service and manage real
 * interfaces. Only VPC_IPAM_DEV_REAL_CLOUD=true (a boolean as ParseBool reads
 * it) hands the environment over as given.
 *
 * Each provider gets its own directory (`.run/<provider>/`: state, socket,
 * log), so switching clouds never strands one cloud's assignments in another's
 * checkpoint.
 */
import * as path from 'node:path';
import { ConfigError } from '../providers/errors.js';
import type { ProviderName } from '../providers/types.js';
import { readBool } from './config.js';
import { parseBool } from '../cni/contract/bool.js';

const PROVIDERS: readonly ProviderName[] = ['sim', 'aws', 'azure', 'gcp'];

/** Per provider: the switch that starts its embedded emulator. */
const EMBEDDED: Record<Exclude<ProviderName, 'sim'>, string> = {
  aws: 'VPC_IPAM_AWS_EMBEDDED_EMULATOR',
  azure: 'VPC_IPAM_AZURE_EMBEDDED_EMULATOR',
  gcp: 'VPC_IPAM_GCP_EMBEDDED_EMULATOR',
};

/** Variables that would send a provider, its credentials or the Kubernetes client to something real. */
const OUTWARD = [
  'AWS_EC2_ENDPOINT',
  'AWS_EC2_METADATA_SERVICE_ENDPOINT',
  'AZURE_ARM_ENDPOINT',
  'AZURE_IMDS_ENDPOINT',
  'GCP_COMPUTE_ENDPOINT',
  'GCE_METADATA_HOST',
  'GCP_ACCESS_TOKEN',
  'MY_NODE_NAME',
] as const;

export interface DevEnvironment {
  env: NodeJS.ProcessEnv;
  provider: ProviderName;
  /** `.run/<provider>`: state, socket and log of this provider's dev daemon. */
  dir: string;
  realCloud: boolean;
  /** One line each, for the terminal: what was overridden and why. */
  notes: string[];
}

export function devEnvironment(given: NodeJS.ProcessEnv, cwd = process.cwd()): DevEnvironment {
  const realCloud = readBool(given, 'VPC_IPAM_DEV_REAL_CLOUD', false);
  const provider = (given.VPC_IPAM_PROVIDER?.trim() || 'aws') as ProviderName;
  if (!PROVIDERS.includes(provider)) {
    throw new ConfigError('VPC_IPAM_PROVIDER', `expected one of ${PROVIDERS.join(', ')}, got "${provider}"`);
  }
  const dir = path.join(path.resolve(cwd, given.VPC_IPAM_DEV_DIR?.trim() || '.run'), provider);
  const env: NodeJS.ProcessEnv = {
    VPC_IPAM_STATE_DIR: path.join(dir, 'state'),
    VPC_IPAM_SOCKET: path.join(dir, 'ipamd.sock'),
    VPC_IPAM_LOG_FILE: path.join(dir, 'ipamd.log'),
    VPC_IPAM_PLUMBING: 'off',
    // The emulators' interfaces are no links of this host; their MACs must never be matched to real ones.
    VPC_IPAM_HOST_INTERFACES: 'false',
    // A laptop's metrics are for its user: loopback unless asked (the daemon's own default is node-wide, see docs).
    VPC_IPAM_METRICS_ADDRESS: '127.0.0.1:61678',
    // One Azure NIC holds 255 IPs: the AWS default WARM_ENI_TARGET=1 would fill it, so size it the AKS way.
    ...(provider === 'azure' ? { WARM_POOL_POLICY: 'azure-batch' } : {}),
    ...given,
    VPC_IPAM_PROVIDER: provider,
  };
  const notes: string[] = [];
  if (realCloud) {
    notes.push(`VPC_IPAM_DEV_REAL_CLOUD=${given.VPC_IPAM_DEV_REAL_CLOUD}: the environment is used as given`);
    return { env, provider, dir, realCloud, notes };
  }
  for (const v of OUTWARD) {
    if (env[v] === undefined) continue;
    delete env[v];
    notes.push(`ignoring ${v}: npm start never talks to a real cloud or cluster (VPC_IPAM_DEV_REAL_CLOUD=1 to allow)`);
  }
  if (provider !== 'sim') {
    const flag = EMBEDDED[provider];
    const asked = env[flag]?.trim();
    if (asked && parseBool(asked) !== true) notes.push(`ignoring ${flag}=${asked}: npm start always uses the emulator`);
    env[flag] = 'true';
  }
  return { env, provider, dir, realCloud, notes };
}
