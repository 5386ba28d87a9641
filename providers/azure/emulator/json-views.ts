/**
 * @module azure emulator JSON views
 * ARM and IMDS response bodies rendered from the world, in the shapes
 * cloud-apis.md §4.3, §4.5 and §4.7 record (the SDK flattens `properties`).
 */
import type { SimInterface, SimSubnet, SimVpc } from '../../sim/index.js';
import { armMac, imdsMac } from '../arm-ids.js';
import { TAG, type AzureWorld } from './azure-world.js';
import { etagHeader, stableGuid } from './etag.js';
import { addressCount } from '../../net/cidr.js';

export function nicJson(world: AzureWorld, nic: SimInterface): Record<string, unknown> {
  const id = world.nicArmId(nic);
  const etag = etagHeader(world.etag(nic));
  const vm = world.vmOf(nic);
  const state = nic.tags[TAG.state] ?? 'Succeeded';
  const subnets = new Map<string, SimSubnet>();
  const subnetOf = (sid: string) => {
    if (!subnets.has(sid)) subnets.set(sid, world.subnetById(sid));
    return subnets.get(sid)!;
  };
  return {
    name: nic.tags[TAG.name],
    id,
    etag,
    type: 'Microsoft.Network/networkInterfaces',
    location: world.scope.location,
    tags: userTags(nic.tags),
    properties: {
      provisioningState: state,
      resourceGuid: nic.id,
      macAddress: armMac(nic.mac),
      primary: (nic.attachment?.deviceIndex ?? 0) === 0,
      enableIPForwarding: false,
      enableAcceleratedNetworking: false,
      ...(vm ? { virtualMachine: { id: world.vmArmId(vm) } } : {}),
      ipConfigurations: world.ipConfigs(nic).map((c) => ({
        name: c.name,
        id: `${id}/ipConfigurations/${c.name}`,
        etag,
        type: 'Microsoft.Network/networkInterfaces/ipConfigurations',
        properties: {
          provisioningState: c.provisioningState,
          privateIPAddress: c.ip,
          privateIPAllocationMethod: 'Dynamic',
          privateIPAddressVersion: 'IPv4',
          subnet: { id: world.subnetArmId(subnetOf(c.subnet)) },
          primary: c.primary,
        },
      })),
    },
  };
}

function userTags(tags: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).filter(([k]) => !k.startsWith('azure:')));
}

export interface SubnetJsonOptions {
  /** `$expand=ipConfigurations`: include each ipConfiguration's address. */
  expand: boolean;
  /** Above this many ipConfigurations ARM leaves the list out (cloud-apis.md §4.5); undefined = never. */
  listLimit: number | undefined;
}

export function subnetJson(world: AzureWorld, subnet: SimSubnet, o: SubnetJsonOptions): Record<string, unknown> {
  const ipcs = world.subnetIpConfigs(subnet);
  const list =
    o.listLimit !== undefined && ipcs.length > o.listLimit
      ? undefined
      : ipcs.map((c) =>
          o.expand
            ? { id: c.id, properties: { privateIPAddress: c.ip, provisioningState: c.provisioningState } }
            : { id: c.id },
        );
  return {
    id: world.subnetArmId(subnet),
    name: subnet.tags[TAG.name],
    // The emulator does not version subnets; a GUID like ARM's, stable across reads.
    etag: etagHeader(stableGuid(subnet.id)),
    type: 'Microsoft.Network/virtualNetworks/subnets',
    properties: {
      provisioningState: 'Succeeded',
      addressPrefix: subnet.cidr,
      ...(list ? { ipConfigurations: list } : {}),
      privateEndpointNetworkPolicies: 'Disabled',
      privateLinkServiceNetworkPolicies: 'Enabled',
    },
  };
}

export function vnetJson(world: AzureWorld, vnet: SimVpc): Record<string, unknown> {
  return {
    id: world.vnetArmId(vnet),
    name: vnet.tags[TAG.name],
    etag: etagHeader(stableGuid(vnet.id)),
    type: 'Microsoft.Network/virtualNetworks',
    location: world.scope.location,
    properties: {
      provisioningState: 'Succeeded',
      addressSpace: { addressPrefixes: vnet.cidrs },
      subnets: world.subnetsOf(vnet).map((s) => subnetJson(world, s, { expand: false, listLimit: 0 })),
    },
  };
}

/** `GET …/virtualNetworks/{vnet}/usages`: per subnet, addresses in use and usable (size minus Azure's 5). */
export function usagesJson(world: AzureWorld, vnet: SimVpc): Record<string, unknown> {
  return {
    value: world.subnetsOf(vnet).map((s) => {
      const view = world.cloud.getSubnet(s.id);
      const size = addressCount(4, Number(s.cidr.split('/')[1]));
      const limit = size - 5;
      return {
        currentValue: limit - view.availableAddresses,
        limit,
        id: world.subnetArmId(s),
        name: { value: 'Subnet size and usage', localizedValue: 'Subnet size and usage' },
        unit: 'Count',
      };
    }),
  };
}

/** Azure IMDS `/metadata/instance` for the VM owning `nics` (cloud-apis.md §4.7). */
export function imdsJson(world: AzureWorld, vmName: string): Record<string, unknown> {
  const inst = world.vm(vmName);
  if (!inst) throw new Error(`IMDS: no VM ${vmName}`);
  const vmss = inst.tags[TAG.vmss];
  const vmRef = {
    name: inst.tags[TAG.name]!,
    ...(vmss ? { vmss: { name: vmss, instanceId: inst.tags[TAG.vmssInstance] ?? '0' } } : {}),
  };
  const nics = [...inst.interfaces].sort((a, b) => (a.attachment?.deviceIndex ?? 0) - (b.attachment?.deviceIndex ?? 0));
  return {
    compute: {
      azEnvironment: 'AzurePublicCloud',
      location: world.scope.location,
      name: inst.tags[TAG.name],
      resourceGroupName: world.scope.resourceGroup,
      subscriptionId: world.scope.subscription,
      vmId: inst.id,
      vmSize: inst.instanceType,
      zone: inst.zone,
      vmScaleSetName: vmss ?? '',
      resourceId: world.vmArmId(vmRef),
      osType: 'Linux',
    },
    network: {
      interface: nics.map((nic) => {
        const s = world.subnetById(nic.subnetId);
        const [address, prefix] = s.cidr.split('/');
        return {
          ipv4: {
            // IMDS lists what the host has programmed: ipConfigurations that succeeded.
            ipAddress: world
              .ipConfigs(nic)
              .filter((c) => c.provisioningState === 'Succeeded')
              .map((c) => ({ privateIpAddress: c.ip, publicIpAddress: '' })),
            subnet: [{ address, prefix }],
          },
          ipv6: { ipAddress: [] },
          macAddress: imdsMac(nic.mac),
        };
      }),
    },
  };
}
