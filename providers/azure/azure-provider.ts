/**
 * @module azure provider
 * {@link AzureProvider}: the CloudProvider for an Azure VM, growing and
 * shrinking the pool as secondary ipConfigurations of the VM's NIC.
 *
 * - describeNode: IMDS says who we are (subscription, resource group, VM,
 *   scale set, NIC MACs); ARM is read for the NICs themselves. An
 *   ipConfiguration is a pool address only once its provisioningState is
 *   `Succeeded`.
 * - Pod subnet (AZURE_POD_SUBNET_ID or a NIC tagged `vpc-ipam.io/pod-nic=true`):
 *   Pod addresses go on the VM's NIC in that subnet, and the other NICs are
 *   reported `excluded`; with no such NIC the first describeNode throws a
 *   ConfigError saying what the node pool must provide (`pod-nic.ts`).
 * - assignAddresses: read the whole NIC, append N Dynamic ipConfigurations
 *   in the NIC's own subnet (Azure refuses two subnets on one NIC), PUT it
 *   back with `If-Match: <etag>` and wait for the long-running operation,
 *   polling at the server's Retry-After on the injected clock
 *   (`ip-config-writer.ts`, which also says why nothing is lost or duplicated).
 * - unassignAddresses: the same read-modify-write, leaving out the named
 *   ipConfigurations that hold the given addresses.
 * - Azure cannot hot-add NICs (canCreateInterfaces false) and has no prefix
 *   blocks here (supportsPrefixes false); at most 256 ipConfigurations per NIC.
 *
 * A uniform scale-set VM's NIC is read through its VMSS path and changed
 * through the VM's model (Compute RP), see `arm-client.ts`.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { Clock } from '../clock.js';
import { InvalidCloudRequestError } from '../errors.js';
import type {
  AddressBlock,
  AssignRequest,
  CloudProvider,
  CreateInterfaceRequest,
  InstanceLimits,
  NetworkInterface,
  NodeInventory,
  Subnet,
  SubnetAllocations,
  SubnetFilter,
} from '../types.js';
import { ArmClient, type ArmNic } from './arm-client.js';
import { normalizeMac, parseSubnetId, parseVmId, sameId, vnetId } from './arm-ids.js';
import { choosePodNic, notPodNic } from './pod-nic.js';
import type { AzureSettings } from './config.js';
import { credentialFor } from './credential-factory.js';
import { readImdsInstance, type ImdsInstance } from './imds.js';
import { AZURE_IPCONFIGS_PER_NIC, checkAssignRequest, IpConfigWriter } from './ip-config-writer.js';
import { reservedCidrs, subnetUsable } from './subnet-math.js';

export interface AzureProviderOptions {
  settings: AzureSettings;
  clock: Clock;
  /** Default: from `settings.credential`. */
  credential?: TokenCredential;
}

export class AzureProvider implements CloudProvider {
  readonly name = 'azure' as const;
  private identity: ImdsInstance | undefined;
  private arm: ArmClient | undefined;
  private nicIds: string[] = [];
  /** The NIC Pods get addresses from when the node has a Pod subnet (pod-nic.ts); undefined: every NIC. */
  private podNic: { id: string; name: string } | undefined;
  private vnetCidrs: string[] | undefined;
  private readonly subnetCidrs = new Map<string, string>();
  private readonly ipConfigs = new IpConfigWriter(async () => (await this.client()).arm);

  constructor(private readonly o: AzureProviderOptions) {}

  private async client(): Promise<{ arm: ArmClient; me: ImdsInstance }> {
    if (!this.identity)
      this.identity = await readImdsInstance(
        this.o.settings.imdsEndpoint,
        this.o.settings.imdsApiVersion,
        this.o.clock,
      );
    if (!this.arm) {
      const s = this.o.settings;
      const credential = this.o.credential ?? (await credentialFor(s, this.o.clock));
      this.arm = await ArmClient.create({
        endpoint: s.armEndpoint,
        subscriptionId: this.identity.subscriptionId,
        credential,
        lroPollIntervalMs: s.lroPollIntervalMs,
        now: () => this.o.clock.now(),
        sleep: (ms) => this.o.clock.sleep(ms),
      });
    }
    return { arm: this.arm, me: this.identity };
  }

