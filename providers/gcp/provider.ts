/**
 * @module gcp provider
 * {@link GcpProvider}: the {@link CloudProvider} of one GCE node whose Pod
 * addresses are alias IP ranges on nic0, carved from the subnetwork's Pods
 * secondary range in blocks of `blockPrefixLength` (default /28), the way
 * GKE's dynamic Pod IP controller adds `/28`s (azure-gke-cilium.md §B.3).
 *
 * Every change to nic0 is a read-modify-write: `instances.get` for the
 * current list and the NIC fingerprint, `instances.updateNetworkInterface`
 * with the whole new list and that fingerprint, then the zone operation
 * followed to DONE, then `instances.get` again to learn what GCE placed.
 * Another writer in between makes the PATCH fail with 412; the write is
 * then rebuilt from a fresh read and retried (`fingerprintRetries` times,
 * with jittered backoff), so no range someone else added is ever dropped
 * and none of ours is added twice. Changes from this process are
 * serialised: GCE refuses a second update while one runs.
 *
 * A failed operation changes nothing (GCE applies an update whole or not at
 * all); its error is typed like any other. `IP_SPACE_EXHAUSTED` becomes
 * SubnetFullError, or NoPrefixBlockError when the Pods range still has the
 * addresses but no aligned free block (checked with one extra listing).
 */
import { randomUUID } from 'node:crypto';
import {
  CloudError,
  CloudNotFoundError,
  ConflictError,
  InvalidCloudRequestError,
  IpLimitError,
  NicLimitError,
  NoPrefixBlockError,
  SubnetFullError,
} from '../errors.js';
import type {
  AddressBlock,
  AssignRequest,
  CloudProvider,
  InstanceLimits,
  NetworkInterface,
  NodeInventory,
  Subnet,
  SubnetAllocations,
  SubnetFilter,
} from '../types.js';
import type { ComputeApi, ComputeTarget } from './compute.js';
import { operationError } from './errors.js';
import {
  isPoolRange,
  parseSubnetworkUrl,
  prefixLengthOf,
  primaryReserved,
  rangeOf,
  rangeUsage,
  subnetsOf,
  toInventory,
  type PoolRangePolicy,
} from './ranges.js';
import type { AliasRange, GcpClock, GceInstance, GceSubnetwork, Logger } from './types.js';
import { addressCount } from '../net/cidr.js';

export interface GcpProviderOptions extends PoolRangePolicy {
  compute: ComputeApi;
  /** Project, zone and instance name of this node (from the metadata server). */
  target: ComputeTarget;
  /** nic0's MAC (the API does not report it; the metadata server does). */
  mac: string;
  clock: GcpClock;
  /** Alias ranges GCE allows on one NIC (150, docs.cloud.google.com/vpc/docs/quota). */
  maxAliasRanges: number;
  /** Read-modify-write attempts on a fingerprint conflict before giving up with ConflictError. */
  fingerprintRetries: number;
  random?: () => number;
  log?: Logger;
}

const NIC = 'nic0';
/** Subnetwork ranges rarely change; re-read them at most this often. */
const SUBNET_TTL_MS = 5 * 60_000;

export class GcpProvider implements CloudProvider {
  readonly name = 'gcp' as const;
  private subnet: { at: number; value: GceSubnetwork } | undefined;
  /** nic0 ranges that are not the pool's; they use up slots of the per-NIC limit. */
  private foreign = 0;
  private warnedForeign = '';
  private tail: Promise<unknown> = Promise.resolve();
  private readonly random: () => number;

  constructor(private readonly o: GcpProviderOptions) {
    this.random = o.random ?? Math.random;
  }

  async describeNode(): Promise<NodeInventory> {
    const inst = await this.o.compute.getInstance(this.o.target);
    const subnet = await this.subnetwork(inst);
    this.noteForeign(inst.nic0.aliasIpRanges);
    return toInventory(inst, subnet, this.o.mac, this.o);
  }

  async getLimits(machineType: string): Promise<InstanceLimits> {
    return {
      instanceType: machineType,
      maxInterfaces: 1,
      ipv4PerInterface: 1 + Math.max(0, this.o.maxAliasRanges - this.foreign),
      supportsIps: false,
      supportsPrefixes: true,
      prefixLength: this.o.blockPrefixLength,
      canCreateInterfaces: false,
    };
  }

