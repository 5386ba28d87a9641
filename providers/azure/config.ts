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
  /** `default`: DefaultAzureCredential (managed identity). `static`: the test token, loopback endpoints only. */
  credential: 'default' | 'static';
  /** Client id of a user-assigned managed identity. */
  managedIdentityClientId: string | undefined;
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
  const cred = present(env, 'AZURE_CREDENTIAL') ?? (loopback ? 'static' : 'default');
  if (cred !== 'default' && cred !== 'static')
    throw new ConfigError('AZURE_CREDENTIAL', `expected default or static, got "${cred}"`);
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
  };
}
