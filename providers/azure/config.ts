/**
 * @module azure adapter settings
 * The `AZURE_*` variables the adapter reads (the pool-sizing ones live in
 * `ipamd/config/azure-batch.ts`). Each bad value is a ConfigError that
 * names the variable. See docs/azure.md.
 */
import { present, type Env } from '../env-settings.js';
import { ConfigError } from '../errors.js';
import { parseSubnetId } from './arm-ids.js';
import { isLoopbackUrl } from './credential.js';

export interface AzureSettings {
  /** ARM base URL (default `https://management.azure.com`). */
  armEndpoint: string;
  /** IMDS base URL (default `http://169.254.169.254`). */
  imdsEndpoint: string;
  imdsApiVersion: string;
  /**
   * ARM id of the Pod subnet: Pods get addresses from the VM's NIC in that
   * subnet, created with the VM (`pod-nic.ts`); unset, from the NIC tagged
   * `vpc-ipam.io/pod-nic=true`, else from every NIC in its own subnet.
   */
  podSubnetId: string | undefined;
  /** Poll interval of long-running operations when the server sends no Retry-After. */
  lroPollIntervalMs: number;
  /**
   * `managed-identity`: the VM's identity through IMDS's token endpoint (`managed-identity.ts`, no MSAL).
   * `default`: DefaultAzureCredential (workload identity, a service principal, then managed identity).
   * `static`: the test token, loopback endpoints only.
   */
  credential: AzureCredentialKind;
  /** Client id of a user-assigned managed identity. */
  managedIdentityClientId: string | undefined;
  /** Base URL of the managed-identity token endpoint: AZURE_POD_IDENTITY_AUTHORITY_HOST, else `imdsEndpoint`. */
  identityEndpoint: string;
}

export type AzureCredentialKind = 'managed-identity' | 'default' | 'static';
const CREDENTIALS: readonly string[] = ['managed-identity', 'default', 'static'];

/**
 * The variables with which DefaultAzureCredential would pick a credential before managed identity
 * (workload identity's token file, a service principal's secret or certificate, a user): with any of
 * them set, an unset AZURE_CREDENTIAL means `default`, so such a deployment keeps its credential.
 */
const BEFORE_MANAGED_IDENTITY = [
  'AZURE_FEDERATED_TOKEN_FILE',
  'AZURE_CLIENT_SECRET',
  'AZURE_CLIENT_CERTIFICATE_PATH',
  'AZURE_USERNAME',
];

function defaultCredentialKind(env: Env, loopback: boolean): AzureCredentialKind {
  if (loopback) return 'static';
  return BEFORE_MANAGED_IDENTITY.some((k) => present(env, k) !== undefined) ? 'default' : 'managed-identity';
}

function readUrl(env: Env, name: string, def: string): string {
  const raw = present(env, name) ?? def;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(name, `expected an http(s) URL, got "${raw}"`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new ConfigError(name, `expected an http(s) URL, got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

export function parseAzureSettings(env: Env): AzureSettings {
  const armEndpoint = readUrl(env, 'AZURE_ARM_ENDPOINT', 'https://management.azure.com');
  if (armEndpoint.startsWith('http:') && !isLoopbackUrl(armEndpoint)) {
    throw new ConfigError(
      'AZURE_ARM_ENDPOINT',
      `plain http is only allowed to a loopback emulator, got "${armEndpoint}"`,
    );
  }
  const imdsEndpoint = readUrl(env, 'AZURE_IMDS_ENDPOINT', 'http://169.254.169.254');
  const pod = present(env, 'AZURE_POD_SUBNET_ID');
  if (pod !== undefined && !parseSubnetId(pod)) {
    throw new ConfigError(
      'AZURE_POD_SUBNET_ID',
      'expected /subscriptions/…/resourceGroups/…/providers/Microsoft.Network/virtualNetworks/…/subnets/…, ' +
        `got "${pod}"`,
    );
  }
  const pollRaw = present(env, 'AZURE_LRO_POLL_INTERVAL_MS') ?? '2000';
  if (!/^\d+$/.test(pollRaw) || Number(pollRaw) < 10 || Number(pollRaw) > 60_000) {
    throw new ConfigError(
      'AZURE_LRO_POLL_INTERVAL_MS',
      `expected a whole number of milliseconds from 10 to 60000, got "${pollRaw}"`,
    );
  }
  const loopback = isLoopbackUrl(armEndpoint);
  const cred = (present(env, 'AZURE_CREDENTIAL') ?? defaultCredentialKind(env, loopback)) as AzureCredentialKind;
  if (!CREDENTIALS.includes(cred))
    throw new ConfigError('AZURE_CREDENTIAL', `expected ${CREDENTIALS.join(', ')}, got "${cred}"`);
  if (cred === 'static' && !loopback) {
    throw new ConfigError(
      'AZURE_CREDENTIAL',
      'static (the emulator test token) is only allowed with a loopback AZURE_ARM_ENDPOINT',
    );
  }
  const apiVersion = present(env, 'AZURE_IMDS_API_VERSION') ?? '2021-02-01';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(apiVersion))
    throw new ConfigError('AZURE_IMDS_API_VERSION', `expected YYYY-MM-DD, got "${apiVersion}"`);
  return {
    armEndpoint,
    imdsEndpoint,
    imdsApiVersion: apiVersion,
    podSubnetId: pod,
    lroPollIntervalMs: Number(pollRaw),
    credential: cred,
    managedIdentityClientId: present(env, 'AZURE_CLIENT_ID'),
    identityEndpoint: readUrl(env, 'AZURE_POD_IDENTITY_AUTHORITY_HOST', imdsEndpoint),
  };
}
