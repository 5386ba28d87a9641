/**
 * @module gcp setup
 * `VPC_IPAM_PROVIDER=gcp`: the GCP adapter over the settings the configuration
 * read (providers/gcp/settings.ts, docs/gcp.md), and with
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
  GCE_OPERATION_DEFAULTS,
  startEmulatedGceNode,
  type EmulatedGceNode,
} from '../../providers/gcp/emulator/index.js';
import type { DaemonConfig } from '../config.js';
import type { GcpEmulatorSettings } from '../config/providers.js';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import { ensureDirSync } from '../util/ensure-dir.js';
import type { BuiltProvider } from './types.js';

/** Starts the embedded emulator over `<state dir>/gcp-cloud.json`; returns it and the settings that point at it. */
async function startEmbedded(
  config: DaemonConfig,
  settings: GcpSettings,
  emulator: GcpEmulatorSettings,
  clock: Clock,
  log: Logger,
): Promise<{ node: EmulatedGceNode; settings: GcpSettings }> {
  const durationMs = emulator.operationMs ?? GCE_OPERATION_DEFAULTS.durationMs;
  ensureDirSync(config.stateDir, 'VPC_IPAM_STATE_DIR');
  const stateFile = path.join(config.stateDir, 'gcp-cloud.json');
  let node: EmulatedGceNode;
  try {
    node = await startEmulatedGceNode({
      stateFile,
      clock,
      seed: config.sim.seed,
      podsRangeName: settings.podsRangeName,
      podsCidr: emulator.podsCidr,
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

/** `p`: the GCP settings parseConfig read (providers/gcp/settings.ts), and the embedded emulator's when it runs. */
export async function setupGcp(
  config: DaemonConfig,
  p: { settings: GcpSettings; embedded: GcpEmulatorSettings | undefined },
  clock: Clock,
  log: Logger,
): Promise<BuiltProvider> {
  let settings = p.settings;
  let node: EmulatedGceNode | undefined;
  if (p.embedded) {
    ({ node, settings } = await startEmbedded(config, settings, p.embedded, clock, log));
  }
  try {
    const provider = await createGcpProvider(settings, clock, log);
    return { provider, ...(node ? { close: () => node.close() } : {}) };
  } catch (err) {
    await node?.close();
    throw err;
  }
}
