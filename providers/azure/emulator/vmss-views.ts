/**
 * @module azure emulator scale-set VM model
 * A uniform scale-set VM as the Compute RP shows it
 * (`…/virtualMachineScaleSets/{vmss}/virtualMachines/{i}`), reduced to what
 * an IPAM adapter touches: `networkProfileConfiguration`, one configuration
 * per NIC, whose ipConfigurations (names and subnets, no addresses) are the
 * model the VM's NICs are built from. A PUT of the VM changes a NIC through
 * the same code as a NIC PUT: that NIC's ipConfiguration list is translated
 * into a NIC body. A PUT that adds or drops a NIC configuration is refused,
 * as for a plain running VM (`vm-views.ts`).
 */
import type { SimInstanceView, SimInterface } from '../../sim/index.js';
import { ArmError } from './arm-error.js';
import { TAG, type AzureWorld } from './azure-world.js';
import type { NicOperations, PutResult } from './operations.js';
import { checkIfMatch } from './etag.js';
import { networkProfile, obj, refuseNicSetChange, vmEtag } from './vm-views.js';

export interface ScaleSetVm {
  inst: SimInstanceView;
  nics: SimInterface[];
}

/** A uniform scale-set VM by scale set and instance id, with its NICs (primary first). */
export function scaleSetVm(world: AzureWorld, vmss: string, instanceId: string): ScaleSetVm | undefined {
  const of = (i: SimInstanceView) =>
    i.tags[TAG.vmss]?.toLowerCase() === vmss.toLowerCase() && i.tags[TAG.vmssInstance] === instanceId;
  const inst = world.vms().find(of);
  const nics = inst ? world.nicsOfVm(inst.id) : [];
  return inst && nics.length ? { inst, nics } : undefined;
}

export function vmssVmJson(world: AzureWorld, nics: SimInterface[]): Record<string, unknown> {
  const vm = world.vmOf(nics[0]!)!;
  return {
    id: world.vmArmId(vm),
    name: vm.name,
    instanceId: vm.vmss?.instanceId,
    type: 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines',
    location: world.scope.location,
    etag: vmEtag(world, nics),
    properties: {
      provisioningState: nics.some((n) => n.tags[TAG.state] === 'Updating') ? 'Updating' : 'Succeeded',
      latestModelApplied: true,
      vmId: vm.instanceId,
      hardwareProfile: { vmSize: vm.vmSize },
      storageProfile: {
        imageReference: { publisher: 'microsoft-aks', offer: 'aks', sku: 'aks-ubuntu-2204', version: '2026.11.01' },
      },
      networkProfile: networkProfile(world, nics),
      networkProfileConfiguration: { networkInterfaceConfigurations: nics.map((n) => nicConfig(world, n)) },
    },
  };
}

function nicConfig(world: AzureWorld, nic: SimInterface): Record<string, unknown> {
  return {
    name: nic.tags[TAG.name]!,
    properties: {
      primary: nic.attachment?.deviceIndex === 0,
      enableAcceleratedNetworking: false,
      enableIPForwarding: false,
      ipConfigurations: world.ipConfigs(nic).map((c) => ({
        name: c.name,
        properties: {
          primary: c.primary,
          privateIPAddressVersion: 'IPv4',
          subnet: { id: world.subnetArmId(world.subnetById(c.subnet)) },
        },
      })),
    },
  };
}

/** The NIC PUT body equivalent to one NIC configuration of a scale-set VM PUT: addresses kept by name. */
function nicBody(cfg: Record<string, unknown>): { properties: { ipConfigurations: unknown[] } } | undefined {
  const list = obj(cfg.properties)?.ipConfigurations;
  if (!Array.isArray(list)) return undefined;
  const ipConfigurations = list.map((raw) => {
    const c = obj(raw) ?? {};
    const p = obj(c.properties) ?? {};
    return { name: c.name, properties: { primary: p.primary, subnet: p.subnet, privateIPAllocationMethod: 'Dynamic' } };
  });
  return { properties: { ipConfigurations } };
}

/** Whether a NIC body names other ipConfigurations, or other subnets, than the NIC has. */
function changes(world: AzureWorld, nic: SimInterface, body: { properties: { ipConfigurations: unknown[] } }): boolean {
  const subnetId = (sim: string) => world.subnetArmId(world.subnetById(sim));
  const have = world.ipConfigs(nic).map((c) => `${c.name}|${subnetId(c.subnet)}`.toLowerCase());
  const want = body.properties.ipConfigurations.map((raw) => {
    const c = obj(raw) ?? {};
    return `${String(c.name)}|${String(obj(obj(c.properties)?.subnet)?.id)}`.toLowerCase();
  });
  return have.length !== want.length || have.some((h) => !want.includes(h));
}

/**
 * PUT of a scale-set VM: 409 while any of its NICs has an operation running,
 * the VM etag, the NIC rule, then the one NIC whose configuration changed
 * goes through {@link NicOperations.put}. No change answers the VM as it is.
 */
export function putVmssVm(
  world: AzureWorld,
  ops: NicOperations,
  nics: SimInterface[],
  body: unknown,
  ifMatch: string | undefined,
): PutResult | undefined {
  const busy = nics.map((n) => world.pending(n)).find((p) => p !== undefined);
  if (busy) throw ops.inProgressError(busy.op);
  checkIfMatch(ifMatch, vmEtag(world, nics));
  const configs = obj(obj(obj(body)?.properties)?.networkProfileConfiguration)?.networkInterfaceConfigurations;
  if (!Array.isArray(configs)) {
    const what = 'properties.networkProfileConfiguration.networkInterfaceConfigurations';
    throw new ArmError(400, 'InvalidParameter', `${what} is required`);
  }
  const named = configs.map(obj).filter((c): c is Record<string, unknown> => typeof c?.name === 'string');
  const names = named.map((c) => c.name as string);
  refuseNicSetChange(
    world.vmArmId(world.vmOf(nics[0]!)!),
    nics.map((n) => n.tags[TAG.name]!),
    names,
  );
  const changed: Array<{ nic: SimInterface; body: { properties: { ipConfigurations: unknown[] } } }> = [];
  for (const nic of nics) {
    const cfg = named.find((c) => (c.name as string).toLowerCase() === nic.tags[TAG.name]!.toLowerCase())!;
    const b = nicBody(cfg);
    if (!b) {
      const why = `networkInterfaceConfigurations ${nic.tags[TAG.name]} needs its ipConfigurations`;
      throw new ArmError(400, 'InvalidParameter', why);
    }
    if (changes(world, nic, b)) changed.push({ nic, body: b });
  }
  if (changed.length === 0) return undefined;
  if (changed.length > 1) {
    const why = 'This emulator changes the ipConfigurations of one NIC per scale-set VM update.';
    throw new ArmError(400, 'OperationNotSupported', why);
  }
  return ops.put(changed[0]!.nic, changed[0]!.body, undefined);
}