  async listSubnets(filter: SubnetFilter = {}): Promise<Subnet[]> {
    const inst = await this.o.compute.getInstance(this.o.target);
    const subnet = await this.subnetwork(inst, true);
    const usage = await this.usage(subnet);
    const free = new Map([...usage].map(([id, u]) => [id, u.free]));
    return subnetsOf(subnet, inst.zone, parseNetworkName(inst), free).filter((s) => matches(filter, s));
  }

  /** Everything allocated in the primary range (`<subnetwork>`) or a secondary range (`<subnetwork>/<range>`). */
  async describeSubnetAllocations(subnetId: string): Promise<SubnetAllocations> {
    const inst = await this.o.compute.getInstance(this.o.target);
    const subnet = await this.subnetwork(inst, true);
    const usage = await this.usage(subnet);
    const u = usage.get(subnetId);
    if (!u)
      throw new CloudNotFoundError({
        provider: 'gcp',
        operation: 'describeSubnetAllocations',
        cloudCode: 'notFound',
        message: `no range ${subnetId} in subnetwork ${subnet.name} (ranges: ${[...usage.keys()].join(', ')})`,
      });
    const s = subnetsOf(subnet, inst.zone, parseNetworkName(inst), new Map([[subnetId, u.free]])).find(
      (x) => x.id === subnetId,
    )!;
    return { subnet: s, used: u.used };
  }

  async createInterface(): Promise<NetworkInterface> {
    throw new NicLimitError({
      provider: 'gcp',
      operation: 'createInterface',
      cloudCode: 'unsupported',
      message: 'GCE cannot attach network interfaces to a running VM; Pods use alias ranges on nic0',
    });
  }

  async deleteInterface(interfaceId: string): Promise<void> {
    if (interfaceId === NIC)
      throw new InvalidCloudRequestError({
        provider: 'gcp',
        operation: 'deleteInterface',
        cloudCode: 'invalid',
        message: 'nic0 is the node primary interface and cannot be deleted',
      });
    // There is no other interface ipamd could have created: nothing to delete is success.
  }

  async assignAddresses(interfaceId: string, req: AssignRequest): Promise<AddressBlock[]> {
    const op = 'assignAddresses';
    this.checkNic(interfaceId, op);
    if (req.kind !== 'prefix') throw this.invalid(op, 'GCE gives Pods alias IP ranges only; ask for kind "prefix"');
    if ((req.count === undefined) === (req.cidrs === undefined))
      throw this.invalid(op, 'give exactly one of count and cidrs');
    if (req.count !== undefined && (!Number.isInteger(req.count) || req.count < 0))
      throw this.invalid(op, `count must be a non-negative integer, got ${req.count}`);
    for (const c of req.cidrs ?? []) {
      if (!rangeOf(c) || prefixLengthOf(c) !== this.o.blockPrefixLength)
        throw this.invalid(op, `${c} is not a /${this.o.blockPrefixLength} block`);
    }
    const n = req.count ?? req.cidrs!.length;
    if (n === 0) return [];
    const len = this.o.blockPrefixLength;
    return this.exclusive(async () => {
      const { before, after } = await this.rewrite(
        op,
        (current) => {
          const have = new Set(current.map((r) => r.ipCidrRange));
          const add: AliasRange[] = req.cidrs
            ? req.cidrs
                .filter((c) => !have.has(c))
                .map((c) => ({ ipCidrRange: c, subnetworkRangeName: this.o.podsRangeName }))
            : Array.from({ length: n }, () => ({ ipCidrRange: `/${len}`, subnetworkRangeName: this.o.podsRangeName }));
          if (add.length === 0) return undefined;
          if (current.length + add.length > this.o.maxAliasRanges) {
            throw new IpLimitError({
              provider: 'gcp',
              operation: op,
              cloudCode: 'aliasRangeLimit',
              message:
                `nic0 would carry ${current.length + add.length} alias ranges, ` +
                `more than the ${this.o.maxAliasRanges} GCE allows per interface`,
            });
          }
          return [...current, ...add];
        },
        n,
      );
      const had = new Set(before.map((r) => r.ipCidrRange));
      return after
        .filter((r) => !had.has(r.ipCidrRange) && isPoolRange(r, this.o))
        .map((r): AddressBlock => ({ cidr: r.ipCidrRange, kind: 'prefix' }));
    });
  }

