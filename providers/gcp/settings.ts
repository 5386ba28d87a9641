/**
 * @module gcp settings
 * The GCP adapter's variables (docs/gcp.md §Variables), parsed and validated with errors that name the
 * variable. Pure (an environment in, settings out) and free of the SDK: ipamd's configuration calls it once.
 */
import { present, readInt, type Env } from '../env-settings.js';
import { ConfigError } from '../errors.js';
import type { GcpSettings } from './create.js';

/** Alias IP ranges GCE allows on one NIC (docs.cloud.google.com/vpc/docs/quota). */
export const GCE_ALIAS_RANGES_PER_NIC = 150;

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])$/;

/** `http(s)://host[:port]`; plain http only to loopback, so a token never crosses a network in clear. */
function readEndpoint(env: Env, name: string): GcpSettings['computeEndpoint'] {
  const raw = present(env, name);
  if (raw === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(name, `expected a URL such as http://127.0.0.1:8089, got "${raw}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ConfigError(name, `expected http:// or https://, got "${raw}"`);
  }
  if (u.pathname !== '/' || u.search || u.hash) {
    throw new ConfigError(name, `give scheme, host and port only (the SDK adds /compute/v1/...), got "${raw}"`);
  }
  if (u.protocol === 'http:' && !LOOPBACK.test(u.hostname)) {
    throw new ConfigError(name, `plain http is allowed to loopback only, got host "${u.hostname}"`);
  }
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  return { protocol: u.protocol === 'https:' ? 'https' : 'http', host: u.hostname.replace(/^\[|\]$/g, ''), port };
}

function readName(env: Env, name: string, def?: string): string | undefined {
  const v = present(env, name) ?? def;
  if (v !== undefined && !/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v)) {
    const rule = 'lower-case letters, digits, dashes; starts with a letter';
    throw new ConfigError(name, `"${v}" is not a GCE resource name (${rule})`);
  }
  return v;
}

/** Every GCP variable, validated; see docs/gcp.md §Variables. */
export function readGcpSettings(env: Env): GcpSettings {
  const metadataHost = present(env, 'GCE_METADATA_HOST') ?? 'metadata.google.internal';
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(metadataHost)) {
    throw new ConfigError('GCE_METADATA_HOST', `expected host or host:port, got "${metadataHost}"`);
  }
  const endpoint = readEndpoint(env, 'GCP_COMPUTE_ENDPOINT');
  const token = present(env, 'GCP_ACCESS_TOKEN');
  const project = present(env, 'GCP_PROJECT');
  if (project !== undefined && !/^[a-z][-a-z0-9:.]{4,61}[a-z0-9]$/.test(project)) {
    throw new ConfigError('GCP_PROJECT', `"${project}" is not a project id`);
  }
  const zone = readName(env, 'GCP_ZONE');
  const instance = readName(env, 'GCP_INSTANCE_NAME');
  return {
    ...(endpoint ? { computeEndpoint: endpoint } : {}),
    metadataHost,
    ...(token !== undefined ? { accessToken: token } : {}),
    ...(project !== undefined ? { project } : {}),
    ...(zone !== undefined ? { zone } : {}),
    ...(instance !== undefined ? { instance } : {}),
    podsRangeName: readName(env, 'GCP_POD_RANGE_NAME', 'pods') ?? 'pods',
    blockPrefixLength: readInt(env, 'GCP_ALIAS_BLOCK_PREFIX_LENGTH', 28, { min: 22, max: 28 }),
    maxAliasRanges: readInt(env, 'GCP_MAX_ALIAS_RANGES', GCE_ALIAS_RANGES_PER_NIC, {
      min: 1,
      max: GCE_ALIAS_RANGES_PER_NIC,
    }),
    fingerprintRetries: readInt(env, 'GCP_FINGERPRINT_RETRIES', 5, { min: 1, max: 20 }),
    operationTimeoutMs: readInt(env, 'GCP_OPERATION_TIMEOUT_SECONDS', 180, { min: 5, max: 1800 }) * 1000,
  };
}
