/**
 * @module azure emulator VM model
 * A plain VM as the Compute RP shows it (`…/virtualMachines/{vm}`), reduced
 * to what an IPAM adapter touches: `networkProfile.networkInterfaces`, the
 * NICs attached to it. Uniform scale-set VMs are in `vmss-views.ts`.
 *
 * Azure cannot add a NIC to a running VM, nor remove one: the VM must be
 * stop-deallocated first. An update that changes the set of NICs answers
 * 400 `AddingOrDeletingNetworkInterfacesOnARunningVirtualMachineNotSupported`,
 * "Virtual machine <id> with a single network interface must be
 * stop-deallocated before it can be updated to have multiple network
 * interfaces and vice-versa." (Azure/azure-powershell#4565; for a VM that
 * already has several NICs the code is the same, the wording here is ours).
 * The emulator's VMs always run (it has no stop or deallocate), so every
 * update that changes a VM's NICs is refused; other changes are accepted and
 * ignored (the emulator models nothing else of a VM). This is why a Pod NIC
 * must be created with the VM (docs/azure.md).
 */
import type { SimInstanceView, SimInterface } from '../../sim/index.js';
import { sameId } from '../arm-ids.js';
import { ArmError } from './arm-error.js';
import { TAG, type AzureWorld } from './azure-world.js';
import { checkIfMatch, etagHeader, stableGuid } from './etag.js';

type Json = Record<string, unknown>;
export const obj = (v: unknown): Json | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;

/** A VM's `networkProfile.networkInterfaces`: its NICs by id, the primary flagged. */
export function networkProfile(world: AzureWorld, nics: SimInterface[]): Json {
  const primary = (n: SimInterface) => n.attachment?.deviceIndex === 0;
  return { networkInterfaces: nics.map((n) => ({ id: world.nicArmId(n), properties: { primary: primary(n) } })) };
}

export const NIC_SET_CODE = 'AddingOrDeletingNetworkInterfacesOnARunningVirtualMachineNotSupported';

/** A VM's etag: it changes whenever one of its NICs does (the part of a VM the emulator models). */
export function vmEtag(world: AzureWorld, nics: SimInterface[]): string {
  return etagHeader(stableGuid(nics.map((n) => `${n.id}=${world.etag(n)}`).join(',')));
}

/** Refuses an update whose NICs (ids or names, compared case-insensitively) are not the VM's. */
export function refuseNicSetChange(vmArmId: string, have: string[], wanted: string[]): void {
  const same = have.length === wanted.length && have.every((h) => wanted.some((w) => sameId(h, w)));
  if (same) return;
  const message =
    have.length === 1 || wanted.length === 1
      ? `Virtual machine ${vmArmId} with a single network interface must be stop-deallocated ` +
        'before it can be updated to have multiple network interfaces and vice-versa.'
      : `Virtual machine ${vmArmId} must be stop-deallocated ` +
        'before network interfaces can be added to it or removed from it.';
  throw new ArmError(400, NIC_SET_CODE, message);
}

/** A plain VM (not a scale-set instance) by name, with its NICs. */
export function plainVm(world: AzureWorld, name: string): { inst: SimInstanceView; nics: SimInterface[] } | undefined {
  const inst = world.vms().find((i) => !i.tags[TAG.vmss] && i.tags[TAG.name]?.toLowerCase() === name.toLowerCase());
  return inst ? { inst, nics: world.nicsOfVm(inst.id) } : undefined;
}

export function vmJson(world: AzureWorld, inst: SimInstanceView, nics: SimInterface[], instanceView: boolean): Json {
  const name = inst.tags[TAG.name]!;
  const statuses = [
    { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded' },
    { code: 'PowerState/running', level: 'Info', displayStatus: 'VM running' },
  ];
  return {
    id: world.vmArmId({ name }),
    name,
    type: 'Microsoft.Compute/virtualMachines',
    location: world.scope.location,
    etag: vmEtag(world, nics),
    properties: {
      provisioningState: 'Succeeded',
      vmId: inst.id,
      hardwareProfile: { vmSize: inst.instanceType },
      networkProfile: networkProfile(world, nics),
      ...(instanceView ? { instanceView: { statuses } } : {}),
    },
  };
}

/**
 * PUT or PATCH of a plain VM: the If-Match check, then the NIC rule. A PATCH
 * without `networkProfile` changes no NIC. Nothing else is modelled, so an
 * accepted update changes nothing and answers the VM as it is (Succeeded, no
 * operation to poll).
 */
export function updateVm(world: AzureWorld, name: string, body: unknown, ifMatch?: string): Json | undefined {
  const vm = plainVm(world, name);
  if (!vm) return undefined;
  checkIfMatch(ifMatch, vmEtag(world, vm.nics));
  const list = obj(obj(obj(body)?.properties)?.networkProfile)?.networkInterfaces;
  if (list !== undefined) {
    if (!Array.isArray(list)) {
      throw new ArmError(400, 'InvalidParameter', 'properties.networkProfile.networkInterfaces must be an array');
    }
    const wanted = list.map((r) => obj(r)?.id).filter((id): id is string => typeof id === 'string');
    refuseNicSetChange(
      world.vmArmId({ name: vm.inst.tags[TAG.name]! }),
      vm.nics.map((n) => world.nicArmId(n)),
      wanted,
    );
  }
  return vmJson(world, vm.inst, vm.nics, false);
}
