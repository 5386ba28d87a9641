/**
 * @module sim interface operations
 * What the cloud does to interfaces: create, delete, change security groups,
 * and assign/unassign secondary addresses and prefixes (attach, modify and
 * detach are in `attachment-ops.ts`). Each function is one
 * cloud action and is atomic: it validates everything, then either applies
 * all of its changes or throws a typed error having changed nothing (taken
 * addresses are given back through {@link Claims}).
 *
 * Rules modelled (cloud-apis.md §1.5-1.6):
 * - per interface, `1 + secondary IPs + prefixes ≤ ipv4PerInterface` once
 *   attached (`PrivateIpAddressLimitExceeded`); checked again at attach;
 * - prefixes are aligned blocks that must be entirely free
 *   (`InsufficientCidrBlocks` when the subnet has addresses but no block);
 * - only detached interfaces can be deleted.
 */
import type { InstanceLimits } from '../types.js';
import { canonicalCidr, canonicalIp, compareCidrs, parseBlock } from './addr.js';
import type { SubnetSpace } from './address-space.js';
import type { SimInterface, SimInterfaceType, SimSubnet, Tags } from './model.js';
import type { SimStore } from './store.js';
import { addressCount } from '../net/cidr.js';

/** Ask for `count` addresses chosen by the cloud, or for these exact ones. */
export type IpRequest = { count: number } | { ips: string[] };
/** Ask for `count` prefixes chosen by the cloud, or for these exact CIDRs. */
export type PrefixRequest = { count: number } | { prefixes: string[] };

export interface CreateInterfaceOptions {
  subnetId: string;
  securityGroups?: string[];
  description?: string;
  tags?: Tags;
  /** Default `interface`. The sim gives every type addresses (EC2 gives an `efa-only` one none). */
  interfaceType?: SimInterfaceType;
  /** Defaults to a free address chosen by the cloud. */
  primaryIp?: string;
  secondaryIps?: IpRequest;
  prefixes?: PrefixRequest;
}

/** Prefix length used for interfaces not attached to an instance (EC2: always /28). */
export const DEFAULT_PREFIX_LENGTH = 28;

/** Address ranges taken during one action, so a failure can give them all back. */
export class Claims {
  private readonly taken: Array<{ sp: SubnetSpace; start: number; size: number }> = [];
  take(sp: SubnetSpace, start: number, size: number): void {
    sp.take(start, size);
    this.taken.push({ sp, start, size });
  }
  rollback(): void {
    for (const t of this.taken.reverse()) t.sp.release(t.start, t.size);
  }
}

export function atomically<T>(fn: (claims: Claims) => T): T {
  const claims = new Claims();
  try {
    return fn(claims);
  } catch (err) {
    claims.rollback();
    throw err;
  }
}

function checkCount(store: SimStore, count: number, op: string): void {
  if (!Number.isInteger(count) || count < 1)
    throw store.fail('invalidParameter', op, `count must be a positive integer, got ${count}`);
}

function sortAddrs(list: string[]): string[] {
  return list.sort(compareCidrs);
}

/** Limits of the instance an interface is attached to, if any. */
function attachedLimits(store: SimStore, nic: SimInterface, op: string): InstanceLimits | undefined {
  if (!nic.attachment) return undefined;
  return store.instanceLimits(store.instance(nic.attachment.instanceId, op), op);
}

export function checkAddressLimit(
  store: SimStore,
  nic: SimInterface,
  limits: InstanceLimits | undefined,
  adding: number,
  op: string,
): void {
  if (!limits) return;
  const total = 1 + nic.privateIps.length + nic.prefixes.length + adding;
  if (total > limits.ipv4PerInterface) {
    throw store.fail(
      'addressLimit',
      op,
      'Number of private addresses will exceed limit ' +
        `(${total} > ${limits.ipv4PerInterface} for ${limits.instanceType}).`,
    );
  }
}

