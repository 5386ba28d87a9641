/**
 * @module azure emulator scale-set VM model
 * A uniform scale-set VM as the Compute RP shows it
 * (`…/virtualMachineScaleSets/{vmss}/virtualMachines/{i}`), reduced to what
 * an IPAM adapter touches: `networkProfileConfiguration`, whose
 * ipConfigurations (names and subnets, no addresses) are the model the VM's
 * NIC is built from. A PUT of the VM changes the NIC through the same code
 * as a NIC PUT: the ipConfiguration list is translated into a NIC body.
 */
import type { SimInterface } from '../../sim/index.js';
import { ArmError } from './arm-error.js';
import { TAG, type AzureWorld } from './azure-world.js';
import { etagHeader } from './operations.js';

export function vmssVmJson(world: AzureWorld, nic: SimInterface): Record<string, unknown> {
  const vm = world.vmOf(nic)!;
  const nicName = nic.tags[TAG.name]!;
  return {
    id: world.vmArmId(vm),
    name: vm.name,
    instanceId: vm.vmss?.instanceId,
    type: 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines',
    location: world.scope.location,
    etag: etagHeader(world.etag(nic)),
    properties: {
      provisioningState: nic.tags[TAG.state] ?? 'Succeeded',
      latestModelApplied: true,
      vmId: vm.instanceId,
      hardwareProfile: { vmSize: vm.vmSize },
      storageProfile: { imageReference: { publisher: 'microsoft-aks', offer: 'aks', sku: 'aks-ubuntu-2204', version: '2026.11.01' } },
      networkProfile: { networkInterfaces: [{ id: world.nicArmId(nic), properties: { primary: true } }] },
      networkProfileConfiguration: {
        networkInterfaceConfigurations: [
          {
            name: nicName,
            properties: {
              primary: true,
              enableAcceleratedNetworking: false,
              enableIPForwarding: false,
              ipConfigurations: world.ipConfigs(nic).map((c) => ({
                name: c.name,
                properties: { primary: c.primary, privateIPAddressVersion: 'IPv4', subnet: { id: world.subnetArmId(world.subnetById(c.subnet)) } },
              })),
            },
          },
        ],
      },
    },
  };
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined);

/** The NIC PUT body equivalent to a scale-set VM PUT: the NIC's configuration's ipConfigurations, addresses kept by name. */
export function nicBodyFromVmModel(nic: SimInterface, body: unknown): unknown {
  const configs = obj(obj(obj(body)?.properties)?.networkProfileConfiguration)?.networkInterfaceConfigurations;
  const name = nic.tags[TAG.name]!.toLowerCase();
  const cfg = Array.isArray(configs) ? configs.map(obj).find((c) => typeof c?.name === 'string' && c.name.toLowerCase() === name) : undefined;
  const list = obj(cfg?.properties)?.ipConfigurations;
  if (!Array.isArray(list)) {
    throw new ArmError(400, 'InvalidParameter', `properties.networkProfileConfiguration.networkInterfaceConfigurations must contain ${nic.tags[TAG.name]} with its ipConfigurations`);
  }
  return {
    properties: {
      ipConfigurations: list.map((raw) => {
        const c = obj(raw) ?? {};
        const p = obj(c.properties) ?? {};
        return { name: c.name, properties: { primary: p.primary, subnet: p.subnet, privateIPAllocationMethod: 'Dynamic' } };
      }),
    },
  };
}
