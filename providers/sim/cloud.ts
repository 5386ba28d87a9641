/**
 * @module sim cloud
 * {@link SimCloud}: an in-memory cloud that behaves like EC2 where an IPAM
 * daemon can tell the difference. It is the "outside world" shared by the
 * {@link SimProvider} (one per simulated node) and, later, by the EC2, Azure
 * and GCE HTTP emulators, so its API is a neutral library API: no clock of
 * its own beyond timestamps, no latency, no throttling (see `faults.ts`,
 * `latency.ts`), and every operation synchronous and atomic.
 *
 * What it models: VPCs; subnets with the five EC2-reserved addresses, live
 * free counts and CIDR reservations; instances with per-type limits from
 * `providers/limits`; interfaces with a primary address, secondary /32s,
 * aligned /28 prefixes, security groups, tags and an attachment. Address
 * choice is pseudo-random from a seed, so subnets fragment like real ones
 * and a run replays identically. Failures are the typed errors of
 * `providers/errors.ts` with EC2 codes by default (`sim-errors.ts`).
 *
 * Every read returns a deep copy; the records can only change through the
 * methods here, each of which bumps {@link SimCloud.revision}.
 *
 * For the GCE flavour a subnet can also carry named secondary ranges, and an
 * interface's prefixes may come from them (alias IP ranges; see
 * `secondary-ranges.ts`); `subnetReserved` sets GCE's reserved addresses.
 */
import type { CloudError } from '../errors.js';
import type { Subnet, SubnetAllocations, SubnetFilter } from '../types.js';
import { checkSimCloudState } from './cloud-state.js';
import type { InterfaceFilter } from './filters.js';
import * as att from './attachment-ops.js';
import * as ops from './interface-ops.js';
import type { CreateInterfaceOptions, IpRequest, PrefixRequest } from './interface-ops.js';
import type {
  SimReservedCounts,
  SimSecondaryRange,
  SimAttachment,
  SimCloudState,
  SimInstanceLimits,
  SimInstanceView,
  SimInterface,
  SimReservation,
  SimSubnet,
  SimVpc,
  Tags,
} from './model.js';
import { Prng } from './prng.js';
import { SimErrorFactory, type SimErrorCodes, type SimErrorKind } from './sim-errors.js';
import { SimStore } from './store.js';
import * as reads from './store-reads.js';
import { copy } from './store-reads.js';
import { restoreStore, storeToState } from './store-snapshot.js';
import type { TimeSource } from './time.js';
import { seedNode, type SeedNodeOptions } from './seed.js';
import * as ranges from './secondary-ranges.js';
import type { AliasRangeChange, AliasRangeSpec } from './secondary-ranges.js';
import * as topo from './topology-ops.js';
import type { CreateInstanceOptions, ReserveOptions } from './topology-ops.js';

export interface SimCloudOptions {
  /** PRNG seed for address choices (default 1). Same seed + same calls = same addresses. */
  seed?: number;
  /** Source of creation/attach timestamps; pass the daemon's Clock. Default: always 0. */
  clock?: TimeSource;
  /** `provider` field of thrown errors (default `sim`; the emulators pass `aws`, `azure`, `gcp`). */
  provider?: string;
  /** Overrides of the EC2 error codes, for other cloud flavours. */
  errorCodes?: Partial<SimErrorCodes>;
  /**
   * Reserved addresses at the start and end of every subnet's primary range:
   * EC2's first 4 and last 1 by default, GCE's first 2 and last 2. Saved
   * with the cloud; when loading, a saved value wins over this one.
   */
  subnetReserved?: SimReservedCounts;
}

const ZERO_CLOCK: TimeSource = { now: () => 0 };

export class SimCloud {
  private readonly store: SimStore;
  private rev = 0;

  constructor(opts: SimCloudOptions = {}) {
    this.store = new SimStore(
      opts.seed ?? 1,
      new SimErrorFactory(opts.provider, opts.errorCodes),
      opts.clock ?? ZERO_CLOCK,
      opts.subnetReserved,
    );
  }

  /** Increases by one on every successful mutation; lets a caller skip saving an unchanged cloud. */
  get revision(): number {
    return this.rev;
  }