  async unassignAddresses(interfaceId: string, blocks: AddressBlock[]): Promise<void> {
    this.checkNic(interfaceId, 'unassignAddresses');
    const drop = new Set(blocks.map((b) => b.cidr));
    if (drop.size === 0) return;
    await this.exclusive(() =>
      this.rewrite('unassignAddresses', (current) => {
        const keep = current.filter((r) => !drop.has(r.ipCidrRange));
        // Nothing of ours left on nic0 (already gone): no call.
        return keep.length === current.length ? undefined : keep;
      }),
    );
  }

  async close(): Promise<void> {
    await this.o.compute.close();
  }

  // ---- internals -------------------------------------------------------------

  /**
   * The read-modify-write loop (see the module comment). `build` returns the
   * desired list from the current one, or undefined when there is nothing
   * to do. Returns nic0's ranges before the write that landed and after it.
   */
  private async rewrite(
    op: string,
    build: (current: AliasRange[]) => AliasRange[] | undefined,
    asked = 0,
  ): Promise<{ before: AliasRange[]; after: AliasRange[] }> {
    const { compute, target } = this.o;
    for (let attempt = 1; ; attempt++) {
      const inst = await compute.getInstance(target);
      const current = inst.nic0.aliasIpRanges;
      const desired = build(current);
      if (!desired) return { before: current, after: current };
      try {
        const started = await compute.updateAliasRanges(target, inst.nic0.fingerprint, desired, randomUUID());
        const done = await compute.waitOperation(target, started);
        const failed = operationError(done, 'instances.updateNetworkInterface');
        if (failed) throw failed;
      } catch (err) {
        if (CloudError.isCloud(err) && err.code === 'CLOUD_CONFLICT' && attempt < this.o.fingerprintRetries) {
          // Someone changed nic0 since our read (412) or is changing it (resourceNotReady): read again.
          await this.o.clock.sleep(Math.floor(this.random() * 50 * 2 ** attempt));
          continue;
        }
        if (CloudError.isCloud(err) && err.code === 'CLOUD_CONFLICT') {
          throw new ConflictError({
            provider: 'gcp',
            operation: op,
            cloudCode: err.cloudCode,
            message: `nic0 changed under us ${attempt} times in a row; giving up for now`,
            cause: err,
          });
        }
        if (err instanceof SubnetFullError && asked > 0) throw await this.classifyExhausted(err, inst, asked);
        throw err;
      }
      const after = await compute.getInstance(target);
      this.noteForeign(after.nic0.aliasIpRanges);
      return { before: current, after: after.nic0.aliasIpRanges };
    }
  }

  /** IP_SPACE_EXHAUSTED says nothing about why; one listing tells a full range from a fragmented one. */
  private async classifyExhausted(err: SubnetFullError, inst: GceInstance, asked: number): Promise<CloudError> {
    try {
      const subnet = await this.subnetwork(inst);
      const u = (await this.usage(subnet)).get(`${subnet.name}/${this.o.podsRangeName}`);
      if (!u) return err;
      const size = addressCount(4, this.o.blockPrefixLength);
      const init = { provider: 'gcp', operation: err.operation, cloudCode: err.cloudCode, cause: err };
      const state =
        `range '${this.o.podsRangeName}' has ${u.free} free addresses and ${u.freeBlocks} free aligned ` +
        `/${this.o.blockPrefixLength} blocks; asked ${asked}`;
      if (u.free >= asked * size && u.freeBlocks < asked)
        return new NoPrefixBlockError({ ...init, message: `fragmented: ${state}` });
      return new SubnetFullError({ ...init, message: `exhausted: ${state}` });
    } catch {
      return err; // the original error is what matters; the listing was only to explain it
    }
  }

