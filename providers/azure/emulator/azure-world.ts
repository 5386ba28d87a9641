/**
 * @module azure emulator world
 * The Azure view of a {@link SimCloud}: one truth, two vocabularies. The
 * SimCloud holds the addresses (who has which IP in which subnet); this file
 * keeps the Azure names next to them as tags on the sim records, so saving
 * the SimCloud saves everything and nothing can drift:
 *
 * - VNet = SimVpc, subnet = SimSubnet, VM = SimInstance, NIC = SimInterface,
 *   each tagged `azure:name` (VMs of a uniform scale set also `azure:vmss`
 *   and `azure:vmssInstance`);
 * - a NIC's primary ipConfiguration is the interface's primary address
 *   (`azure:ipc-primary` holds its name);
 * - a secondary ipConfiguration is a SimCloud secondary IP of the NIC (all
 *   of a NIC's ipConfigurations are in its subnet, as Azure requires: see
 *   `nic-put.ts`), named by the tag `azure:ipc:<name>` = `<ip>`. A world
 *   saved before issue 13 may still hold `<ip>@<sim subnet id>` values (an
 *   ipConfiguration in another subnet, kept as a `blocked` reservation there):
 *   they are still read and released, never created;
 * - `azure:etag` is the NIC's etag, a new GUID on every write; `azure:pending`
 *   holds the long-running operation in progress (see `operations.ts`).
 *
 * Secondary IPs that reach the SimCloud without a name (a test assigning
 * through the SimCloud directly) show up as `ipconfig-<ip>`.
 */
import {
  SimCloud,
  type SimCloudOptions,
  type SimErrorCodes,
  type SimInterface,
  type SimSubnet,
  type SimVpc,
} from '../../sim/index.js';
import type { InstanceLimits } from '../../types.js';
import {
  nicId as buildNicId,
  subnetId as buildSubnetId,
  vmId as buildVmId,
  vnetId as buildVnetId,
} from '../arm-ids.js';

export const TAG = {
  name: 'azure:name',
  subscription: 'azure:subscription',
  resourceGroup: 'azure:resourceGroup',
  location: 'azure:location',
  vmss: 'azure:vmss',
  vmssInstance: 'azure:vmssInstance',
  etag: 'azure:etag',
  state: 'azure:state',
  pending: 'azure:pending',
  primaryIpc: 'azure:ipc-primary',
  ipcPrefix: 'azure:ipc:',
} as const;

/** Azure's codes for the SimCloud's neutral failures (cloud-apis.md §4.6; UNVERIFIED where marked). */
export const AZURE_ERROR_CODES: Partial<SimErrorCodes> = {
  throttled: 'TooManyRequests',
  subnetFull: 'SubnetIsFull',
  noPrefixBlock: 'SubnetIsFull',
  attachmentLimit: 'NetworkInterfaceCountExceeded', // UNVERIFIED
  addressLimit: 'NetworkInterfaceIpConfigurationCountLimitReached', // UNVERIFIED
  interfaceNotFound: 'NotFound',
  subnetNotFound: 'NotFound',
  instanceNotFound: 'NotFound',
  vpcNotFound: 'NotFound',
  attachmentNotFound: 'NotFound',
  reservationNotFound: 'NotFound',
  interfaceInUse: 'NicInUse',
  deviceIndexInUse: 'InvalidRequestFormat',
  addressInUse: 'PrivateIPAddressIsAllocated',
  operationNotPermitted: 'OperationNotAllowed',
  invalidParameter: 'InvalidRequestFormat',
  invalidInstanceType: 'InvalidParameter',
  internal: 'InternalServerError',
};

/** Azure limit: 256 IP configurations per NIC (cloud-apis.md §4.3). */
export const AZURE_MAX_IPCONFIGS = 256;

/**
 * The SimCloud instance type of an Azure VM size. The emulator enforces the
 * 256-ipConfiguration limit itself, on the requested list; the sim's own
 * per-interface limit is twice that because a long-running operation keeps
 * the addresses it removes until it succeeds (so both sets are held at once).
 */
export function azureVmSizeLimits(vmSize: string, maxNics = 2): InstanceLimits {
  return {
    instanceType: vmSize,
    maxInterfaces: maxNics,
    ipv4PerInterface: 2 * AZURE_MAX_IPCONFIGS,
    supportsIps: true,
    supportsPrefixes: false,
    prefixLength: 28,
    canCreateInterfaces: false,
  };
}

export interface IpcRecord {
  name: string;
  ip: string;
  /** SimCloud subnet id. */
  subnet: string;
  primary: boolean;
  /** `Updating` while the NIC's operation that added it is in progress. */
  provisioningState: 'Succeeded' | 'Updating';
}