  /** The error codes in force (EC2's unless overridden). */
  get errorCodes(): SimErrorCodes {
    return this.store.errors.codes;
  }

  /** A typed error of this cloud's flavour, for callers that fail on the cloud's behalf (providers, emulators). */
  makeError(kind: SimErrorKind, operation: string, message: string): CloudError {
    return this.store.fail(kind, operation, message);
  }

  /** Restarts the address-choice sequence from `seed`. */
  reseed(seed: number): void {
    this.store.prng = new Prng(seed);
  }

  private mutate<T>(fn: () => T): T {
    const out = fn();
    this.rev++;
    return out;
  }

  // ---- topology -----------------------------------------------------------

  createVpc(opts: { cidr: string; tags?: Tags }): SimVpc {
    return this.mutate(() => copy(topo.createVpc(this.store, opts)));
  }

  createSubnet(opts: { vpcId: string; cidr: string; zone: string; tags?: Tags }): SimSubnet {
    return this.mutate(() => copy(topo.createSubnet(this.store, opts)));
  }

  /** Adds (or replaces) an instance type unknown to the EC2 table, e.g. a tiny type for tests or an Azure VM size. */
  defineInstanceType(limits: SimInstanceLimits): void {
    this.mutate(() => this.store.instanceTypes.set(limits.instanceType, { ...limits }));
  }

  /** Limits of an instance type: run-time definitions first, then the EC2 table. */
  instanceLimits(instanceType: string): SimInstanceLimits | undefined {
    return this.store.limitsOf(instanceType);
  }

  /** Launches an instance with its primary interface at device index 0 (deleted with the instance). */
  createInstance(opts: CreateInstanceOptions): SimInstanceView {
    return this.mutate(() => this.getInstance(topo.createInstance(this.store, opts).id));
  }

  /**
   * Terminates an instance: interfaces with deleteOnTermination are deleted,
   * the others are detached and left `available` (leaked, as in EC2).
   */
  terminateInstance(instanceId: string): void {
    this.mutate(() => topo.terminateInstance(this.store, instanceId));
  }

  /**
   * A ready node in one call: the VPC (default 10.0.0.0/16), the node subnet,
   * optionally an empty Pod subnet tagged `kubernetes.io/role/cni=1`, and an
   * instance with its primary interface. Existing VPCs and subnets with the
   * same CIDRs are reused, so calling it again adds a node to the same
   * subnets. `seed` reseeds address choice first. Returns the instance id.
   */
  seedNode(opts: SeedNodeOptions): string {
    return seedNode(this, opts);
  }

  // ---- secondary ranges and alias ranges (GCE) ------------------------------

  /** Adds a named secondary range to a subnet (GCE `secondaryIpRanges`); it overlaps nothing in the VPC. */
  createSecondaryRange(opts: { subnetId: string; name: string; cidr: string }): SimSecondaryRange {
    return this.mutate(() => copy(ranges.createSecondaryRange(this.store, opts)));
  }

  /** Secondary ranges of one subnet (or of all), by subnet then name. */
  describeSecondaryRanges(subnetId?: string): SimSecondaryRange[] {
    return reads.describeSecondaryRanges(this.store, subnetId);
  }

  /** The secondary range holding an address or CIDR, if any. */
  findSecondaryRange(cidrOrIp: string): SimSecondaryRange | undefined {
    const r = ranges.findRange(this.store, cidrOrIp);
    return r ? copy(r) : undefined;
  }

  /**
   * GCE updateNetworkInterface on the model: `desired` replaces the interface's alias ranges (see
   * `secondary-ranges.ts`).
   */
  replaceAliasRanges(interfaceId: string, desired: AliasRangeSpec[]): AliasRangeChange {
    return this.mutate(() => ranges.replaceAliasRanges(this.store, interfaceId, desired));
  }

  /**
   * Everything allocated in a secondary range (every interface's prefixes
   * inside it), ascending, with the free address count. A secondary range
   * has no reserved addresses.
   */
  secondaryRangeAllocations(rangeId: string): { range: SimSecondaryRange; used: string[]; free: number } {
    const out = ranges.rangeAllocations(this.store, rangeId);
    return { ...out, range: copy(out.range) };
  }

