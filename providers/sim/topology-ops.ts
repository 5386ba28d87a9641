/**
 * @module sim topology operations
 * The parts of the cloud a node finds already in place: VPCs, subnets,
 * subnet CIDR reservations and instances. Tests and the demo build them
 * directly; the daemon only reads them. Like `interface-ops.ts`, each
 * function validates first and then changes the store, or throws a typed
 * error having changed nothing.
 */
import { blockContains, blocksOverlap, canonicalCidr, compareCidrs, parseBlock } from './addr.js';
import type { ReservationType } from './address-space.js';
import { createInterface, releaseAll, type CreateInterfaceOptions } from './interface-ops.js';
import type { SimInstance, SimReservation, SimSubnet, SimVpc, Tags } from './model.js';
import type { SimStore } from './store.js';

/** EC2 allows subnet and VPC blocks from /16 to /28. */
const MIN_PREFIX = 16;
const MAX_PREFIX = 28;

export interface CreateInstanceOptions {
  instanceType: string;
  subnetId: string;
  /** Default: the VPC's default security group. */
  securityGroups?: string[];
  tags?: Tags;
  /** Tags of the primary interface (RunInstances' TagSpecification for `network-interface`). */
  primaryInterfaceTags?: Tags;
  primaryIp?: string;
}

export interface ReserveOptions {
  /** Default `blocked`. */
  type?: ReservationType;
  description?: string;
}

function checkNetwork(store: SimStore, cidr: string, op: string): string {
  const b = parseBlock(cidr);
  if (!b || b.prefixLength < MIN_PREFIX || b.prefixLength > MAX_PREFIX) {
    throw store.fail(
      'invalidParameter',
      op,
      `The CIDR '${cidr}' is invalid (want an IPv4 network from /${MIN_PREFIX} to /${MAX_PREFIX})`,
    );
  }
  return canonicalCidr(cidr)!;
}

export function createVpc(store: SimStore, opts: { cidr: string; tags?: Tags }): SimVpc {
  const cidr = checkNetwork(store, opts.cidr, 'CreateVpc');
  const id = store.newId('vpc');
  const vpc: SimVpc = { id, cidrs: [cidr], defaultSecurityGroup: store.newId('sg'), tags: { ...(opts.tags ?? {}) } };
  store.vpcs.set(vpc.id, vpc);
  return vpc;
}

/** A subnet must lie inside one of its VPC's CIDRs and overlap no other subnet of that VPC. */
export function createSubnet(
  store: SimStore,
  opts: { vpcId: string; cidr: string; zone: string; tags?: Tags },
): SimSubnet {
  const op = 'CreateSubnet';
  const vpc = store.vpc(opts.vpcId, op);
  const cidr = checkNetwork(store, opts.cidr, op);
  const b = parseBlock(cidr)!;
  if (!vpc.cidrs.some((c) => blockContains(parseBlock(c)!, b))) {
    throw store.fail(
      'invalidParameter',
      op,
      `The CIDR '${cidr}' is invalid for VPC ${vpc.id} (${vpc.cidrs.join(', ')})`,
    );
  }
  for (const s of store.subnets.values()) {
    if (s.vpcId === vpc.id && blocksOverlap(parseBlock(s.cidr)!, b)) {
      throw store.fail('invalidParameter', op, `The CIDR '${cidr}' conflicts with another subnet (${s.id} ${s.cidr})`);
    }
  }
  const subnet: SimSubnet = {
    id: store.newId('subnet'),
    vpcId: vpc.id,
    cidr,
    zone: opts.zone,
    tags: { ...(opts.tags ?? {}) },
  };
  store.subnets.set(subnet.id, subnet);
  store.rebuildSpaces();
  return subnet;
}

/** Launches an instance with its primary interface at device index 0, deleted with the instance. */
export function createInstance(store: SimStore, opts: CreateInstanceOptions): SimInstance {
  const op = 'RunInstances';
  const subnet = store.subnet(opts.subnetId, op);
  const vpc = store.vpc(subnet.vpcId, op);
  if (!store.limitsOf(opts.instanceType))
    throw store.fail('invalidInstanceType', op, `The instance type '${opts.instanceType}' is not known`);
  const securityGroups = opts.securityGroups ?? [vpc.defaultSecurityGroup];
  const createOpts: CreateInterfaceOptions = {
    subnetId: subnet.id,
    securityGroups,
    description: 'Primary network interface',
  };
  if (opts.primaryInterfaceTags) createOpts.tags = { ...opts.primaryInterfaceTags };
  if (opts.primaryIp !== undefined) createOpts.primaryIp = opts.primaryIp;
  const nic = createInterface(store, createOpts);
  const inst: SimInstance = {
    id: store.newId('i'),
    instanceType: opts.instanceType,
    zone: subnet.zone,
    vpcId: subnet.vpcId,
    subnetId: subnet.id,
    primaryInterfaceId: nic.id,
    securityGroups: [...securityGroups],
    tags: { ...(opts.tags ?? {}) },
    launchedAt: store.now(),
  };
  store.instances.set(inst.id, inst);
  nic.attachment = {
    id: store.newId('eni-attach'),
    instanceId: inst.id,
    deviceIndex: 0,
    deleteOnTermination: true,
    attachedAt: store.now(),
  };
  nic.status = 'in-use';
  return inst;
}