export interface PendingOp {
  op: string;
  /** ipConfiguration names this operation added. */
  add: string[];
  /** ipConfigurations it removes (released when it succeeds, restored when it fails): name → tag value. */
  remove: Record<string, string>;
}

export function ipcTagValue(ip: string, subnet: string, nicSubnet: string): string {
  return subnet === nicSubnet ? ip : `${ip}@${subnet}`;
}

export function parseIpcTag(value: string, nicSubnet: string): { ip: string; subnet: string } {
  const at = value.indexOf('@');
  return at < 0 ? { ip: value, subnet: nicSubnet } : { ip: value.slice(0, at), subnet: value.slice(at + 1) };
}

export interface AzureScope {
  subscription: string;
  resourceGroup: string;
  location: string;
}

export class AzureWorld {
  constructor(
    readonly cloud: SimCloud,
    readonly scope: AzureScope,
  ) {}

  /** A new empty world; the scope is recorded on the first VNet. */
  static create(scope: AzureScope, opts: Omit<SimCloudOptions, 'provider' | 'errorCodes'> = {}): AzureWorld {
    return new AzureWorld(new SimCloud({ ...opts, provider: 'azure', errorCodes: AZURE_ERROR_CODES }), scope);
  }

  /** Wraps a loaded SimCloud; the scope comes from its first VNet's tags. */
  static fromCloud(cloud: SimCloud): AzureWorld {
    const vnet = cloud.describeVpcs().find((v) => v.tags[TAG.subscription]);
    if (!vnet) throw new Error('this SimCloud holds no Azure VNet (no azure:subscription tag)');
    return new AzureWorld(cloud, {
      subscription: vnet.tags[TAG.subscription]!,
      resourceGroup: vnet.tags[TAG.resourceGroup]!,
      location: vnet.tags[TAG.location]!,
    });
  }

  static cloudOptions(): Pick<SimCloudOptions, 'provider' | 'errorCodes'> {
    return { provider: 'azure', errorCodes: AZURE_ERROR_CODES };
  }

  // ---- lookups by Azure name (case-insensitive, as ARM) ----------------------

  vnets(): SimVpc[] {
    return this.cloud.describeVpcs().filter((v) => v.tags[TAG.name] !== undefined);
  }

  vnet(name: string): SimVpc | undefined {
    return this.vnets().find((v) => eq(v.tags[TAG.name], name));
  }

  subnetsOf(vnet: SimVpc): SimSubnet[] {
    return this.cloud
      .describeSubnets({ vpcId: vnet.id })
      .filter((s) => s.tags[TAG.name] !== undefined)
      .map((s) => ({ id: s.id, vpcId: s.vpcId, cidr: s.cidr, zone: s.zone, tags: s.tags }));
  }

  subnet(vnetName: string, name: string): SimSubnet | undefined {
    const vnet = this.vnet(vnetName);
    return vnet ? this.subnetsOf(vnet).find((s) => eq(s.tags[TAG.name], name)) : undefined;
  }

  subnetById(simId: string): SimSubnet {
    const s = this.cloud.describeSubnets({ ids: [simId] })[0]!;
    return { id: s.id, vpcId: s.vpcId, cidr: s.cidr, zone: s.zone, tags: s.tags };
  }

  nics(): SimInterface[] {
    return this.cloud.describeInterfaces().filter((n) => n.tags[TAG.name] !== undefined);
  }

  nic(name: string): SimInterface | undefined {
    return this.nics().find((n) => eq(n.tags[TAG.name], name));
  }

  /** The VM (instance) a NIC is attached to, with its Azure names. */
  vmOf(
    nic: SimInterface,
  ): { name: string; vmSize: string; vmss?: { name: string; instanceId: string }; instanceId: string } | undefined {
    if (!nic.attachment) return undefined;
    const inst = this.cloud.getInstance(nic.attachment.instanceId);
    const vmss = inst.tags[TAG.vmss];
    return {
      name: inst.tags[TAG.name] ?? inst.id,
      vmSize: inst.instanceType,
      instanceId: inst.id,
      ...(vmss ? { vmss: { name: vmss, instanceId: inst.tags[TAG.vmssInstance] ?? '0' } } : {}),
    };
  }

  vms() {
    return this.cloud.describeInstances().filter((i) => i.tags[TAG.name] !== undefined);
  }

  vm(name: string) {
    return this.vms().find((i) => eq(i.tags[TAG.name], name));
  }

  // ---- ARM ids ---------------------------------------------------------------

  vnetArmId(vnet: SimVpc): string {
    return buildVnetId(this.scope.subscription, this.scope.resourceGroup, vnet.tags[TAG.name]!);
  }