  // ---- subnet reservations --------------------------------------------------

  /**
   * Reserves a CIDR of a subnet: `blocked` (default) marks it used by
   * someone outside the sim and must be free; `explicit` and `prefix` model
   * EC2 CreateSubnetCidrReservation and only steer automatic choice.
   */
  reserveCidr(subnetId: string, cidr: string, opts: ReserveOptions = {}): SimReservation {
    return this.mutate(() => copy(topo.reserveCidr(this.store, subnetId, cidr, opts)));
  }

  releaseReservation(reservationId: string): void {
    this.mutate(() => topo.releaseReservation(this.store, reservationId));
  }

  /** Blocks `count` random free addresses (as /32 `blocked` reservations): other tenants fragmenting a subnet. */
  occupyRandom(subnetId: string, count: number, description = 'occupied'): SimReservation[] {
    return this.mutate(() => topo.occupyRandom(this.store, subnetId, count, description).map(copy));
  }

  describeReservations(subnetId?: string): SimReservation[] {
    return [...this.store.reservations.values()]
      .filter((r) => subnetId === undefined || r.subnetId === subnetId)
      .map(copy);
  }

  // ---- interfaces ---------------------------------------------------------

  /** CreateNetworkInterface: a detached interface with a primary address and any requested addresses. */
  createInterface(opts: CreateInterfaceOptions): SimInterface {
    return this.mutate(() => copy(ops.createInterface(this.store, opts)));
  }

  /**
   * AttachNetworkInterface at `deviceIndex` (default: the lowest free one of card 0) of card `o.networkCardIndex`
   * (default 0); `attaching` until `o.settlesAt`.
   */
  attachInterface(interfaceId: string, instanceId: string, deviceIndex?: number, o?: att.AttachOptions): SimAttachment {
    return this.mutate(() => {
      const index = deviceIndex ?? this.store.lowestFreeDeviceIndex(instanceId);
      att.attachInterface(this.store, interfaceId, instanceId, index, o);
      return copy(this.store.interfaces.get(interfaceId)!.attachment!);
    });
  }

  modifyAttachment(interfaceId: string, change: { deleteOnTermination: boolean }): void {
    this.mutate(() => att.modifyAttachment(this.store, interfaceId, change));
  }

  /** ModifyNetworkInterfaceAttribute `SecurityGroupId.N`: the interface's groups become these (caller-checked). */
  setSecurityGroups(interfaceId: string, groups: string[]): void {
    this.mutate(() => ops.setSecurityGroups(this.store, interfaceId, groups));
  }

  /** DetachNetworkInterface: at once, or `detaching` until `t.settlesAt`. */
  detachInterface(interfaceId: string, t?: att.Transition): void {
    this.mutate(() => att.detachInterface(this.store, interfaceId, t));
  }

  /** Completes the attaches and detaches due at `now` (emulator time); returns when the last took effect. */
  settle(now: number): number | undefined {
    const at = att.settleTransitions(this.store, now);
    if (at !== undefined) this.rev++;
    return at;
  }

  deleteInterface(interfaceId: string): void {
    this.mutate(() => ops.deleteInterface(this.store, interfaceId));
  }

  /** Adds secondary addresses; returns those added (dotted form, ascending). */
  assignPrivateIps(interfaceId: string, req: IpRequest): string[] {
    return this.mutate(() => ops.assignPrivateIps(this.store, interfaceId, req));
  }

  /** Delegates prefixes; returns those added (CIDR form, ascending). */
  assignPrefixes(interfaceId: string, req: PrefixRequest): string[] {
    return this.mutate(() => ops.assignPrefixes(this.store, interfaceId, req));
  }

  unassignPrivateIps(interfaceId: string, ips: string[]): void {
    this.mutate(() => ops.unassignPrivateIps(this.store, interfaceId, ips));
  }

  unassignPrefixes(interfaceId: string, prefixes: string[]): void {
    this.mutate(() => ops.unassignPrefixes(this.store, interfaceId, prefixes));
  }

