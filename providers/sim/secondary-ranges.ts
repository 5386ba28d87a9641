/**
 * @module sim secondary ranges
 * GCE's half of the model: named secondary ranges of a subnet (`pods`,
 * `services`) and an interface's alias IP ranges, which are prefixes taken
 * either from its subnet's primary range or from one of those secondary
 * ranges (cloud-apis.md §5.4, azure-gke-cilium.md §B.1).
 *
 * {@link replaceAliasRanges} is GCE `updateNetworkInterface` on the model:
 * the desired list replaces the current one. Entries that name a current
 * CIDR keep it, new CIDRs are claimed, bare lengths (`/28`) get a free
 * aligned block chosen by the cloud, and current CIDRs not named are given
 * back. Like every sim action it validates everything first and either
 * applies all of it or throws having changed nothing.
 */
import { blocksOverlap, canonicalCidr, compareCidrs, parseBlock } from './addr.js';
import { atomically } from './interface-ops.js';
import type { SimSecondaryRange } from './model.js';
import type { SimStore } from './store.js';
import { addressCount } from '../net/cidr.js';

/** One entry of the desired alias list: an exact CIDR, or a length for the cloud to place. */
export interface AliasRangeSpec {
  /** An aligned CIDR; a bare address means its /32. */
  cidr?: string;
  /** Instead of `cidr`: the cloud picks a free aligned block of this length (GCE `"/28"`). */
  prefixLength?: number;
  /** A secondary range of the interface's subnet; absent means the subnet's primary range. */
  rangeName?: string;
}

export interface AliasRangeChange {
  /** The interface's prefixes after the change, ascending. */
  prefixes: string[];
  added: string[];
  removed: string[];
}

/** GCE range names follow RFC 1035: lower-case letter first, then letters, digits or dashes, 63 at most. */
const RANGE_NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
/**
 * Secondary range sizes accepted. GCE allows up to a /4; the sim keeps one
 * byte per address, so it stops at /12 (1 Mi addresses, 2 MiB of state).
 */
export const SECONDARY_RANGE_PREFIX = { min: 12, max: 29 } as const;

/** Adds a secondary range to a subnet. It may not overlap any subnet or secondary range of the VPC. */
export function createSecondaryRange(
  store: SimStore,
  opts: { subnetId: string; name: string; cidr: string },
): SimSecondaryRange {
  const op = 'AddSecondaryRange';
  const subnet = store.subnet(opts.subnetId, op);
  if (typeof opts.name !== 'string' || !RANGE_NAME.test(opts.name)) {
    throw store.fail(
      'invalidParameter',
      op,
      `Invalid secondary range name '${String(opts.name)}' ` +
        '(RFC 1035: lower-case letter, then letters, digits or dashes, at most 63)',
    );
  }
  if (store.rangesOf(subnet.id).some((r) => r.name === opts.name)) {
    throw store.fail('invalidParameter', op, `Subnet ${subnet.id} already has a secondary range named '${opts.name}'`);
  }
  const cidr = canonicalCidr(opts.cidr);
  const b = cidr ? parseBlock(cidr) : undefined;
  if (!cidr || !b || b.prefixLength < SECONDARY_RANGE_PREFIX.min || b.prefixLength > SECONDARY_RANGE_PREFIX.max) {
    throw store.fail(
      'invalidParameter',
      op,
      `The CIDR '${opts.cidr}' is invalid ` +
        `(want an IPv4 network from /${SECONDARY_RANGE_PREFIX.min} to /${SECONDARY_RANGE_PREFIX.max})`,
    );
  }
  for (const s of store.subnets.values()) {
    if (s.vpcId === subnet.vpcId && blocksOverlap(parseBlock(s.cidr)!, b)) {
      throw store.fail('invalidParameter', op, `The CIDR '${cidr}' conflicts with subnet ${s.id} (${s.cidr})`);
    }
  }
  for (const r of store.secondaryRanges.values()) {
    if (store.subnets.get(r.subnetId)?.vpcId === subnet.vpcId && blocksOverlap(parseBlock(r.cidr)!, b)) {
      throw store.fail(
        'invalidParameter',
        op,
        `The CIDR '${cidr}' conflicts with secondary range '${r.name}' of ${r.subnetId} (${r.cidr})`,
      );
    }
  }
  const range: SimSecondaryRange = { id: store.newId('range'), subnetId: subnet.id, name: opts.name, cidr };
  store.secondaryRanges.set(range.id, range);
  store.rebuildSpaces();
  return range;
}

interface Resolved {
  /** Space id: the subnet id for the primary range, else the secondary range id. */
  spaceId: string;
  label: string;
  cidr?: string;
  prefixLength?: number;
}

