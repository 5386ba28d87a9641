/**
 * Test helpers: an Azure emulator seeded with one node, the real SDK client
 * pointed at it, and the adapter on top.
 */
import type { ComputeManagementClient } from '@azure/arm-compute';
import type { NetworkInterface, NetworkManagementClient } from '@azure/arm-network';
import { SystemClock, type Clock } from '../../../ipamd/util/clock.js';
import {
  AzureProvider,
  loopbackBearerPolicy,
  parseAzureSettings,
  StaticTestCredential,
} from '../../../providers/azure/index.js';
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
const VNET1_ID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/vnet1`;
export const NODES_ID = `${VNET1_ID}/subnets/nodes`;
export const PODS_ID = `${VNET1_ID}/subnets/pods`;
export const ETAG_RE = /^W\/"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"$/;
export const nicIdOf = (name: string) =>
  `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/networkInterfaces/${name}`;

/**
 * Short timings for tests: operations last 20 ms and send `Retry-After: 0`
 * (the emulator's defaults are Azure's 3 s and 10 s; tests of those pass
 * `lro` or a virtual clock).
 */
export const FAST_LRO = { durationMs: 20, retryAfterSeconds: 0 } as const;

export async function emulator(
  seed: Partial<AzureSeedOptions> = {},
  opts: Omit<AzureEmulatorOptions, 'world'> = {},
): Promise<AzureEmulator> {
  const world = AzureWorld.create(DEFAULT_SCOPE, { seed: 7 });
  seedAzureNode(world, { vmName: 'node1', ...seed });
  return startAzureEmulator({ ...opts, world, lro: { ...FAST_LRO, ...opts.lro } });
}

/** The seed of a node whose VM has a second NIC in the Pod subnet `pods` (tagged for ipamd unless `tag` is false). */
export function withPodNic(cidr = '10.240.16.0/24', tag = true): Partial<AzureSeedOptions> {
  return { podSubnet: { name: 'pods', cidr }, podNic: { tag } };
}

/** The real `@azure/arm-network` client, set up for the loopback emulator as the adapter does. */
export async function sdk(emu: AzureEmulator, retries = 0): Promise<NetworkManagementClient> {
  const { NetworkManagementClient } = await import('@azure/arm-network');
  const cred = new StaticTestCredential();
  const net = new NetworkManagementClient(cred, SUB, {
    endpoint: emu.url,
    allowInsecureConnection: true,
    retryOptions: { maxRetries: retries, retryDelayInMs: 10 },
  });
  net.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
  net.pipeline.addPolicy(loopbackBearerPolicy(cred, `${emu.url}/.default`) as never, { phase: 'Sign' });
  return net;
}

/** The real `@azure/arm-compute` client, set up the same way (VM models: the NIC rule of a running VM). */
export async function computeSdk(emu: AzureEmulator): Promise<ComputeManagementClient> {
  const { ComputeManagementClient } = await import('@azure/arm-compute');
  const cred = new StaticTestCredential();
  const opts = { endpoint: emu.url, allowInsecureConnection: true, retryOptions: { maxRetries: 0 } };
  const c = new ComputeManagementClient(cred, SUB, opts);
  c.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
  c.pipeline.addPolicy(loopbackBearerPolicy(cred, `${emu.url}/.default`) as never, { phase: 'Sign' });
  return c;
}

export function provider(emu: AzureEmulator, env: Record<string, string> = {}, clock: Clock = new SystemClock()) {
  const settings = parseAzureSettings({
    AZURE_ARM_ENDPOINT: emu.url,
    AZURE_IMDS_ENDPOINT: emu.url,
    AZURE_LRO_POLL_INTERVAL_MS: '10',
    ...env,
  });
  return new AzureProvider({ settings, clock });
}

/** A NIC PUT body as a second writer sends it: the primary `ipconfig1` and one more, in the node subnet. */
export function plusOneBody(name: string) {
  const ipc = (n: string, primary: boolean) => ({ name: n, properties: { primary, subnet: { id: NODES_ID } } });
  return { properties: { ipConfigurations: [ipc('ipconfig1', true), ipc(name, false)] } };
}

/** IMDS `/metadata/instance/network` of the emulator's VM. */
export async function imdsNetwork(emu: AzureEmulator) {
  const url = `${emu.url}/metadata/instance/network?api-version=2021-02-01`;
  const r = await fetch(url, { headers: { Metadata: 'true' } });
  return (await r.json()) as { interface: Array<{ macAddress: string; ipv4: { subnet: Array<{ address: string }> } }> };
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

/** `nic` with more ipConfigurations appended, as a PUT body. */
export const withIpc = (nic: NetworkInterface, ...extra: Array<Record<string, unknown>>): NetworkInterface => ({
  ...nic,
  ipConfigurations: [...(nic.ipConfigurations ?? []), ...(extra as NetworkInterface['ipConfigurations'] & object[])],
});