  /** CreateTags on VPCs, subnets, instances or interfaces; all ids are checked before any is tagged. */
  createTags(resourceIds: string[], tags: Tags): void {
    const targets = resourceIds.map((id) => topo.taggable(this.store, id, 'CreateTags'));
    this.mutate(() => {
      for (const t of targets) Object.assign(t.tags, tags);
    });
  }

  deleteTags(resourceIds: string[], keys: string[]): void {
    const targets = resourceIds.map((id) => topo.taggable(this.store, id, 'DeleteTags'));
    this.mutate(() => {
      for (const t of targets) for (const k of keys) delete t.tags[k];
    });
  }

  // ---- reads --------------------------------------------------------------

  getInterface(interfaceId: string): SimInterface {
    return copy(this.store.nic(interfaceId, 'DescribeNetworkInterfaces'));
  }

  /** The interface holding an attachment id (EC2 detach/modify address attachments, not interfaces). */
  findInterfaceByAttachment(attachmentId: string): SimInterface | undefined {
    const nic = [...this.store.interfaces.values()].find((n) => n.attachment?.id === attachmentId);
    return nic ? copy(nic) : undefined;
  }

  getInstance(instanceId: string): SimInstanceView {
    return reads.instanceView(this.store, instanceId);
  }

  getSubnet(subnetId: string): Subnet {
    return reads.subnetView(this.store, this.store.subnet(subnetId, 'DescribeSubnets'));
  }

  getVpc(vpcId: string): SimVpc {
    return copy(this.store.vpc(vpcId, 'DescribeVpcs'));
  }

  /** DescribeNetworkInterfaces. Naming an unknown id is an error, as in EC2. Sorted by id. */
  describeInterfaces(filter: InterfaceFilter = {}): SimInterface[] {
    return reads.describeInterfaces(this.store, filter);
  }

  /** DescribeSubnets with live free-address counts. Naming an unknown id is an error. */
  describeSubnets(filter: SubnetFilter = {}): Subnet[] {
    return reads.describeSubnets(this.store, filter);
  }

  describeInstances(ids?: string[]): SimInstanceView[] {
    const list = ids ?? [...this.store.instances.keys()];
    return list.map((id) => this.getInstance(id));
  }

  describeVpcs(ids?: string[]): SimVpc[] {
    const list = ids ?? [...this.store.vpcs.keys()];
    return list.map((id) => this.getVpc(id));
  }

  lowestFreeDeviceIndex(instanceId: string): number {
    this.store.instance(instanceId, 'DescribeInstances');
    return this.store.lowestFreeDeviceIndex(instanceId);
  }

  /**
   * Everything that occupies the subnet, ascending: the cloud-reserved
   * addresses, interface primaries and secondaries (/32), prefixes, and
   * `blocked`/`explicit` reservations. `prefix` reservations are left out
   * because prefixes can still be delegated from them.
   */
  subnetAllocations(subnetId: string): SubnetAllocations {
    const { subnet, used } = topo.subnetAllocations(this.store, subnetId);
    return { subnet: reads.subnetView(this.store, subnet), used };
  }

  /**
   * Aligned, entirely free blocks of `prefixLength` the cloud could delegate now (EC2: /28), in a subnet or a secondary
   * range.
   */
  freePrefixBlocks(subnetId: string, prefixLength = ops.DEFAULT_PREFIX_LENGTH): number {
    const op = 'DescribeSubnets';
    const id = this.store.secondaryRanges.has(subnetId) ? subnetId : this.store.subnet(subnetId, op).id;
    return this.store.space(id, op).countFreeBlocks(prefixLength);
  }

  // ---- persistence ----------------------------------------------------------

  toJSON(): SimCloudState {
    return storeToState(this.store);
  }

  /** Rebuilds a cloud saved by {@link toJSON}; throws CheckpointError when the state is malformed or inconsistent. */
  static fromJSON(state: unknown, opts: Omit<SimCloudOptions, 'seed'> = {}): SimCloud {
    const s = checkSimCloudState(state);
    const cloud = new SimCloud({ ...opts, ...(s.subnetReserved ? { subnetReserved: s.subnetReserved } : {}) });
    restoreStore(cloud.store, s);
    return cloud;
  }
}
