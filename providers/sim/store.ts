/**
 * @module sim store
 * The state behind a {@link SimCloud}: record maps, one address space per
 * subnet, the id counter and the seeded PRNG, plus the lookups every
 * operation needs (each throwing the cloud's typed not-found error).
 *
 * Address spaces are derived data: {@link SimStore.rebuildSpaces} recomputes
 * them from interfaces and reservations, which is how a saved cloud is
 * loaded and why a corrupt file (two owners of one address) is caught.
 * A subnet's secondary ranges (GCE) get spaces of their own, keyed by the
 * range id, with no reserved addresses.
 */
import { CheckpointError, type CloudError } from '../errors.js';
import { lookupEc2Limits } from '../limits/ec2-limits.js';
import { parseBlock } from './addr.js';
import { EC2_RESERVED, SubnetSpace } from './address-space.js';
import type {
  SimInstance,
  SimInstanceLimits,
  SimInterface,
  SimReservation,
  SimReservedCounts,
  SimSecondaryRange,
  SimSubnet,
  SimVpc,
} from './model.js';
import { Prng } from './prng.js';
import type { SimErrorFactory, SimErrorKind } from './sim-errors.js';
import type { TimeSource } from './time.js';

export class SimStore {
  readonly vpcs = new Map<string, SimVpc>();
  readonly subnets = new Map<string, SimSubnet>();
  readonly reservations = new Map<string, SimReservation>();
  readonly instances = new Map<string, SimInstance>();
  readonly interfaces = new Map<string, SimInterface>();
  readonly instanceTypes = new Map<string, SimInstanceLimits>();
  readonly secondaryRanges = new Map<string, SimSecondaryRange>();
  readonly spaces = new Map<string, SubnetSpace>();
  prng: Prng;
  nextId = 1;

  constructor(
    seed: number,
    readonly errors: SimErrorFactory,
    readonly clock: TimeSource,
    /** Reserved addresses of every primary range (EC2: first 4, last 1; GCE: first 2, last 2). */
    readonly subnetReserved: SimReservedCounts = EC2_RESERVED,
  ) {
    this.prng = new Prng(seed);
  }

  now(): number {
    return this.clock.now();
  }

  fail(kind: SimErrorKind, op: string, message: string): CloudError {
    return this.errors.make(kind, op, message);
  }

  /**
   * A new id such as `eni-0000000000000002a`. Sequential rather than random
   * so ids stay stable across replays even when address choices change.
   */
  newId(prefix: string, width = 17): string {
    return `${prefix}-${(this.nextId++).toString(16).padStart(width, '0')}`;
  }

