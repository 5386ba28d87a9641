/**
 * @module provider types
 * The seam between the cloud-neutral pool engine (ipamd/) and each cloud
 * (providers/<cloud>/). Modelled on Cilium's NodeOperations split: the engine
 * decides, a provider does. No SDK type crosses this file, and the words used
 * here are neutral: an "interface" is an AWS ENI, an Azure NIC or a GCP nic0;
 * a "prefix" block is an AWS /28 delegated prefix or a GCP alias IP range.
 */

export type ProviderName = 'sim' | 'aws' | 'azure' | 'gcp';

/** `ip`: one secondary /32. `prefix`: an aligned block (AWS /28, GCP alias range). */
export type BlockKind = 'ip' | 'prefix';

export interface AddressBlock {
  /** Always in CIDR form: `10.0.1.7/32` for an IP, `10.0.1.16/28` for a prefix. */
  cidr: string;
  kind: BlockKind;
}

export interface NetworkInterface {
  id: string;
  /** Attachment slot; 0 is the node's primary interface. Route table = deviceIndex + 1. */
  deviceIndex: number;
  mac: string;
  subnetId: string;
  subnetCidr: string;
  /** The interface's own primary address; never handed to a Pod. */
  primaryIp: string;
  securityGroups: string[];
  /** Secondary IPs and delegated prefixes, excluding `primaryIp`. */
  blocks: AddressBlock[];
  tags: Record<string, string>;
  /**
   * Set when ipamd must leave this interface alone (no Pod addresses from it, never deleted, no host-link
   * setup): why, for logs and introspection, e.g. 'tag node.k8s.amazonaws.com/no_manage=true',
   * 'interface type trunk', 'untagged and MANAGE_UNTAGGED_ENI=false'.
   */
  excluded?: string;
}

export interface NodeInventory {
  instanceId: string;
  instanceType: string;
  zone: string;
  vpcId: string;
  vpcCidrs: string[];
  interfaces: NetworkInterface[];
}

export interface InstanceLimits {
  instanceType: string;
  /** Interfaces that can be attached (including the primary). */
  maxInterfaces: number;
  /** IPv4 addresses per interface, including the interface's primary address. */
  ipv4PerInterface: number;
  /** Whether the cloud can hand out secondary IPs one by one (AWS, Azure). */
  supportsIps: boolean;
  /** Whether prefix blocks can be delegated (AWS Nitro, GCP alias ranges). */
  supportsPrefixes: boolean;
  /** Length of one prefix block (28 on AWS; configurable on GCP). */
  prefixLength: number;
  /** Whether more interfaces can be created and attached at run time (false on Azure). */
  canCreateInterfaces: boolean;
}

export interface Subnet {
  id: string;
  cidr: string;
  zone: string;
  vpcId: string;
  /** Free addresses as the cloud reports them (EC2 AvailableIpAddressCount). */
  availableAddresses: number;
  tags: Record<string, string>;
}

export interface SubnetFilter {
  ids?: string[];
  vpcId?: string;
  zone?: string;
  /** Tag key → value; value `*` matches any value. */
  tags?: Record<string, string>;
}

/** Everything allocated inside a subnet, so the monitor can count aligned free blocks. */
export interface SubnetAllocations {
  subnet: Subnet;
  /** CIDRs in use: interface primaries, secondary /32s, prefixes, reservations. */
  used: string[];
}

export interface CreateInterfaceRequest {
  subnetId: string;
  /** Defaults to the node primary interface's groups. */
  securityGroups?: string[];
  description?: string;
  tags?: Record<string, string>;
  /** Addresses requested in the same call (AWS allows this; saves a round trip). */
  initial?: { kind: BlockKind; count: number };
}

export interface AssignRequest {
  kind: BlockKind;
  /** Ask the cloud to choose this many blocks... */
  count?: number;
  /** ...or ask for these exact CIDRs. */
  cidrs?: string[];
}

/** What {@link CloudProvider.reclaimLeakedInterfaces} did. */
export interface ReclaimReport {
  /** Interfaces deleted by this call. */
  deleted: string[];
  /** Interfaces that could not be deleted now; the next call tries again. */
  retrying: string[];
}

/**
 * What ipamd needs from a cloud. Every method may throw a {@link CloudError}
 * subclass from `providers/errors.ts`; nothing else. Methods are idempotent
 * where the cloud allows it, and each says what it does when there is nothing
 * to do.
 */
export interface CloudProvider {
  readonly name: ProviderName;

  /**
   * The node as the cloud sees it right now: its interfaces with their
   * secondary IPs and prefixes. Called at start and on every resync. Must be
   * authoritative (AWS: EC2, not a possibly stale IMDS) for anything ipamd
   * would remove because of it.
   */
  describeNode(): Promise<NodeInventory>;

  /** Limits of an instance type; from a built-in table, then the cloud API. */
  getLimits(instanceType: string): Promise<InstanceLimits>;

  /** Subnets matching the filter, with live free-address counts. */
  listSubnets(filter?: SubnetFilter): Promise<Subnet[]>;

  /**
   * Creates an interface in `subnetId`, attaches it at the lowest free slot,
   * and returns once the node can use it. On any failure it undoes what it
   * did, so nothing leaks. Throws NicLimitError when no slot is free.
   */
  createInterface(req: CreateInterfaceRequest): Promise<NetworkInterface>;

  /** Detaches and deletes an interface ipamd created. Not-found is success. */
  deleteInterface(interfaceId: string): Promise<void>;

  /**
   * Optional (clouds that create interfaces): deletes the detached interfaces
   * ipamd created for this node and left behind: by an earlier run killed
   * between create and attach, or by an undo that could not finish. The
   * daemon calls it at start (one cloud read) and after every resync (no
   * call unless something is due). Never touches an interface a create of
   * this run is still working on, nor an attached one.
   */
  reclaimLeakedInterfaces?(): Promise<ReclaimReport>;

  /** Adds blocks to an interface and returns exactly the blocks added. */
  assignAddresses(interfaceId: string, req: AssignRequest): Promise<AddressBlock[]>;

  /** Removes blocks from an interface. Blocks already gone are ignored. */
  unassignAddresses(interfaceId: string, blocks: AddressBlock[]): Promise<void>;

  /** Optional: used addresses of a subnet, for fragmentation reporting. */
  describeSubnetAllocations?(subnetId: string): Promise<SubnetAllocations>;

  /** Optional: release clients and sockets. */
  close?(): Promise<void>;
}