/** Takes secondary IPs for `nic` (undefined while creating); returns those newly taken. */
function claimIps(
  store: SimStore,
  subnet: SimSubnet,
  nic: SimInterface | undefined,
  req: IpRequest,
  op: string,
  claims: Claims,
): string[] {
  const sp = store.space(subnet.id, op);
  if ('count' in req) {
    checkCount(store, req.count, op);
    const offsets = sp.chooseRandomIps(req.count, store.prng);
    if (!offsets) {
      throw store.fail(
        'subnetFull',
        op,
        'The specified subnet does not have enough free addresses to satisfy the request ' +
          `(${subnet.id}: asked ${req.count}).`,
      );
    }
    for (const o of offsets) claims.take(sp, o, 1);
    return offsets.map((o) => sp.ipAt(o));
  }
  const own = new Set(nic ? [nic.primaryIp, ...nic.privateIps] : []);
  const out: string[] = [];
  for (const raw of new Set(req.ips)) {
    const ip = canonicalIp(raw);
    if (!ip) throw store.fail('invalidParameter', op, `Invalid IPv4 address: ${raw}`);
    if (own.has(ip)) continue;
    const r = sp.rangeOf(parseBlock(ip)!);
    if (!r)
      throw store.fail(
        'invalidParameter',
        op,
        `Address ${ip} does not fall within the subnet's address range (${subnet.cidr})`,
      );
    if (sp.isCloudReserved(r.start)) throw store.fail('invalidParameter', op, `Address ${ip} is reserved by the cloud`);
    if (!sp.isFree(r.start, 1)) throw store.fail('addressInUse', op, `Address ${ip} is in use`);
    claims.take(sp, r.start, 1);
    out.push(ip);
  }
  return sortAddrs(out);
}

/** Takes prefixes of `prefixLength` for `nic` (undefined while creating); returns those newly taken. */
function claimPrefixes(
  store: SimStore,
  subnet: SimSubnet,
  nic: SimInterface | undefined,
  req: PrefixRequest,
  prefixLength: number,
  op: string,
  claims: Claims,
): string[] {
  const sp = store.space(subnet.id, op);
  const size = addressCount(4, prefixLength);
  if ('count' in req) {
    checkCount(store, req.count, op);
    const offsets = sp.chooseRandomBlocks(req.count, prefixLength, store.prng);
    if (!offsets) {
      // Too few addresses at all is "subnet full"; enough addresses but no aligned block is fragmentation.
      if (sp.freeCount() < req.count * size) {
        throw store.fail(
          'subnetFull',
          op,
          'The specified subnet does not have enough free addresses to satisfy the request ' +
            `(${subnet.id}: asked ${req.count} /${prefixLength}).`,
        );
      }
      throw store.fail(
        'noPrefixBlock',
        op,
        'The specified subnet does not have enough free cidr blocks to satisfy the request ' +
          `(${subnet.id}: asked ${req.count} /${prefixLength}, ${sp.countFreeBlocks(prefixLength)} free).`,
      );
    }
    for (const o of offsets) claims.take(sp, o, size);
    return offsets.map((o) => sp.cidrAt(o, prefixLength));
  }
  const own = new Set(nic?.prefixes ?? []);
  const out: string[] = [];
  for (const raw of new Set(req.prefixes)) {
    const cidr = canonicalCidr(raw);
    const b = cidr ? parseBlock(cidr) : undefined;
    if (!cidr || !b) throw store.fail('invalidParameter', op, `Invalid prefix (must be an aligned IPv4 CIDR): ${raw}`);
    if (b.prefixLength !== prefixLength)
      throw store.fail('invalidParameter', op, `Prefix ${cidr} must be a /${prefixLength}`);
    if (own.has(cidr)) continue;
    const r = sp.rangeOf(b);
    if (!r)
      throw store.fail(
        'invalidParameter',
        op,
        `Prefix ${cidr} does not fall within the subnet's address range (${subnet.cidr})`,
      );
    for (let i = r.start; i < r.start + r.size; i++) {
      if (sp.isCloudReserved(i))
        throw store.fail('invalidParameter', op, `Prefix ${cidr} contains an address reserved by the cloud`);
    }
    if (!sp.isFree(r.start, r.size)) throw store.fail('addressInUse', op, `Prefix ${cidr} overlaps addresses in use`);
    claims.take(sp, r.start, r.size);
    out.push(cidr);
  }
  return sortAddrs(out);
}