  subnetArmId(subnet: SimSubnet): string {
    const vnet = this.cloud.getVpc(subnet.vpcId);
    return buildSubnetId({
      subscription: this.scope.subscription,
      resourceGroup: this.scope.resourceGroup,
      vnet: vnet.tags[TAG.name]!,
      name: subnet.tags[TAG.name]!,
    });
  }

  nicArmId(nic: SimInterface): string {
    const vm = this.vmOf(nic);
    return buildNicId({
      subscription: this.scope.subscription,
      resourceGroup: this.scope.resourceGroup,
      name: nic.tags[TAG.name]!,
      ...(vm?.vmss ? { vmss: vm.vmss } : {}),
    });
  }

  vmArmId(vm: { name: string; vmss?: { name: string; instanceId: string } }): string {
    return buildVmId(this.scope.subscription, this.scope.resourceGroup, vm.name, vm.vmss);
  }

  // ---- ipConfigurations ------------------------------------------------------

  /** The NIC's etag value (a GUID; `1` for a NIC seeded before etags were GUIDs). */
  etag(nic: SimInterface): string {
    return nic.tags[TAG.etag] ?? '1';
  }

  /** The NICs attached to a VM (a SimCloud instance id), by device index: the primary first. */
  nicsOfVm(instanceId: string): SimInterface[] {
    return this.nics()
      .filter((n) => n.attachment?.instanceId === instanceId)
      .sort((a, b) => a.attachment!.deviceIndex - b.attachment!.deviceIndex);
  }

  pending(nic: SimInterface): PendingOp | undefined {
    const raw = nic.tags[TAG.pending];
    return raw ? (JSON.parse(raw) as PendingOp) : undefined;
  }

  /** The NIC's ipConfigurations in ARM order: the primary first, then as added. */
  ipConfigs(nic: SimInterface): IpcRecord[] {
    const pending = new Set(this.pending(nic)?.add ?? []);
    const out: IpcRecord[] = [
      {
        name: nic.tags[TAG.primaryIpc] ?? 'ipconfig1',
        ip: nic.primaryIp,
        subnet: nic.subnetId,
        primary: true,
        provisioningState: 'Succeeded',
      },
    ];
    const named = new Set<string>();
    for (const [k, v] of Object.entries(nic.tags)) {
      if (!k.startsWith(TAG.ipcPrefix)) continue;
      const name = k.slice(TAG.ipcPrefix.length);
      const { ip, subnet } = parseIpcTag(v, nic.subnetId);
      if (subnet === nic.subnetId) named.add(ip);
      out.push({ name, ip, subnet, primary: false, provisioningState: pending.has(name) ? 'Updating' : 'Succeeded' });
    }
    for (const ip of nic.privateIps) {
      if (!named.has(ip))
        out.push({
          name: `ipconfig-${ip.replace(/\./g, '-')}`,
          ip,
          subnet: nic.subnetId,
          primary: false,
          provisioningState: 'Succeeded',
        });
    }
    return out;
  }

  /** Every ipConfiguration in a subnet, across NICs, plus space used outside Azure NICs (other tenants). */
  subnetIpConfigs(subnet: SimSubnet): Array<{ id: string; ip: string; provisioningState: string }> {
    const out: Array<{ id: string; ip: string; provisioningState: string }> = [];
    const owned = new Set<string>();
    for (const nic of this.nics()) {
      const nicArm = this.nicArmId(nic);
      for (const c of this.ipConfigs(nic)) {
        if (c.subnet !== subnet.id) continue;
        owned.add(c.ip);
        out.push({ id: `${nicArm}/ipConfigurations/${c.name}`, ip: c.ip, provisioningState: c.provisioningState });
      }
      // Addresses an operation in progress still holds (being removed) are still used.
      for (const [name, v] of Object.entries(this.pending(nic)?.remove ?? {})) {
        const { ip, subnet: s } = parseIpcTag(v, nic.subnetId);
        if (s !== subnet.id) continue;
        owned.add(ip);
        out.push({ id: `${nicArm}/ipConfigurations/${name}`, ip, provisioningState: 'Deleting' });
      }
    }
    for (const r of this.cloud.describeReservations(subnet.id)) {
      if (r.type !== 'blocked') continue;
      const ip = r.cidr.endsWith('/32') ? r.cidr.slice(0, -3) : undefined;
      if (ip && owned.has(ip)) continue;
      const other =
        `/subscriptions/${this.scope.subscription}/resourceGroups/other-tenant` +
        `/providers/Microsoft.Network/networkInterfaces/${r.id}`;
      out.push({
        id: `${other}/ipConfigurations/${r.cidr.replace(/[./]/g, '-')}`,
        ip: r.cidr,
        provisioningState: 'Succeeded',
      });
    }
    return out;
  }
}

function eq(a: string | undefined, b: string): boolean {
  return a !== undefined && a.toLowerCase() === b.toLowerCase();
}