  /** Used CIDRs and free counts of every range of the subnetwork, from all instances of the project. */
  private async usage(
    subnet: GceSubnetwork,
  ): Promise<Map<string, { used: string[]; free: number; freeBlocks: number }>> {
    const instances = await this.o.compute.listInstances(this.o.target.project);
    const mine = instances.filter(
      (i) =>
        parseSubnetworkUrl(i.nic0.subnetwork)?.name === subnet.name &&
        parseSubnetworkUrl(i.nic0.subnetwork)?.region === subnet.region,
    );
    const out = new Map<string, { used: string[]; free: number; freeBlocks: number }>();
    const primaryUsed = [...primaryReserved(subnet.ipCidrRange), ...mine.map((i) => `${i.nic0.networkIP}/32`)];
    for (const i of mine)
      for (const r of i.nic0.aliasIpRanges) if (!r.subnetworkRangeName) primaryUsed.push(r.ipCidrRange);
    const p = rangeUsage(subnet.ipCidrRange, primaryUsed, this.o.blockPrefixLength);
    out.set(subnet.name, { used: sortCidrs(primaryUsed), free: p.free, freeBlocks: p.freeBlocks });
    for (const sr of subnet.secondaryIpRanges) {
      const used = mine.flatMap((i) =>
        i.nic0.aliasIpRanges.filter((r) => r.subnetworkRangeName === sr.rangeName).map((r) => r.ipCidrRange),
      );
      const u = rangeUsage(sr.ipCidrRange, used, this.o.blockPrefixLength);
      out.set(`${subnet.name}/${sr.rangeName}`, { used: sortCidrs(used), free: u.free, freeBlocks: u.freeBlocks });
    }
    return out;
  }

  private async subnetwork(inst: GceInstance, fresh = false): Promise<GceSubnetwork> {
    const now = this.o.clock.now();
    if (!fresh && this.subnet && now - this.subnet.at < SUBNET_TTL_MS) return this.subnet.value;
    const where = parseSubnetworkUrl(inst.nic0.subnetwork);
    if (!where) throw this.invalid('subnetworks.get', `cannot parse nic0's subnetwork URL "${inst.nic0.subnetwork}"`);
    // Shared VPC: the subnetwork lives in the host project named in its URL.
    const value = {
      ...(await this.o.compute.getSubnetwork(where.project, where.region, where.name)),
      name: where.name,
      region: where.region,
    };
    if (!value.secondaryIpRanges.some((r) => r.rangeName === this.o.podsRangeName)) {
      throw new CloudNotFoundError({
        provider: 'gcp',
        operation: 'subnetworks.get',
        cloudCode: 'podsRangeMissing',
        message:
          `subnetwork ${where.name} has no secondary range "${this.o.podsRangeName}" ` +
          `(has: ${value.secondaryIpRanges.map((r) => r.rangeName).join(', ') || 'none'}); set GCP_POD_RANGE_NAME`,
      });
    }
    this.subnet = { at: now, value };
    return value;
  }

  private noteForeign(ranges: AliasRange[]): void {
    const foreign = ranges
      .filter((r) => !isPoolRange(r, this.o))
      .map((r) => `${r.ipCidrRange}${r.subnetworkRangeName ? ` (${r.subnetworkRangeName})` : ''}`);
    this.foreign = foreign.length;
    const key = foreign.join(',');
    if (key && key !== this.warnedForeign)
      this.o.log?.warn(
        { ranges: foreign },
        'nic0 carries alias ranges that are not /' +
          this.o.blockPrefixLength +
          ' blocks of the Pods range; they are kept and not used for Pods',
      );
    this.warnedForeign = key;
  }

  /** Serialises this process's changes to nic0 (GCE refuses overlapping updates anyway). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private checkNic(id: string, op: string): void {
    if (id !== NIC)
      throw new CloudNotFoundError({
        provider: 'gcp',
        operation: op,
        cloudCode: 'notFound',
        message: `no interface ${id}: on GCE ipamd manages nic0 only`,
      });
  }

  private invalid(op: string, message: string): InvalidCloudRequestError {
    return new InvalidCloudRequestError({ provider: 'gcp', operation: op, cloudCode: 'invalid', message });
  }
}

function parseNetworkName(inst: GceInstance): string {
  return inst.nic0.network.slice(inst.nic0.network.lastIndexOf('/') + 1);
}

function sortCidrs(list: string[]): string[] {
  return list.sort((a, b) => {
    const x = rangeOf(a)!.start;
    const y = rangeOf(b)!.start;
    return x < y ? -1 : x > y ? 1 : prefixLengthOf(a) - prefixLengthOf(b);
  });
}

function matches(f: SubnetFilter, s: Subnet): boolean {
  if (f.ids && !f.ids.includes(s.id)) return false;
  if (f.vpcId !== undefined && f.vpcId !== s.vpcId) return false;
  if (f.zone !== undefined && f.zone !== s.zone) return false;
  for (const [k, v] of Object.entries(f.tags ?? {}))
    if (s.tags[k] === undefined || (v !== '*' && s.tags[k] !== v)) return false;
  return true;
}