  /** The node's NIC ids, primary first, in IMDS (device) order; looked up once. */
  private async discoverNics(arm: ArmClient, me: ImdsInstance): Promise<string[]> {
    if (this.nicIds.length) return this.nicIds;
    const vm = parseVmId(me.resourceId);
    const list = await arm.listVmNics(me.resourceGroupName, vm?.vmss);
    const mine = vm?.vmss ? list : list.filter((n) => sameId(n.virtualMachine?.id, me.resourceId));
    const order = (n: ArmNic) => {
      const i = me.macs.indexOf(normalizeMac(n.macAddress ?? '') ?? '');
      return i >= 0 ? i : n.primary ? -1 : 1000;
    };
    mine.sort((a, b) => order(a) - order(b));
    if (mine.length === 0)
      throw new InvalidCloudRequestError({
        provider: 'azure',
        operation: 'describeNode',
        cloudCode: 'NotFound',
        message: `no NIC attached to ${me.resourceId}`,
      });
    // Decided before anything is cached, so a node pool without its Pod NIC fails every start the same way.
    const pod = choosePodNic(mine, this.o.settings.podSubnetId, me.resourceId);
    const podNic = mine.find((n) => n.id === pod);
    this.podNic = podNic ? { id: podNic.id!, name: podNic.name ?? podNic.id! } : undefined;
    this.nicIds = mine.map((n) => n.id!);
    return this.nicIds;
  }

  async describeNode(): Promise<NodeInventory> {
    const { arm, me } = await this.client();
    const ids = await this.discoverNics(arm, me);
    const interfaces: NetworkInterface[] = [];
    for (const [i, id] of ids.entries()) {
      const nic = await this.toInterface(arm, await arm.getNic(id), i);
      const other = this.podNic && !sameId(id, this.podNic.id);
      interfaces.push(other ? { ...nic, excluded: notPodNic(this.podNic!.name) } : nic);
    }
    const primarySubnet = parseSubnetId(interfaces[0]!.subnetId)!;
    if (!this.vnetCidrs) this.vnetCidrs = await arm.vnetPrefixes(primarySubnet.resourceGroup, primarySubnet.vnet);
    this.ipConfigs.forgetUnreported();
    return {
      instanceId: me.name,
      instanceType: me.vmSize,
      zone: me.zone || me.location,
      vpcId: vnetId(primarySubnet.subscription, primarySubnet.resourceGroup, primarySubnet.vnet),
      vpcCidrs: [...this.vnetCidrs],
      interfaces,
    };
  }

  private async subnetCidr(arm: ArmClient, subnetId: string): Promise<string> {
    const key = subnetId.toLowerCase();
    let cidr = this.subnetCidrs.get(key);
    if (!cidr) {
      const s = await arm.getSubnet(subnetId);
      cidr = s.addressPrefix ?? s.addressPrefixes?.[0] ?? '';
      this.subnetCidrs.set(key, cidr);
    }
    return cidr;
  }

  private async toInterface(arm: ArmClient, nic: ArmNic, deviceIndex: number): Promise<NetworkInterface> {
    const ipcs = nic.ipConfigurations ?? [];
    const primary = ipcs.find((c) => c.primary) ?? ipcs[0];
    const subnetId = primary?.subnet?.id ?? '';
    return {
      id: nic.id!,
      deviceIndex,
      mac: normalizeMac(nic.macAddress ?? '') ?? '',
      subnetId,
      subnetCidr: subnetId ? await this.subnetCidr(arm, subnetId) : '',
      primaryIp: primary?.privateIPAddress ?? '',
      securityGroups: nic.networkSecurityGroup?.id ? [nic.networkSecurityGroup.id] : [],
      blocks: succeededBlocks(nic),
      tags: { ...(nic.tags ?? {}) },
    };
  }

  async getLimits(instanceType: string): Promise<InstanceLimits> {
    return {
      instanceType,
      maxInterfaces: Math.max(1, this.nicIds.length),
      ipv4PerInterface: AZURE_IPCONFIGS_PER_NIC,
      supportsIps: true,
      supportsPrefixes: false,
      prefixLength: 28,
      canCreateInterfaces: false,
    };
  }