  /** A locally administered unicast MAC derived from the id counter (02:xx:…). */
  newMac(): string {
    const n = this.nextId++;
    const bytes = [0x02, (n / 2 ** 32) & 0xff, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
    return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
  }

  vpc(id: string, op: string): SimVpc {
    const v = this.vpcs.get(id);
    if (!v) throw this.fail('vpcNotFound', op, `The vpc ID '${id}' does not exist`);
    return v;
  }

  subnet(id: string, op: string): SimSubnet {
    const s = this.subnets.get(id);
    if (!s) throw this.fail('subnetNotFound', op, `The subnet ID '${id}' does not exist`);
    return s;
  }

  space(subnetId: string, op: string): SubnetSpace {
    const sp = this.spaces.get(subnetId);
    if (!sp) throw this.fail('subnetNotFound', op, `The subnet ID '${subnetId}' does not exist`);
    return sp;
  }

  instance(id: string, op: string): SimInstance {
    const i = this.instances.get(id);
    if (!i) throw this.fail('instanceNotFound', op, `The instance ID '${id}' does not exist`);
    return i;
  }

  nic(id: string, op: string): SimInterface {
    const n = this.interfaces.get(id);
    if (!n) throw this.fail('interfaceNotFound', op, `The networkInterface ID '${id}' does not exist`);
    return n;
  }

  /** Limits of a type: run-time definitions first, then the EC2 table. */
  limitsOf(instanceType: string): SimInstanceLimits | undefined {
    const custom = this.instanceTypes.get(instanceType);
    if (custom) return { ...custom };
    return lookupEc2Limits(instanceType);
  }

  /** Limits of an existing instance; its type was checked at launch. */
  instanceLimits(inst: SimInstance, op: string): SimInstanceLimits {
    const l = this.limitsOf(inst.instanceType);
    if (!l) throw this.fail('invalidInstanceType', op, `The instance type '${inst.instanceType}' is not known`);
    return l;
  }

  /** Interfaces attached to an instance, by network card, then device index. */
  attachedTo(instanceId: string): SimInterface[] {
    const key = (n: SimInterface) => (n.attachment!.networkCardIndex ?? 0) * 1_000 + n.attachment!.deviceIndex;
    const mine = [...this.interfaces.values()].filter((n) => n.attachment?.instanceId === instanceId);
    return mine.sort((a, b) => key(a) - key(b));
  }

  /** Lowest device index with nothing attached on network card 0 (the VPC CNI's `awsGetFreeDeviceNumber`). */
  lowestFreeDeviceIndex(instanceId: string): number {
    const onCard0 = this.attachedTo(instanceId).filter((n) => (n.attachment!.networkCardIndex ?? 0) === 0);
    const used = new Set(onCard0.map((n) => n.attachment!.deviceIndex));
    let i = 0;
    while (used.has(i)) i++;
    return i;
  }

  /** Secondary ranges of a subnet, by name. */
  rangesOf(subnetId: string): SimSecondaryRange[] {
    return [...this.secondaryRanges.values()]
      .filter((r) => r.subnetId === subnetId)
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /**
   * The space holding a prefix of `nic`, with the prefix's offsets in it:
   * the interface's subnet when the prefix lies there, else the secondary
   * range of that subnet that contains it. Undefined when neither does.
   */
  prefixSpace(
    nic: Pick<SimInterface, 'subnetId'>,
    cidr: string,
  ): { space: SubnetSpace; start: number; size: number; rangeId?: string } | undefined {
    const b = parseBlock(cidr);
    if (!b) return undefined;
    const own = this.spaces.get(nic.subnetId)?.rangeOf(b);
    if (own) return { space: this.spaces.get(nic.subnetId)!, ...own };
    for (const r of this.rangesOf(nic.subnetId)) {
      const sp = this.spaces.get(r.id);
      const inRange = sp?.rangeOf(b);
      if (sp && inRange) return { space: sp, ...inRange, rangeId: r.id };
    }
    return undefined;
  }

  /** Recomputes every subnet's address space from the records; throws CheckpointError on overlaps. */
  rebuildSpaces(): void {
    this.spaces.clear();
    for (const s of this.subnets.values()) this.spaces.set(s.id, new SubnetSpace(s.cidr, this.subnetReserved));
    for (const r of this.secondaryRanges.values())
      this.spaces.set(r.id, new SubnetSpace(r.cidr, { first: 0, last: 0 }));
    const claim = (subnetId: string, cidr: string, what: string): void => {
      const sp = this.spaces.get(subnetId);
      const b = parseBlock(cidr);
      const r = sp && b ? sp.rangeOf(b) : undefined;
      if (!sp || !r) throw new CheckpointError(`sim state: ${what} ${cidr} is outside subnet ${subnetId}`);
      if (!sp.isFree(r.start, r.size))
        throw new CheckpointError(`sim state: ${what} ${cidr} overlaps another allocation`);
      sp.take(r.start, r.size);
    };
    for (const r of this.reservations.values()) {
      if (r.type === 'blocked') {
        claim(r.subnetId, r.cidr, `reservation ${r.id}`);
      } else {
        const sp = this.spaces.get(r.subnetId);
        const b = parseBlock(r.cidr);
        const range = sp && b ? sp.rangeOf(b) : undefined;
        if (!sp || !range) throw new CheckpointError(`sim state: reservation ${r.id} is outside subnet ${r.subnetId}`);
        sp.mark(range.start, range.size, r.type);
      }
    }
    for (const n of this.interfaces.values()) {
      claim(n.subnetId, n.primaryIp, `interface ${n.id} primary`);
      for (const ip of n.privateIps) claim(n.subnetId, ip, `interface ${n.id} address`);
      for (const p of n.prefixes) {
        const at = this.prefixSpace(n, p);
        if (!at)
          throw new CheckpointError(
            `sim state: interface ${n.id} prefix ${p} is outside subnet ${n.subnetId} and its secondary ranges`,
          );
        claim(at.rangeId ?? n.subnetId, p, `interface ${n.id} prefix`);
      }
    }
  }
}