/**
 * Interfaces with deleteOnTermination are deleted, the others detached and
 * left `available`: how EC2 leaks interfaces when a node dies between the
 * attach and the ModifyNetworkInterfaceAttribute.
 */
export function terminateInstance(store: SimStore, instanceId: string): void {
  const op = 'TerminateInstances';
  store.instance(instanceId, op);
  for (const nic of store.attachedTo(instanceId)) {
    const del = nic.attachment!.deleteOnTermination;
    delete nic.attachment;
    nic.status = 'available';
    if (del) {
      releaseAll(store, nic, op);
      store.interfaces.delete(nic.id);
    }
  }
  store.instances.delete(instanceId);
}

/**
 * Reserves a CIDR of a subnet. A `blocked` range must be entirely free
 * (it becomes used); `explicit` and `prefix` ranges may cover addresses in
 * use and only steer automatic choice.
 */
export function reserveCidr(
  store: SimStore,
  subnetId: string,
  cidr: string,
  opts: ReserveOptions = {},
): SimReservation {
  const op = 'CreateSubnetCidrReservation';
  const subnet = store.subnet(subnetId, op);
  const canon = canonicalCidr(cidr);
  const b = canon ? parseBlock(canon) : undefined;
  const sp = store.space(subnet.id, op);
  const range = b ? sp.rangeOf(b) : undefined;
  if (!canon || !range)
    throw store.fail(
      'invalidParameter',
      op,
      `The CIDR '${cidr}' is not an aligned block of subnet ${subnet.id} (${subnet.cidr})`,
    );
  const type = opts.type ?? 'blocked';
  if (type === 'blocked' && !sp.isFree(range.start, range.size)) {
    throw store.fail('addressInUse', op, `The CIDR '${canon}' overlaps addresses in use or reserved by the cloud`);
  }
  const r: SimReservation = {
    id: store.newId('scr'),
    subnetId: subnet.id,
    cidr: canon,
    type,
    description: opts.description ?? '',
  };
  store.reservations.set(r.id, r);
  if (type === 'blocked') sp.take(range.start, range.size);
  else sp.mark(range.start, range.size, type);
  return r;
}

export function releaseReservation(store: SimStore, reservationId: string): void {
  if (!store.reservations.has(reservationId)) {
    throw store.fail(
      'reservationNotFound',
      'DeleteSubnetCidrReservation',
      `The subnet CIDR reservation '${reservationId}' does not exist`,
    );
  }
  store.reservations.delete(reservationId);
  // Rebuilding (rather than unmarking) keeps overlapping reservations right.
  store.rebuildSpaces();
}

/** `count` random free addresses become `blocked` /32 reservations: other tenants scattering a subnet. */
export function occupyRandom(store: SimStore, subnetId: string, count: number, description: string): SimReservation[] {
  const op = 'CreateSubnetCidrReservation';
  const sp = store.space(store.subnet(subnetId, op).id, op);
  if (!Number.isInteger(count) || count < 0)
    throw store.fail('invalidParameter', op, `count must be a non-negative integer, got ${count}`);
  const offsets = sp.chooseRandomIps(count, store.prng);
  if (!offsets) throw store.fail('subnetFull', op, `Subnet ${subnetId} has fewer than ${count} free addresses`);
  return offsets.map((o) => reserveCidr(store, subnetId, `${sp.ipAt(o)}/32`, { type: 'blocked', description }));
}

/**
 * Everything that occupies the subnet, ascending: the cloud-reserved
 * addresses, interface primaries and secondaries (/32), prefixes, and
 * `blocked`/`explicit` reservations. `prefix` reservations are left out
 * because prefixes can still be delegated from them.
 */
export function subnetAllocations(store: SimStore, subnetId: string): { subnet: SimSubnet; used: string[] } {
  const op = 'DescribeSubnets';
  const subnet = store.subnet(subnetId, op);
  const used = store.space(subnet.id, op).cloudReservedCidrs();
  for (const n of store.interfaces.values()) {
    if (n.subnetId !== subnet.id) continue;
    // Prefixes from a secondary range (GCE alias ranges) are not in this subnet's space.
    const own = n.prefixes.filter((p) => store.prefixSpace(n, p)?.rangeId === undefined);
    used.push(`${n.primaryIp}/32`, ...n.privateIps.map((ip) => `${ip}/32`), ...own);
  }
  for (const r of store.reservations.values()) if (r.subnetId === subnet.id && r.type !== 'prefix') used.push(r.cidr);
  return { subnet, used: used.sort(compareCidrs) };
}

/** The record CreateTags/DeleteTags change, by the id's prefix (VPC, subnet, instance or interface). */
export function taggable(store: SimStore, id: string, op: string): { tags: Tags } {
  if (id.startsWith('eni-')) return store.nic(id, op);
  if (id.startsWith('subnet-')) return store.subnet(id, op);
  if (id.startsWith('vpc-')) return store.vpc(id, op);
  if (id.startsWith('i-')) return store.instance(id, op);
  throw store.fail('invalidParameter', op, `Invalid id: '${id}'`);
}
