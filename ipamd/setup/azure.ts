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
import type { AzureSettings } from '../../providers/azure/config.js';
import type { DaemonConfig } from '../config.js';
import type { AzureConfig } from '../config/providers.js';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import { ensureDirSync } from '../util/ensure-dir.js';
import type { BuiltProvider } from './types.js';

export async function setupAzure(
  config: DaemonConfig,
  azure: AzureConfig,
  clock: Clock,
  log: Logger,
): Promise<BuiltProvider> {
  const { AzureProvider } = await import('../../providers/azure/index.js');
  if (!azure.embedded) {
    const settings = azure.settings;
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
  const e = azure.embedded;
  ensureDirSync(config.stateDir, 'VPC_IPAM_STATE_DIR');
  const stateFile = path.join(config.stateDir, 'azure-cloud.json');
  const { startEmulatedAzureNode } = await import('../../providers/azure/emulator/node.js');
  let node;
  try {
    node = await startEmulatedAzureNode({
      stateFile,
      lro: e.lro,
      ...(e.subnetCidr ? { subnetCidr: e.subnetCidr } : {}),
      ...(e.podSubnetCidr ? { podSubnetCidr: e.podSubnetCidr } : {}),
      ...(e.vmSize ? { vmSize: e.vmSize } : {}),
      ...(e.operationMs !== undefined ? { operationMs: e.operationMs } : {}),
      ...(e.retryAfterSeconds !== undefined ? { retryAfterSeconds: e.retryAfterSeconds } : {}),
    });
  } catch (err) {
    // A CIDR the cloud refuses (outside the VNet, too small) is a configuration mistake.
    if ((err as { code?: string }).code === 'CLOUD_INVALID')
      throw new ConfigError('VPC_IPAM_AZURE_EMULATOR_SUBNET_CIDR', (err as Error).message);
    throw err;
  }
  // The emulator's endpoints; a Pod subnet the operator named wins over the one the emulator seeded.
  const settings: AzureSettings = {
    ...azure.settings,
    armEndpoint: node.endpoint,
    imdsEndpoint: node.endpoint,
    podSubnetId: azure.settings.podSubnetId ?? node.podSubnetId,
  };
  log.info(
    { url: node.endpoint, stateFile, vm: node.vmName, lro: e.lro },
    'embedded Azure emulator started (ARM + IMDS on loopback)',
  );
  return { provider: new AzureProvider({ settings, clock }), close: () => node.close() };
}
