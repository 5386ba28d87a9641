/**
 * Test helpers: an Azure emulator seeded with one node, the real SDK client
 * pointed at it, and the adapter on top.
 */
import type { NetworkManagementClient } from '@azure/arm-network';
import { SystemClock } from '../../../ipamd/util/clock.js';
import { AzureProvider, loopbackBearerPolicy, parseAzureSettings, StaticTestCredential } from '../../../providers/azure/index.js';
import {
  AzureWorld,
  DEFAULT_SCOPE,
  seedAzureNode,
  startAzureEmulator,
  type AzureEmulator,
  type AzureEmulatorOptions,
  type AzureSeedOptions,
} from '../../../providers/azure/emulator/index.js';

export const SUB = DEFAULT_SCOPE.subscription;
export const RG = DEFAULT_SCOPE.resourceGroup;
export const NODES_ID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/nodes`;
export const PODS_ID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/pods`;
export const nicIdOf = (name: string) => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/networkInterfaces/${name}`;

export async function emulator(
  seed: Partial<AzureSeedOptions> = {},
  opts: Omit<AzureEmulatorOptions, 'world'> = {},
): Promise<AzureEmulator> {
  const world = AzureWorld.create(DEFAULT_SCOPE, { seed: 7 });
  seedAzureNode(world, { vmName: 'node1', ...seed });
  return startAzureEmulator({ world, lro: { maxOperationMs: 500, ...opts.lro }, ...opts });
}

/** The real `@azure/arm-network` client, set up for the loopback emulator as the adapter does. */
export async function sdk(emu: AzureEmulator, retries = 0): Promise<NetworkManagementClient> {
  const { NetworkManagementClient } = await import('@azure/arm-network');
  const cred = new StaticTestCredential();
  const net = new NetworkManagementClient(cred, SUB, { endpoint: emu.url, allowInsecureConnection: true, retryOptions: { maxRetries: retries, retryDelayInMs: 10 } });
  net.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
  net.pipeline.addPolicy(loopbackBearerPolicy(cred, `${emu.url}/.default`) as never, { phase: 'Sign' });
  return net;
}

export function provider(emu: AzureEmulator, env: Record<string, string> = {}): AzureProvider {
  const settings = parseAzureSettings({ AZURE_ARM_ENDPOINT: emu.url, AZURE_IMDS_ENDPOINT: emu.url, AZURE_LRO_POLL_INTERVAL_MS: '10', ...env });
  return new AzureProvider({ settings, clock: new SystemClock() });
}

/** Secondary addresses the cloud holds for a NIC (Succeeded or not), by ipConfiguration name. */
export function cloudIpconfigs(emu: AzureEmulator, nicName = 'node1-nic'): Map<string, { ip: string; state: string }> {
  const nic = emu.world.nic(nicName)!;
  return new Map(
    emu.world
      .ipConfigs(nic)
      .filter((c) => !c.primary)
      .map((c) => [c.name, { ip: c.ip, state: c.provisioningState }]),
  );
}

export function subnetFree(emu: AzureEmulator, name = 'nodes'): number {
  return emu.world.cloud.getSubnet(emu.world.subnet('vnet1', name)!.id).availableAddresses;
}