/** CreateNetworkInterface: a detached (`available`) interface with its primary and any requested addresses. */
export function createInterface(store: SimStore, opts: CreateInterfaceOptions): SimInterface {
  const op = 'CreateNetworkInterface';
  const subnet = store.subnet(opts.subnetId, op);
  const sp = store.space(subnet.id, op);
  return atomically((claims) => {
    let primaryIp: string;
    if (opts.primaryIp !== undefined) {
      [primaryIp] = claimIps(store, subnet, undefined, { ips: [opts.primaryIp] }, op, claims) as [string];
    } else {
      const offsets = sp.chooseRandomIps(1, store.prng);
      if (!offsets)
        throw store.fail(
          'subnetFull',
          op,
          `The specified subnet does not have enough free addresses to satisfy the request (${subnet.id}).`,
        );
      claims.take(sp, offsets[0]!, 1);
      primaryIp = sp.ipAt(offsets[0]!);
    }
    const privateIps = opts.secondaryIps ? claimIps(store, subnet, undefined, opts.secondaryIps, op, claims) : [];
    const prefixes = opts.prefixes
      ? claimPrefixes(store, subnet, undefined, opts.prefixes, DEFAULT_PREFIX_LENGTH, op, claims)
      : [];
    const nic: SimInterface = {
      id: store.newId('eni'),
      mac: store.newMac(),
      vpcId: subnet.vpcId,
      subnetId: subnet.id,
      zone: subnet.zone,
      primaryIp,
      securityGroups: [...(opts.securityGroups ?? [])],
      description: opts.description ?? '',
      tags: { ...(opts.tags ?? {}) },
      ...(opts.interfaceType && opts.interfaceType !== 'interface' ? { interfaceType: opts.interfaceType } : {}),
      createdAt: store.now(),
      status: 'available',
      privateIps,
      prefixes,
    };
    store.interfaces.set(nic.id, nic);
    return nic;
  });
}

/** ModifyNetworkInterfaceAttribute `SecurityGroupId.N`: the interface's groups become exactly these. */
export function setSecurityGroups(store: SimStore, nicId: string, groups: string[]): void {
  store.nic(nicId, 'ModifyNetworkInterfaceAttribute').securityGroups = [...new Set(groups)];
}

/** DeleteNetworkInterface: only a detached interface; gives all its addresses back to the subnet. */
export function deleteInterface(store: SimStore, nicId: string): void {
  const op = 'DeleteNetworkInterface';
  const nic = store.nic(nicId, op);
  if (nic.attachment) throw store.fail('deleteInUse', op, `Network interface '${nic.id}' is currently in use.`);
  releaseAll(store, nic, op);
  store.interfaces.delete(nic.id);
}

/** Returns every address of an interface to its subnet (and prefixes to their secondary ranges). */
export function releaseAll(store: SimStore, nic: SimInterface, op: string): void {
  const sp = store.space(nic.subnetId, op);
  for (const c of [nic.primaryIp, ...nic.privateIps]) {
    const r = sp.rangeOf(parseBlock(c)!);
    if (r) sp.release(r.start, r.size);
  }
  for (const p of nic.prefixes) {
    const at = store.prefixSpace(nic, p);
    if (at) at.space.release(at.start, at.size);
  }
}