  async listSubnets(filter: SubnetFilter = {}): Promise<Subnet[]> {
    const { arm, me } = await this.client();
    const ids = await this.discoverNics(arm, me);
    const primary = await arm.getNic(ids[0]!);
    const ref = parseSubnetId((primary.ipConfigurations ?? []).find((c) => c.primary)?.subnet?.id ?? '');
    if (!ref) return [];
    const vpcId = vnetId(ref.subscription, ref.resourceGroup, ref.vnet);
    const [subnets, usages] = [
      await arm.listSubnets(ref.resourceGroup, ref.vnet),
      await arm.listUsage(ref.resourceGroup, ref.vnet),
    ];
    const out: Subnet[] = [];
    for (const s of subnets) {
      const cidr = s.addressPrefix ?? s.addressPrefixes?.[0] ?? '';
      const u = usages.find((x) => sameId(x.id, s.id));
      const available =
        u?.limit !== undefined && u.currentValue !== undefined
          ? u.limit - u.currentValue
          : subnetUsable(cidr) - (s.ipConfigurations?.length ?? 0);
      out.push({
        id: s.id!,
        cidr,
        zone: me.zone || me.location,
        vpcId,
        availableAddresses: Math.max(0, available),
        tags: {},
      });
    }
    return out.filter(
      (s) =>
        (!filter.ids || filter.ids.some((id) => sameId(id, s.id))) &&
        (!filter.vpcId || sameId(filter.vpcId, s.vpcId)) &&
        (!filter.tags || Object.keys(filter.tags).length === 0),
    );
  }

  /**
   * Used addresses of a subnet for the monitor: Azure's 5 reserved plus every ipConfiguration
   * (`$expand=ipConfigurations`).
   */
  async describeSubnetAllocations(subnetId: string): Promise<SubnetAllocations> {
    const { arm } = await this.client();
    const s = await arm.getSubnet(subnetId, true);
    const cidr = s.addressPrefix ?? s.addressPrefixes?.[0] ?? '';
    const [subnet] = await this.listSubnets({ ids: [subnetId] });
    if (!s.ipConfigurations) {
      // ARM leaves the list out for very large subnets (cloud-apis.md §4.5): unknown is not empty.
      throw new InvalidCloudRequestError({
        provider: 'azure',
        operation: 'subnets.get',
        cloudCode: 'IpConfigurationsOmitted',
        message: `ARM did not list the ipConfigurations of ${subnetId}; per-address usage is unknown`,
      });
    }
    const used = [
      ...reservedCidrs(cidr),
      ...s.ipConfigurations
        .map((c) => c.privateIPAddress)
        .filter((ip): ip is string => !!ip)
        .map((ip) => (ip.includes('/') ? ip : `${ip}/32`)),
    ];
    return { subnet: subnet ?? { id: s.id!, cidr, zone: '', vpcId: '', availableAddresses: 0, tags: {} }, used };
  }

  async createInterface(_req: CreateInterfaceRequest): Promise<NetworkInterface> {
    throw new InvalidCloudRequestError({
      provider: 'azure',
      operation: 'createInterface',
      cloudCode: 'OperationNotSupported',
      message: 'Azure cannot attach a NIC to a running VM',
    });
  }

  async deleteInterface(_id: string): Promise<void> {
    throw new InvalidCloudRequestError({
      provider: 'azure',
      operation: 'deleteInterface',
      cloudCode: 'OperationNotSupported',
      message: 'Azure cannot detach a NIC from a running VM',
    });
  }

  async assignAddresses(interfaceId: string, req: AssignRequest): Promise<AddressBlock[]> {
    checkAssignRequest(req);
    return this.ipConfigs.add(interfaceId, req);
  }

  async unassignAddresses(interfaceId: string, blocks: AddressBlock[]): Promise<void> {
    const drop = new Set(blocks.filter((b) => b.kind === 'ip').map((b) => b.cidr.replace(/\/32$/, '')));
    if (drop.size === 0) return;
    await this.ipConfigs.remove(interfaceId, drop);
  }

  async close(): Promise<void> {
    this.arm = undefined;
  }
}

/** Secondary ipConfigurations that have succeeded, as /32 blocks. */
export function succeededBlocks(nic: ArmNic): AddressBlock[] {
  return (nic.ipConfigurations ?? [])
    .filter((c) => !c.primary && c.provisioningState === 'Succeeded' && c.privateIPAddress)
    .map((c) => ({ cidr: `${c.privateIPAddress}/32`, kind: 'ip' as const }));
}
