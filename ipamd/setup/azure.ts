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
 * `VPC_IPAM_AZURE_EMULATOR_POD_SUBNET_CIDR` (none; when set, new
 * ipConfigurations go there), `VPC_IPAM_AZURE_EMULATOR_LRO` (async|sync).
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../providers/errors.js';
import type { DaemonConfig } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { BuiltProvider } from '../provider-factory.js';
import type { Clock } from '../util/clock.js';

export const EMBEDDED_VM_NAME = 'aks-nodepool1-vm0';

function readCidr(env: DaemonConfig['env'], name: string, def: string | undefined): string | undefined {
  const raw = env[name]?.trim() || def;
  if (raw === undefined) return undefined;
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(raw)) throw new ConfigError(name, `expected an IPv4 CIDR, got "${raw}"`);
  return raw;
}

export async function setupAzure(config: DaemonConfig, clock: Clock, log: Logger): Promise<BuiltProvider> {
  const { AzureProvider, parseAzureSettings } = await import('../../providers/azure/index.js');
  const env = config.env;
  const embedded = (env.VPC_IPAM_AZURE_EMBEDDED_EMULATOR ?? '').trim().toLowerCase();
  if (!['', 'true', 'false', '1', '0'].includes(embedded)) {
    throw new ConfigError('VPC_IPAM_AZURE_EMBEDDED_EMULATOR', `expected true or false, got "${env.VPC_IPAM_AZURE_EMBEDDED_EMULATOR}"`);
  }
  if (embedded !== 'true' && embedded !== '1') {
    const settings = parseAzureSettings(env);
    log.info({ arm: settings.armEndpoint, imds: settings.imdsEndpoint, podSubnet: settings.podSubnetId, credential: settings.credential }, 'azure provider');
    return { provider: new AzureProvider({ settings, clock }) };
  }

  const emu = await import('../../providers/azure/emulator/index.js');
  const lro = (env.VPC_IPAM_AZURE_EMULATOR_LRO ?? 'async').trim();
  if (lro !== 'async' && lro !== 'sync') throw new ConfigError('VPC_IPAM_AZURE_EMULATOR_LRO', `expected async or sync, got "${lro}"`);
  const subnetCidr = readCidr(env, 'VPC_IPAM_AZURE_EMULATOR_SUBNET_CIDR', emu.AZURE_DEFAULTS.subnetCidr)!;
  const podCidr = readCidr(env, 'VPC_IPAM_AZURE_EMULATOR_POD_SUBNET_CIDR', undefined);
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(config.stateDir, 'azure-cloud.json');
  const { world, save, created } = emu.openAzureWorld(file, () =>
    emu.seededWorld({
      vmName: EMBEDDED_VM_NAME,
      vmSize: env.VPC_IPAM_AZURE_EMULATOR_VM_SIZE?.trim() || emu.AZURE_DEFAULTS.vmSize,
      subnetCidr,
      ...(podCidr ? { podSubnet: { name: 'pods', cidr: podCidr } } : {}),
    }),
  );
  const server = await emu.startAzureEmulator({ world, onChange: save, lro: { mode: lro } });
  const pods = world.vnets().flatMap((v) => world.subnetsOf(v)).find((s) => s.tags[emu.TAG.name] === 'pods');
  const settings = parseAzureSettings({
    ...env,
    AZURE_ARM_ENDPOINT: server.url,
    AZURE_IMDS_ENDPOINT: server.url,
    AZURE_CREDENTIAL: 'static',
    AZURE_LRO_POLL_INTERVAL_MS: env.AZURE_LRO_POLL_INTERVAL_MS ?? '50',
    ...(pods && !env.AZURE_POD_SUBNET_ID ? { AZURE_POD_SUBNET_ID: world.subnetArmId(pods) } : {}),
  });
  log.info({ url: server.url, file, created, lro }, 'embedded Azure emulator started (ARM + IMDS on loopback)');
  return {
    provider: new AzureProvider({ settings, clock }),
    close: () => server.close().then(save),
  };
}
