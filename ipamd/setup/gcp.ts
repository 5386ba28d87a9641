/**
 * @module gcp setup
 * `VPC_IPAM_PROVIDER=gcp`: reads the GCP variables (docs/gcp.md), and with
 * `VPC_IPAM_GCP_EMBEDDED_EMULATOR=true` first starts the GCE emulator in
 * this process on a free loopback port, over a cloud saved in
 * `<state dir>/gcp-cloud.json` (so the node's alias ranges outlive a
 * restart, as on GCE), and points the adapter at it. The adapter then talks
 * to it over HTTP with the real SDK, exactly as it would to GCE. Its zone
 * operations take GCE-like time (`VPC_IPAM_GCP_EMULATOR_OPERATION_MS`,
 * default 4000), on the daemon's clock.
 *
 * This module is imported only when gcp is selected; it loads the Compute
 * SDK through `createGcpProvider`.
 */
import * as path from 'node:path';
import { ConfigError, IpamError } from '../../providers/errors.js';
import { createGcpProvider, type GcpSettings } from '../../providers/gcp/index.js';
import {
  GCE_MAX_ALIAS_RANGES_PER_NIC,
  GCE_OPERATION_DEFAULTS,
  startEmulatedGceNode,
  type EmulatedGceNode,
} from '../../providers/gcp/emulator/index.js';
import { readBool, readInt, type DaemonConfig } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import { ensureDirSync } from '../util/ensure-dir.js';
import type { BuiltProvider } from './types.js';

type Env = DaemonConfig['env'];

function present(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

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
    podsRangeName: readName(env, 'GCP_POD_RANGE_NAME', 'pods')!,
    blockPrefixLength: readInt(env, 'GCP_ALIAS_BLOCK_PREFIX_LENGTH', 28, { min: 22, max: 28 }),
    maxAliasRanges: readInt(env, 'GCP_MAX_ALIAS_RANGES', GCE_MAX_ALIAS_RANGES_PER_NIC, {
      min: 1,
      max: GCE_MAX_ALIAS_RANGES_PER_NIC,
    }),
    fingerprintRetries: readInt(env, 'GCP_FINGERPRINT_RETRIES', 5, { min: 1, max: 20 }),
    operationTimeoutMs: readInt(env, 'GCP_OPERATION_TIMEOUT_SECONDS', 180, { min: 5, max: 1800 }) * 1000,
  };
}

/** Starts the embedded emulator over `<state dir>/gcp-cloud.json`; returns it and the settings that point at it. */
async function startEmbedded(
  config: DaemonConfig,
  settings: GcpSettings,
  clock: Clock,
  log: Logger,
): Promise<{ node: EmulatedGceNode; settings: GcpSettings }> {
  for (const v of ['GCP_COMPUTE_ENDPOINT', 'GCE_METADATA_HOST'] as const) {
    if (present(config.env, v) !== undefined) {
      const why = 'cannot be set with VPC_IPAM_GCP_EMBEDDED_EMULATOR=true (the embedded emulator provides both)';
      throw new ConfigError(v, why);
    }
  }
  const durationMs = readInt(config.env, 'VPC_IPAM_GCP_EMULATOR_OPERATION_MS', GCE_OPERATION_DEFAULTS.durationMs, {
    min: 0,
    max: 600_000,
  });
  ensureDirSync(config.stateDir, 'VPC_IPAM_STATE_DIR');
  const stateFile = path.join(config.stateDir, 'gcp-cloud.json');
  let node: EmulatedGceNode;
  try {
    node = await startEmulatedGceNode({
      stateFile,
      clock,
      seed: config.sim.seed,
      podsRangeName: settings.podsRangeName,
      podsCidr: present(config.env, 'VPC_IPAM_GCP_EMULATOR_PODS_CIDR') ?? '10.4.0.0/14',
      operations: { durationMs },
    });
  } catch (err) {
    // A bad CIDR is the operator's: say which variable.
    if (IpamError.is(err) && err.code === 'CLOUD_INVALID') {
      throw new ConfigError('VPC_IPAM_GCP_EMULATOR_PODS_CIDR', err.message);
    }
    throw err;
  }
  const port = Number(new URL(node.endpoint).port);
  const where = { compute: node.endpoint, metadata: node.emulator.host, state: stateFile, operationMs: durationMs };
  log.info(where, 'embedded GCE emulator listening');
  return {
    node,
    settings: {
      ...settings,
      computeEndpoint: { protocol: 'http', host: '127.0.0.1', port },
      metadataHost: node.emulator.host,
      accessToken: settings.accessToken ?? 'embedded-emulator-token',
    },
  };
}

export async function setupGcp(config: DaemonConfig, clock: Clock, log: Logger): Promise<BuiltProvider> {
  let settings = readGcpSettings(config.env);
  let node: EmulatedGceNode | undefined;
  if (readBool(config.env, 'VPC_IPAM_GCP_EMBEDDED_EMULATOR', false)) {
    ({ node, settings } = await startEmbedded(config, settings, clock, log));
  }
  try {
    const provider = await createGcpProvider(settings, clock, log);
    return { provider, ...(node ? { close: () => node.close() } : {}) };
  } catch (err) {
    await node?.close();
    throw err;
  }
}