/** See the module comment. Returns what changed. */
export function replaceAliasRanges(store: SimStore, nicId: string, desired: AliasRangeSpec[]): AliasRangeChange {
  const op = 'UpdateNetworkInterface';
  const nic = store.nic(nicId, op);
  const subnet = store.subnet(nic.subnetId, op);
  const limits = nic.attachment ? store.instanceLimits(store.instance(nic.attachment.instanceId, op), op) : undefined;
  if (limits && !limits.supportsPrefixes && desired.length > 0) {
    throw store.fail('invalidParameter', op, `Instance type ${limits.instanceType} does not support alias IP ranges`);
  }

  const resolved: Resolved[] = desired.map((spec, i) => {
    const where = `aliasIpRanges[${i}]`;
    let spaceId = subnet.id;
    let label = `the primary range of ${subnet.id} (${subnet.cidr})`;
    if (spec.rangeName !== undefined) {
      const range = store.rangesOf(subnet.id).find((r) => r.name === spec.rangeName);
      if (!range)
        throw store.fail(
          'invalidParameter',
          op,
          `${where}: subnet ${subnet.id} has no secondary range named '${spec.rangeName}'`,
        );
      spaceId = range.id;
      label = `secondary range '${range.name}' (${range.cidr})`;
    }
    const sp = store.space(spaceId, op);
    if ((spec.cidr === undefined) === (spec.prefixLength === undefined)) {
      throw store.fail('invalidParameter', op, `${where}: give exactly one of an address range and a prefix length`);
    }
    if (spec.cidr !== undefined) {
      const cidr = canonicalCidr(spec.cidr);
      if (!cidr)
        throw store.fail('invalidParameter', op, `${where}: '${spec.cidr}' is not an aligned IPv4 CIDR or address`);
      if (!sp.rangeOf(parseBlock(cidr)!))
        throw store.fail('invalidParameter', op, `${where}: ${cidr} is not within ${label}`);
      return { spaceId, label, cidr };
    }
    const len = spec.prefixLength!;
    if (!Number.isInteger(len) || len < sp.block.prefixLength || len > 32) {
      throw store.fail('invalidParameter', op, `${where}: a /${len} cannot be carved from ${label}`);
    }
    return { spaceId, label, prefixLength: len };
  });

  const explicit = resolved.filter((r) => r.cidr !== undefined).map((r) => r.cidr!);
  const dup = explicit.find((c, i) => explicit.indexOf(c) !== i);
  if (dup) throw store.fail('invalidParameter', op, `${dup} is listed twice`);
  const current = new Set(nic.prefixes);
  for (const r of resolved) {
    // A kept range must be named with the range it really comes from.
    if (r.cidr && current.has(r.cidr) && (store.prefixSpace(nic, r.cidr)?.rangeId ?? subnet.id) !== r.spaceId) {
      throw store.fail('invalidParameter', op, `${r.cidr} is assigned from another range than ${r.label}`);
    }
  }
  if (limits && 1 + nic.privateIps.length + resolved.length > limits.ipv4PerInterface) {
    throw store.fail(
      'addressLimit',
      op,
      `Too many alias IP ranges: ${resolved.length} > ` +
        `${limits.ipv4PerInterface - 1 - nic.privateIps.length} for ${limits.instanceType}`,
    );
  }

  const added = atomically((claims) => {
    const out: string[] = [];
    for (const r of resolved) {
      if (!r.cidr || current.has(r.cidr)) continue;
      const sp = store.space(r.spaceId, op);
      const at = sp.rangeOf(parseBlock(r.cidr)!)!;
      for (let i = at.start; i < at.start + at.size; i++) {
        if (sp.isCloudReserved(i))
          throw store.fail('invalidParameter', op, `${r.cidr} contains an address reserved by the cloud`);
      }
      if (!sp.isFree(at.start, at.size))
        throw store.fail('addressInUse', op, `${r.cidr} overlaps addresses in use in ${r.label}`);
      claims.take(sp, at.start, at.size);
      out.push(r.cidr);
    }
    // Blocks the cloud places, one choice per (range, length) so a request for n blocks is all or nothing.
    const groups = new Map<string, { r: Resolved; count: number }>();
    for (const r of resolved) {
      if (r.prefixLength === undefined) continue;
      const key = `${r.spaceId}/${r.prefixLength}`;
      const g = groups.get(key) ?? { r, count: 0 };
      g.count++;
      groups.set(key, g);
    }
    for (const { r, count } of groups.values()) {
      const sp = store.space(r.spaceId, op);
      const len = r.prefixLength!;
      const size = addressCount(4, len);
      const offsets = sp.chooseRandomBlocks(count, len, store.prng);
      if (!offsets) {
        const what =
          `${r.label}: asked ${count} /${len}, ${sp.freeCount()} addresses and ` +
          `${sp.countFreeBlocks(len)} aligned /${len} blocks free`;
        throw store.fail(sp.freeCount() < count * size ? 'subnetFull' : 'noPrefixBlock', op, `IP space of ${what}`);
      }
      for (const o of offsets) {
        claims.take(sp, o, size);
        out.push(sp.cidrAt(o, len));
      }
    }
    return out;
  });

  const keep = new Set(explicit);
  const removed = nic.prefixes.filter((p) => !keep.has(p));
  for (const p of removed) {
    const at = store.prefixSpace(nic, p);
    if (at) at.space.release(at.start, at.size);
  }
  nic.prefixes = [...nic.prefixes.filter((p) => keep.has(p)), ...added].sort(compareCidrs);
  return { prefixes: [...nic.prefixes], added: added.sort(compareCidrs), removed };
}

/** The secondary range (of any subnet) holding an address or CIDR. */
export function findRange(store: SimStore, cidrOrIp: string): SimSecondaryRange | undefined {
  const b = parseBlock(cidrOrIp, false);
  if (!b) return undefined;
  for (const r of store.secondaryRanges.values()) if (store.spaces.get(r.id)?.rangeOf(b)) return r;
  return undefined;
}

/** Every interface prefix inside a secondary range, ascending, and the range's free address count. */
export function rangeAllocations(
  store: SimStore,
  rangeId: string,
): { range: SimSecondaryRange; used: string[]; free: number } {
  const op = 'DescribeSubnets';
  const range = store.secondaryRanges.get(rangeId);
  if (!range) throw store.fail('subnetNotFound', op, `The secondary range '${rangeId}' does not exist`);
  const used: string[] = [];
  for (const n of store.interfaces.values()) {
    if (n.subnetId !== range.subnetId) continue;
    for (const p of n.prefixes) if (store.prefixSpace(n, p)?.rangeId === range.id) used.push(p);
  }
  return { range, used: used.sort(compareCidrs), free: store.space(range.id, op).freeCount() };
}
