/**
 * @module provider settings
 * The selected provider's settings, and its embedded emulator's (npm start, demos). Each provider's own schema
 * stays in providers/ (providers/aws/settings.ts, providers/azure/config.ts, providers/gcp/settings.ts: pure,
 * no SDK); this module only calls the selected one, so a node on AWS is never refused for a bad AZURE_* value.
 */
import { parseAwsSettings, type AwsSettings } from '../../providers/aws/settings.js';
import { parseAzureSettings, type AzureSettings } from '../../providers/azure/config.js';
import { ConfigError } from '../../providers/errors.js';
import type { GcpSettings } from '../../providers/gcp/create.js';
import { readGcpSettings } from '../../providers/gcp/settings.js';
import type { ProviderName } from '../../providers/types.js';
import { present, readBool, readInt, readNumber, type Env } from './readers.js';

/** VPC_IPAM_SIM_LATENCY_SCALE (0-100, default 1): multiplies the sim's and the embedded EC2 emulator's latencies. */
function readLatencyScale(env: Env): number {
  return readNumber(env, 'VPC_IPAM_SIM_LATENCY_SCALE', 1, 0, 100);
}

export interface AzureEmulatorSettings {
  lro: 'async' | 'sync';
  subnetCidr: string | undefined;
  podSubnetCidr: string | undefined;
  vmSize: string | undefined;
  operationMs: number | undefined;
  retryAfterSeconds: number | undefined;
}

/** Without the emulator: the adapter's settings. With it: all but the endpoints, which the emulator provides. */
export type AzureConfig =
  | { embedded: undefined; settings: AzureSettings }
  | {
      embedded: AzureEmulatorSettings;
      settings: Omit<AzureSettings, 'armEndpoint' | 'imdsEndpoint'>;
    };

export interface GcpEmulatorSettings {
  /** VPC_IPAM_GCP_EMULATOR_OPERATION_MS; undefined: the emulator's GCE-like default. */
  operationMs: number | undefined;
  podsCidr: string;
}

export type ProviderSettings =
  | { name: 'sim'; latencyScale: number }
  | {
      name: 'aws';
      settings: AwsSettings;
      emulatorLatencyScale: number | undefined;
      /** Sign with the emulator's static credentials (vpc-ipamctl against `vpc-ipamctl emulate`). */
      emulatorCredentials: boolean;
    }
  | { name: 'azure'; azure: AzureConfig }
  | { name: 'gcp'; settings: GcpSettings; embedded: GcpEmulatorSettings | undefined };

function readAzureCidr(env: Env, name: string): string | undefined {
  const raw = present(env, name);
  if (raw === undefined) return undefined;
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(raw)) throw new ConfigError(name, `expected an IPv4 CIDR, got "${raw}"`);
  return raw;
}

function readWholeUpTo(env: Env, name: string, max: number): number | undefined {
  const raw = present(env, name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) > max) {
    throw new ConfigError(name, `expected a whole number from 0 to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

/** The Azure emulator's seeding (first start) and pace (every start) variables, see ipamd/setup/azure.ts. */
function parseAzureEmulator(env: Env): AzureEmulatorSettings {
  const lro = present(env, 'VPC_IPAM_AZURE_EMULATOR_LRO') ?? 'async';
  if (lro !== 'async' && lro !== 'sync')
    throw new ConfigError('VPC_IPAM_AZURE_EMULATOR_LRO', `expected async or sync, got "${lro}"`);
  return Object.freeze({
    lro,
    subnetCidr: readAzureCidr(env, 'VPC_IPAM_AZURE_EMULATOR_SUBNET_CIDR'),
    podSubnetCidr: readAzureCidr(env, 'VPC_IPAM_AZURE_EMULATOR_POD_SUBNET_CIDR'),
    vmSize: present(env, 'VPC_IPAM_AZURE_EMULATOR_VM_SIZE'),
    operationMs: readWholeUpTo(env, 'VPC_IPAM_AZURE_EMULATOR_OPERATION_MS', 600_000),
    retryAfterSeconds: readWholeUpTo(env, 'VPC_IPAM_AZURE_EMULATOR_RETRY_AFTER_SECONDS', 3600),
  });
}

/** What the embedded emulator answers on; replaced by its real loopback URL once it listens. */
const EMULATOR_PLACEHOLDER_URL = 'http://127.0.0.1';
/** The emulator answers at once: a short poll of its operations, unless AZURE_LRO_POLL_INTERVAL_MS says otherwise. */
const EMULATOR_LRO_POLL_MS = '50';

function parseAzureConfig(env: Env): AzureConfig {
  if (!readBool(env, 'VPC_IPAM_AZURE_EMBEDDED_EMULATOR', false)) {
    return { embedded: undefined, settings: parseAzureSettings(env) };
  }
  const embedded = parseAzureEmulator(env);
  // The emulator provides the endpoints and takes the static test credential, whatever the variables say.
  const {
    armEndpoint: _arm,
    imdsEndpoint: _imds,
    ...settings
  } = parseAzureSettings({
    ...env,
    AZURE_ARM_ENDPOINT: EMULATOR_PLACEHOLDER_URL,
    AZURE_IMDS_ENDPOINT: EMULATOR_PLACEHOLDER_URL,
    AZURE_CREDENTIAL: 'static',
    AZURE_LRO_POLL_INTERVAL_MS: present(env, 'AZURE_LRO_POLL_INTERVAL_MS') ?? EMULATOR_LRO_POLL_MS,
  });
  return { embedded, settings: Object.freeze(settings) };
}

function parseGcpEmulator(env: Env): GcpEmulatorSettings {
  for (const v of ['GCP_COMPUTE_ENDPOINT', 'GCE_METADATA_HOST'] as const) {
    if (present(env, v) !== undefined) {
      const why = 'cannot be set with VPC_IPAM_GCP_EMBEDDED_EMULATOR=true (the embedded emulator provides both)';
      throw new ConfigError(v, why);
    }
  }
  const opMs = present(env, 'VPC_IPAM_GCP_EMULATOR_OPERATION_MS');
  return Object.freeze({
    operationMs:
      opMs === undefined ? undefined : readInt(env, 'VPC_IPAM_GCP_EMULATOR_OPERATION_MS', 0, { min: 0, max: 600_000 }),
    podsCidr: present(env, 'VPC_IPAM_GCP_EMULATOR_PODS_CIDR') ?? '10.4.0.0/14',
  });
}

export function parseProviderSettings(env: Env, name: ProviderName): ProviderSettings {
  switch (name) {
    case 'sim':
      return { name, latencyScale: readLatencyScale(env) };
    case 'aws': {
      const settings = Object.freeze(parseAwsSettings(env));
      const emulatorLatencyScale = settings.embeddedEmulator ? readLatencyScale(env) : undefined;
      return { name, settings, emulatorLatencyScale, emulatorCredentials: false };
    }
    case 'azure':
      return { name, azure: parseAzureConfig(env) };
    case 'gcp': {
      const settings = Object.freeze(readGcpSettings(env));
      const embedded = readBool(env, 'VPC_IPAM_GCP_EMBEDDED_EMULATOR', false) ? parseGcpEmulator(env) : undefined;
      return { name, settings, embedded };
    }
  }
}
