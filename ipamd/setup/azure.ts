/**
 * @module azure setup
 * `VPC_IPAM_PROVIDER=azure`: the daemon on an Azure VM, through
 * `@azure/arm-network` and IMDS (providers/azure). Loaded only when selected,
 * so no other provider pays for the Azure SDK.
 *
 * `VPC_IPAM_AZURE_EMBEDDED_EMULATOR=true` runs the Azure emulator inside the
 * daemon on a free loopback port and points the adapter at it (ARM and IMDS
 * on one listener, the static test credential), so `npm start` works with no
 * cloud. The emulator's world lives in `<state dir>/azure-cloud.json` and is
 * saved after every change, so a restarted daemon finds its NIC as it left it.
 * Seeding (first start only): `VPC_IPAM_AZURE_EMULATOR_VM_SIZE`
 * (Standard_D4s_v5), `VPC_IPAM_AZURE_EMULATOR_SUBNET_CIDR` (10.240.0.0/24),
 * `VPC_IPAM_AZURE_EMULATOR_POD_SUBNET_CIDR` (none; when set, the VM is
 * created with a second NIC in that subnet, and Pod addresses go on it, as
 * on Azure: docs/azure.md, "Pod subnet"). Every start:
 * `VPC_IPAM_AZURE_EMULATOR_LRO` (async|sync),
 * `VPC_IPAM_AZURE_EMULATOR_OPERATION_MS` (0; how long a NIC write stays
 * InProgress) and `VPC_IPAM_AZURE_EMULATOR_RETRY_AFTER_SECONDS` (0; Azure
 * sends 10): set them to 3000 and 10 to feel Azure's pace.
 */
import * as path from 'node:path';
import { ConfigError } from '../../providers/errors.js';
import { readBool, type DaemonConfig } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import { ensureDirSync } from '../util/ensure-dir.js';
import type { BuiltProvider } from './types.js';

function readCidr(env: DaemonConfig['env'], name: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(raw)) throw new ConfigError(name, `expected an IPv4 CIDR, got "${raw}"`);
  return raw;
}

function readWhole(env: DaemonConfig['env'], name: string, max: number): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) > max) {
    throw new ConfigError(name, `expected a whole number from 0 to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

export async function setupAzure(config: DaemonConfig, clock: Clock, log: Logger): Promise<BuiltProvider> {
  const { AzureProvider, parseAzureSettings } = await import('../../providers/azure/index.js');
  const env = config.env;
  if (!readBool(env, 'VPC_IPAM_AZURE_EMBEDDED_EMULATOR', false)) {
    const settings = parseAzureSettings(env);
    log.info(
      {
        arm: settings.armEndpoint,
        imds: settings.imdsEndpoint,
        podSubnet: settings.podSubnetId,
        credential: settings.credential,
      },
      'azure provider',
    );
    return { provider: new AzureProvider({ settings, clock }) };
  }
  const lro = (env.VPC_IPAM_AZURE_EMULATOR_LRO ?? 'async').trim();
  if (lro !== 'async' && lro !== 'sync')
    throw new ConfigError('VPC_IPAM_AZURE_EMULATOR_LRO', `expected async or sync, got "${lro}"`);
  const subnetCidr = readCidr(env, 'VPC_IPAM_AZURE_EMULATOR_SUBNET_CIDR');
  const podSubnetCidr = readCidr(env, 'VPC_IPAM_AZURE_EMULATOR_POD_SUBNET_CIDR');
  const vmSize = env.VPC_IPAM_AZURE_EMULATOR_VM_SIZE?.trim();
  const operationMs = readWhole(env, 'VPC_IPAM_AZURE_EMULATOR_OPERATION_MS', 600_000);
  const retryAfterSeconds = readWhole(env, 'VPC_IPAM_AZURE_EMULATOR_RETRY_AFTER_SECONDS', 3600);
  ensureDirSync(config.stateDir, 'VPC_IPAM_STATE_DIR');
  const stateFile = path.join(config.stateDir, 'azure-cloud.json');
  const { startEmulatedAzureNode } = await import('../../providers/azure/emulator/node.js');
  let node;
  try {
    node = await startEmulatedAzureNode({
      stateFile,
      lro,
      ...(subnetCidr ? { subnetCidr } : {}),
      ...(podSubnetCidr ? { podSubnetCidr } : {}),
      ...(vmSize ? { vmSize } : {}),
      ...(operationMs !== undefined ? { operationMs } : {}),
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    });
  } catch (err) {
    // A CIDR the cloud refuses (outside the VNet, too small) is a configuration mistake.
    if ((err as { code?: string }).code === 'CLOUD_INVALID')
      throw new ConfigError('VPC_IPAM_AZURE_EMULATOR_SUBNET_CIDR', (err as Error).message);
    throw err;
  }
  const settings = parseAzureSettings({
    ...env,
    ...node.env,
    AZURE_CREDENTIAL: 'static',
    ...(env.AZURE_LRO_POLL_INTERVAL_MS ? { AZURE_LRO_POLL_INTERVAL_MS: env.AZURE_LRO_POLL_INTERVAL_MS } : {}),
    ...(env.AZURE_POD_SUBNET_ID ? { AZURE_POD_SUBNET_ID: env.AZURE_POD_SUBNET_ID } : {}),
  });
  log.info(
    { url: node.endpoint, stateFile, vm: node.vmName, lro },
    'embedded Azure emulator started (ARM + IMDS on loopback)',
  );
  return { provider: new AzureProvider({ settings, clock }), close: () => node.close() };
}
