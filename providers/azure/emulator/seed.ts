/**
 * @module azure emulator seed
 * An AKS-style node in one call: VNet, node subnet, optional Pod subnet, and
 * a VM (plain or a uniform scale-set instance) with its NIC, and optionally a
 * second NIC in the Pod subnet, created with the VM as Azure requires (a NIC
 * cannot be attached to a running VM, `vm-views.ts`). Calling it again with
 * another VM name adds a node to the same subnets.
 */
import { POD_NIC_TAG } from '../pod-nic.js';
import { TAG, azureVmSizeLimits, type AzureWorld } from './azure-world.js';
import { newEtag } from './etag.js';

export interface AzureSeedOptions {
  vmName: string;
  /** Default `Standard_D4s_v5`. */
  vmSize?: string;
  /** Default `vnet1` / `10.240.0.0/16` (the SimCloud takes /16 to /28). */
  vnetName?: string;
  vnetCidr?: string;
  /** Default `nodes` / `10.240.0.0/24`. */
  subnetName?: string;
  subnetCidr?: string;
  /** A Pod subnet in the same VNet (Azure CNI "dynamic IP allocation" style). */
  podSubnet?: { name: string; cidr: string };
  /**
   * Gives the VM a second NIC, `<vm>-pod-nic`, in `podSubnet` (device index
   * 1), where ipamd puts Pod addresses when pointed at that subnet. `tag`
   * (default true) also tags it `vpc-ipam.io/pod-nic=true`.
   */
  podNic?: { tag?: boolean };
  /** Makes the VM an instance of a uniform scale set. */
  vmss?: { name: string; instanceId: string };
  /** Availability zone of the VM (default `1`). */
  zone?: string;
  /** Secondary ipConfigurations created with the NIC (AKS pre-creates maxPods of them). */
  secondaryIps?: number;
}

export const AZURE_DEFAULTS = {
  vmSize: 'Standard_D4s_v5',
  vnetName: 'vnet1',
  vnetCidr: '10.240.0.0/16',
  subnetName: 'nodes',
  subnetCidr: '10.240.0.0/24',
  zone: '1',
} as const;

function findOrCreateSubnet(world: AzureWorld, vpcId: string, name: string, cidr: string, zone: string): string {
  const existing = world.cloud.describeSubnets({ vpcId }).find((s) => s.tags[TAG.name] === name);
  if (existing) {
    if (existing.cidr !== cidr) throw new Error(`subnet ${name} exists with ${existing.cidr}, not ${cidr}`);
    return existing.id;
  }
  return world.cloud.createSubnet({ vpcId, cidr, zone, tags: { [TAG.name]: name } }).id;
}

/** Seeds one node; returns the NIC name (`<vm>-nic`). */
export function seedAzureNode(world: AzureWorld, opts: AzureSeedOptions): string {
  const d = { ...AZURE_DEFAULTS, ...stripUndefined(opts) };
  const cloud = world.cloud;
  if (world.vm(opts.vmName)) throw new Error(`VM ${opts.vmName} already exists`);
  if (!cloud.instanceLimits(d.vmSize)) cloud.defineInstanceType(azureVmSizeLimits(d.vmSize));
  const vnet =
    world.vnet(d.vnetName) ??
    cloud.createVpc({
      cidr: d.vnetCidr,
      tags: {
        [TAG.name]: d.vnetName,
        [TAG.subscription]: world.scope.subscription,
        [TAG.resourceGroup]: world.scope.resourceGroup,
        [TAG.location]: world.scope.location,
      },
    });
  const subnetId = findOrCreateSubnet(world, vnet.id, d.subnetName, d.subnetCidr, d.zone);
  const pods = opts.podSubnet;
  const podSubnetId = pods ? findOrCreateSubnet(world, vnet.id, pods.name, pods.cidr, d.zone) : undefined;
  if (opts.podNic && !podSubnetId) throw new Error('podNic needs podSubnet');
  const vmTags: Record<string, string> = {
    [TAG.name]: opts.vmss ? `${opts.vmss.name}_${opts.vmss.instanceId}` : opts.vmName,
  };
  if (opts.vmss) {
    vmTags[TAG.vmss] = opts.vmss.name;
    vmTags[TAG.vmssInstance] = opts.vmss.instanceId;
  }
  const inst = cloud.createInstance({ instanceType: d.vmSize, subnetId, tags: vmTags });
  const nicName = `${opts.vmName}-nic`;
  const nic = inst.interfaces[0]!;
  cloud.createTags([nic.id], { [TAG.name]: nicName, [TAG.etag]: newEtag(), [TAG.primaryIpc]: 'ipconfig1' });
  if (podSubnetId && opts.podNic) {
    createdWithVm(world, inst.id, podSubnetId, `${opts.vmName}-pod-nic`, opts.podNic.tag ?? true);
  }
  const n = opts.secondaryIps ?? 0;
  if (n > 0) {
    const ips = cloud.assignPrivateIps(nic.id, { count: n });
    cloud.createTags([nic.id], Object.fromEntries(ips.map((ip, i) => [`${TAG.ipcPrefix}ipconfig${i + 2}`, ip])));
  }
  return nicName;
}

/**
 * Attaches a NIC as part of creating the VM. The SimCloud launches an
 * instance with one interface and, for an Azure size, refuses any attach to
 * the running instance (canCreateInterfaces false, Azure's rule); Azure
 * creates a VM with all its NICs at once. So the size allows attaching for
 * this one call, and the rule is back before anything else can run.
 */
function createdWithVm(world: AzureWorld, instanceId: string, subnetId: string, name: string, tag: boolean): void {
  const cloud = world.cloud;
  const inst = cloud.getInstance(instanceId);
  const limits = cloud.instanceLimits(inst.instanceType)!;
  const nic = cloud.createInterface({ subnetId, description: `${name} (created with the VM)` });
  cloud.defineInstanceType({ ...limits, canCreateInterfaces: true });
  try {
    cloud.attachInterface(nic.id, instanceId, 1);
  } finally {
    cloud.defineInstanceType(limits);
  }
  const tags: Record<string, string> = { [TAG.name]: name, [TAG.etag]: newEtag(), [TAG.primaryIpc]: 'ipconfig1' };
  if (tag) tags[POD_NIC_TAG] = 'true';
  cloud.createTags([nic.id], tags);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