/** AssignPrivateIpAddresses (secondary IPs); returns the addresses added. */
export function assignPrivateIps(store: SimStore, nicId: string, req: IpRequest): string[] {
  const op = 'AssignPrivateIpAddresses';
  const nic = store.nic(nicId, op);
  const limits = attachedLimits(store, nic, op);
  if (limits && !limits.supportsIps)
    throw store.fail(
      'invalidParameter',
      op,
      `Instance type ${limits.instanceType} does not support secondary addresses`,
    );
  const own = new Set([nic.primaryIp, ...nic.privateIps]);
  const adding =
    'count' in req ? req.count : new Set(req.ips.map((ip) => canonicalIp(ip) ?? ip).filter((ip) => !own.has(ip))).size;
  checkAddressLimit(store, nic, limits, adding, op);
  const added = atomically((claims) => claimIps(store, store.subnet(nic.subnetId, op), nic, req, op, claims));
  nic.privateIps = sortAddrs([...nic.privateIps, ...added]);
  return added;
}

/** AssignPrivateIpAddresses with prefixes; returns the prefixes added. */
export function assignPrefixes(store: SimStore, nicId: string, req: PrefixRequest): string[] {
  const op = 'AssignPrivateIpAddresses';
  const nic = store.nic(nicId, op);
  const limits = attachedLimits(store, nic, op);
  if (limits && !limits.supportsPrefixes)
    throw store.fail('invalidParameter', op, `Instance type ${limits.instanceType} does not support prefix delegation`);
  const own = new Set(nic.prefixes);
  const adding =
    'count' in req
      ? req.count
      : new Set(req.prefixes.map((p) => canonicalCidr(p) ?? p).filter((p) => !own.has(p))).size;
  checkAddressLimit(store, nic, limits, adding, op);
  const prefixLength = limits?.prefixLength ?? DEFAULT_PREFIX_LENGTH;
  const added = atomically((claims) =>
    claimPrefixes(store, store.subnet(nic.subnetId, op), nic, req, prefixLength, op, claims),
  );
  nic.prefixes = sortAddrs([...nic.prefixes, ...added]);
  return added;
}

/** UnassignPrivateIpAddresses (secondary IPs). Every address must be a secondary of this interface. */
export function unassignPrivateIps(store: SimStore, nicId: string, ips: string[]): void {
  const op = 'UnassignPrivateIpAddresses';
  const nic = store.nic(nicId, op);
  const drop = new Set<string>();
  for (const raw of ips) {
    const ip = canonicalIp(raw);
    if (!ip) throw store.fail('invalidParameter', op, `Invalid IPv4 address: ${raw}`);
    if (ip === nic.primaryIp)
      throw store.fail('invalidParameter', op, `The primary address ${ip} of ${nic.id} cannot be unassigned`);
    if (!nic.privateIps.includes(ip))
      throw store.fail(
        'invalidParameter',
        op,
        `Some of the specified addresses are not assigned to interface ${nic.id}: ${ip}`,
      );
    drop.add(ip);
  }
  const sp = store.space(nic.subnetId, op);
  for (const ip of drop) sp.release(sp.rangeOf(parseBlock(ip)!)!.start, 1);
  nic.privateIps = nic.privateIps.filter((ip) => !drop.has(ip));
}

/** UnassignPrivateIpAddresses with prefixes. Every prefix must be delegated to this interface. */
export function unassignPrefixes(store: SimStore, nicId: string, prefixes: string[]): void {
  const op = 'UnassignPrivateIpAddresses';
  const nic = store.nic(nicId, op);
  const drop = new Set<string>();
  for (const raw of prefixes) {
    const cidr = canonicalCidr(raw);
    if (!cidr) throw store.fail('invalidParameter', op, `Invalid prefix: ${raw}`);
    if (!nic.prefixes.includes(cidr))
      throw store.fail(
        'invalidParameter',
        op,
        `Some of the specified prefixes are not assigned to interface ${nic.id}: ${cidr}`,
      );
    drop.add(cidr);
  }
  for (const cidr of drop) {
    const at = store.prefixSpace(nic, cidr);
    if (at) at.space.release(at.start, at.size);
  }
  nic.prefixes = nic.prefixes.filter((p) => !drop.has(p));
}
