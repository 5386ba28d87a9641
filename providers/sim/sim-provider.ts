/**
 * @module sim provider
 * {@link SimProvider}: the {@link CloudProvider} of one simulated node, over
 * a shared {@link SimCloud}. It makes the same calls an EC2 provider makes,
 * in the same order, and each call goes through the same four steps:
 *
 * 1. counted under its EC2 action name ({@link SimProvider.callCounts});
 * 2. checked by the fault injector (injected failures, token buckets), which
 *    fails it at once;
 * 3. delayed by its latency on the injected clock;
 * 4. applied to the cloud model, atomically (unless the profile's eventual
 *    consistency answers NotFound first); after a successful mutation
 *    `onMutate` runs (the daemon saves the cloud there).
 *
 * Because the latency comes before the model change, concurrent calls see
 * each other's effects in the order they complete, as with a real cloud.
 * Reads of the model that a real provider would have cached (the node's own
 * interfaces, its instance type) cost no call.
 *
 * The timing profile (`latency.ts`, realistic by default) adds what EC2 does
 * around the calls (`realism.ts`): metadata lag drawn per attach, a detach
 * still in progress when it answers, NotFound just after a change; the AWS
 * provider's waits and retries for them, each a counted call.
 *
 * Like the AWS provider, it tags every interface it creates with the
 * instance and the time (in the create call, so no crash leaves one
 * untagged), retries an undo step a few times, and hands what it still
 * cannot undo, and what a killed earlier run left detached, to the shared
 * {@link LeakReclaimer}.
 */
import { CloudError, CloudUnavailableError, IpamError } from '../errors.js';
import { interfaceTags, TAG_INSTANCE_ID, taggedCreatedAt } from '../interface-tags.js';
import { LeakReclaimer } from '../leak-reclaim.js';
import { lookupEc2Limits } from '../limits/ec2-limits.js';
import type {
  AddressBlock,
  AssignRequest,
  CloudProvider,
  CreateInterfaceRequest,
  InstanceLimits,
  NetworkInterface,
  NodeInventory,
  ReclaimReport,
  Subnet,
  SubnetAllocations,
  SubnetFilter,
} from '../types.js';
import { MUTATING_ACTIONS, type SimAction } from './actions.js';
import type { SimCloud } from './cloud.js';
import type { FaultInjector } from './faults.js';
import type { CreateInterfaceOptions } from './interface-ops.js';
import { resolveLatency, type LatencyOverrides, type LatencyTable } from './latency.js';
import type { SimInterface } from './model.js';
import { DELETE_ATTEMPTS, SimRealism } from './realism.js';
import { neutralLimits, toNetworkInterface } from './views.js';
import type { SimClock } from './time.js';

export interface SimProviderOptions {
  cloud: SimCloud;
  /** The node this provider speaks for (see `SimCloud.seedNode`). */
  instanceId: string;
  /** The daemon's clock (ipamd's SystemClock or VirtualClock fit). */
  clock: SimClock;
  /** Overrides of {@link DEFAULT_LATENCY} (or a whole profile: `LEGACY_LATENCY`, `ZERO_LATENCY`). */
  latency?: LatencyOverrides;
  /** Seed of the profile's random draws (metadata lag, NotFound dice, retry jitter); default 1. */
  seed?: number;
  faults?: FaultInjector;
  /** Runs after every successful mutating call, with its action. Must not throw (see {@link SimProvider}). */
  onMutate?: (action: SimAction) => void;
  /** This run's own detached interfaces are left alone this long by the leak reclaim (default 5 min). */
  leakGraceMs?: number;
}

/** Attempts of one undo step before it is left to the leak reclaim. */
const UNDO_ATTEMPTS = 3;

export { toNetworkInterface };

function isNotFound(err: unknown): boolean {
  return IpamError.is(err) && err.code === 'CLOUD_NOT_FOUND';
}

export class SimProvider implements CloudProvider {
  readonly name = 'sim' as const;
  readonly instanceId: string;
  private readonly cloud: SimCloud;
  private readonly clock: SimClock;
  private readonly latency: LatencyTable;
  private readonly realism: SimRealism;
  private readonly faults: FaultInjector | undefined;
  private readonly onMutate: ((action: SimAction) => void) | undefined;
  private readonly reclaimer: LeakReclaimer;
  private counts: Partial<Record<SimAction, number>> = {};

  constructor(opts: SimProviderOptions) {
    this.cloud = opts.cloud;
    this.instanceId = opts.instanceId;
    this.clock = opts.clock;
    this.latency = resolveLatency(opts.latency);
    this.realism = new SimRealism(this.latency, opts.clock, opts.seed ?? 1);
    this.faults = opts.faults;
    this.onMutate = opts.onMutate;
    this.reclaimer = new LeakReclaimer({
      clock: opts.clock,
      ...(opts.leakGraceMs !== undefined ? { graceMs: opts.leakGraceMs } : {}),
      listDetached: () =>
        this.call('DescribeNetworkInterfaces', () =>
          this.cloud
            .describeInterfaces({ tags: { [TAG_INSTANCE_ID]: this.instanceId }, status: ['available'] })
            .map((n) => ({ id: n.id, createdAt: taggedCreatedAt(n.tags) })),
        ),
      remove: (id) => this.deleteInterface(id),
    });
  }

  /** Calls made so far, per EC2 action, including those that failed. */
  callCounts(): Record<string, number> {
    return { ...this.counts };
  }

  totalCalls(): number {
    return Object.values(this.counts).reduce((a, b) => a + (b ?? 0), 0);
  }

  resetCallCounts(): void {
    this.counts = {};
  }

  /** The four steps of every cloud call (see the module comment); `id`: the interface it names by id. */
  private async call<T>(action: SimAction, apply: () => T, id?: string): Promise<T> {
    this.counts[action] = (this.counts[action] ?? 0) + 1;
    this.faults?.check(action);
    const ms = this.latency.actions[action];
    if (ms > 0) await this.clock.sleep(ms);
    this.cloud.settle(this.clock.now()); // detaches due by now are done before the call sees the cloud
    this.realism.check(this.cloud, action, id);
    const out = apply();
    if (MUTATING_ACTIONS.has(action) && this.onMutate) {
      try {
        this.onMutate(action);
      } catch (err) {
        // The change is made but could not be recorded: to the caller that is a cloud outage.
        throw new CloudUnavailableError({
          provider: 'sim',
          operation: action,
          cloudCode: 'SimPersistFailed',
          message: 'onMutate failed',
          cause: err,
        });
      }
    }
    return out;
  }

  async describeNode(): Promise<NodeInventory> {
    // One DescribeInstances returns the instance with its interfaces, addresses and prefixes.
    return this.call('DescribeInstances', () => {
      const inst = this.cloud.getInstance(this.instanceId);
      const vpc = this.cloud.getVpc(inst.vpcId);
      return {
        instanceId: inst.id,
        instanceType: inst.instanceType,
        zone: inst.zone,
        vpcId: inst.vpcId,
        vpcCidrs: [...vpc.cidrs],
        interfaces: inst.interfaces.map((n) => toNetworkInterface(n, this.cloud.getSubnet(n.subnetId).cidr)),
      };
    });
  }

  async getLimits(instanceType: string): Promise<InstanceLimits> {
    const fromTable = lookupEc2Limits(instanceType);
    if (fromTable) return neutralLimits(fromTable);
    // Not in the built-in table: ask the cloud, which knows run-time defined types.
    return this.call('DescribeInstanceTypes', () => {
      const l = this.cloud.instanceLimits(instanceType);
      if (!l) {
        throw this.cloud.makeError(
          'invalidInstanceType',
          'DescribeInstanceTypes',
          `The instance type '${instanceType}' is not in the EC2 limits table nor defined in the sim`,
        );
      }
      return neutralLimits(l);
    });
  }

  async listSubnets(filter: SubnetFilter = {}): Promise<Subnet[]> {
    return this.call('DescribeSubnets', () => this.cloud.describeSubnets(filter));
  }

  async describeSubnetAllocations(subnetId: string): Promise<SubnetAllocations> {
    // EC2 has no such call; an AWS provider pages DescribeNetworkInterfaces filtered by subnet-id.
    return this.call('DescribeNetworkInterfaces', () => this.cloud.subnetAllocations(subnetId));
  }

  async createInterface(req: CreateInterfaceRequest): Promise<NetworkInterface> {
    const inst = this.cloud.getInstance(this.instanceId);
    const limits = this.instanceLimits(inst.instanceType, 'CreateNetworkInterface');
    if (!limits.canCreateInterfaces) {
      throw this.cloud.makeError(
        'operationNotPermitted',
        'AttachNetworkInterface',
        `Interfaces cannot be attached to a running ${inst.instanceType}`,
      );
    }
    // Checked up front, like the VPC CNI's hasRoomForEni, so a full node costs no calls.
    if (inst.interfaces.length >= limits.maxInterfaces) {
      throw this.cloud.makeError(
        'attachmentLimit',
        'AttachNetworkInterface',
        `Interface count ${inst.interfaces.length + 1} exceeds the limit for ${inst.instanceType}`,
      );
    }
    const opts: CreateInterfaceOptions = {
      subnetId: req.subnetId,
      securityGroups:
        req.securityGroups ??
        inst.interfaces.find((n) => n.attachment?.deviceIndex === 0)?.securityGroups ??
        inst.securityGroups,
      description: req.description ?? '',
      tags: interfaceTags({ instanceId: this.instanceId, createdAt: this.clock.now(), extra: req.tags }),
    };
    const initial = req.initial;
    if (initial && initial.count > 0) {
      this.checkInitial(initial, limits);
      if (initial.kind === 'ip') opts.secondaryIps = { count: initial.count };
      else opts.prefixes = { count: initial.count };
    }

    return this.reclaimer.creating(() => this.createAndAttach(opts));
  }

  /** Deletes what earlier runs and failed undos left detached; see {@link LeakReclaimer}. */
  reclaimLeakedInterfaces(): Promise<ReclaimReport> {
    return this.reclaimer.reclaim();
  }

  /** Create → attach → DeleteOnTermination → metadata wait; a failed step undoes the earlier ones. */
  private async createAndAttach(opts: CreateInterfaceOptions): Promise<NetworkInterface> {
    const nic = await this.call('CreateNetworkInterface', () => this.cloud.createInterface(opts));
    this.realism.changed(nic.id);
    try {
      // The device index is chosen when the attach lands, so concurrent creates cannot collide.
      await this.byId('AttachNetworkInterface', nic.id, () => this.cloud.attachInterface(nic.id, this.instanceId));
    } catch (err) {
      await this.undo(nic.id, false);
      throw err;
    }
    this.realism.changed(nic.id);
    const attachedAt = this.clock.now();
    try {
      const change = { deleteOnTermination: true };
      await this.byId('ModifyNetworkInterfaceAttribute', nic.id, () => this.cloud.modifyAttachment(nic.id, change));
    } catch (err) {
      await this.undo(nic.id, true);
      throw err;
    }
    // Metadata shows the interface its propagation lag after the attach; the Modify call overlaps that wait.
    const wait = attachedAt + this.realism.propagationMs() - this.clock.now();
    if (wait > 0) await this.clock.sleep(wait);
    const now = this.cloud.getInterface(nic.id);
    return toNetworkInterface(now, this.cloud.getSubnet(now.subnetId).cidr);
  }

  /** Reverses a half-made interface; what cannot be undone now is left to the leak reclaim. Never throws. */
  private async undo(nicId: string, attached: boolean): Promise<void> {
    const detach = async () => {
      await this.call('DetachNetworkInterface', () => this.detachNow(nicId));
      await this.awaitDetached(nicId);
    };
    const detached = !attached || (await this.undoStep(detach));
    const deleted = detached && (await this.undoStep(() => this.deleteWhenDetached(nicId)));
    if (!deleted) this.reclaimer.abandon(nicId);
  }

  /** DetachNetworkInterface on the model: done at once, or `detaching` for the profile's settle time. */
  private detachNow(nicId: string): void {
    this.cloud.detachInterface(nicId, this.realism.detachTransition());
  }

  /** Waits for a detach to finish, reading the interface as the AWS adapter does (a filtered describe). */
  private awaitDetached(id: string): Promise<void> {
    const read = () => this.call('DescribeNetworkInterfaces', () => this.peek(id)?.attachment !== undefined);
    return this.realism.awaitDetached(read);
  }

  /**
   * DeleteNetworkInterface, tried again while the interface is still detaching ("is currently in use"), with
   * the AWS adapter's backoff (realism.ts). NotFound is success: the interface is gone.
   */
  private async deleteWhenDetached(id: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.byId('DeleteNetworkInterface', id, () => this.cloud.deleteInterface(id));
        break;
      } catch (err) {
        if (isNotFound(err)) break;
        if (this.peek(id)?.attachment?.state !== 'detaching' || attempt >= DELETE_ATTEMPTS) throw err;
        await this.clock.sleep(this.realism.deleteBackoffMs(attempt));
      }
    }
    this.realism.forget(id);
  }

  /** A call naming interface `id`, tried again while the cloud may not see our latest change to it yet. */
  private byId<T>(action: SimAction, id: string, apply: () => T): Promise<T> {
    return this.realism.byId(id, () => this.call(action, apply, id));
  }

  async deleteInterface(interfaceId: string): Promise<void> {
    const nic = this.peek(interfaceId);
    if (!nic) return;
    if (nic.attachment && nic.attachment.instanceId !== this.instanceId) {
      throw this.cloud.makeError(
        'interfaceInUse',
        'DetachNetworkInterface',
        `Interface ${interfaceId} is attached to another instance (${nic.attachment.instanceId})`,
      );
    }
    if (nic.attachment) {
      const gone = await this.call('DetachNetworkInterface', () => {
        try {
          this.detachNow(interfaceId);
          return false;
        } catch (err) {
          // Interface gone, or already detached by someone else: nothing left to detach.
          if (isNotFound(err)) return this.peek(interfaceId) === undefined;
          throw err;
        }
      });
      if (gone) return;
      await this.awaitDetached(interfaceId);
    }
    await this.deleteWhenDetached(interfaceId);
  }

  async assignAddresses(interfaceId: string, req: AssignRequest): Promise<AddressBlock[]> {
    const op = 'AssignPrivateIpAddresses';
    if ((req.count === undefined) === (req.cidrs === undefined)) {
      throw this.cloud.makeError('invalidParameter', op, 'give exactly one of count and cidrs');
    }
    if (req.count !== undefined && (!Number.isInteger(req.count) || req.count < 0)) {
      throw this.cloud.makeError('invalidParameter', op, `count must be a non-negative integer, got ${req.count}`);
    }
    if (req.count === 0 || req.cidrs?.length === 0) return [];
    const count = req.count !== undefined ? { count: req.count } : undefined;
    const added = await this.byId(op, interfaceId, () =>
      req.kind === 'ip'
        ? this.cloud.assignPrivateIps(interfaceId, count ?? { ips: req.cidrs! })
        : this.cloud.assignPrefixes(interfaceId, count ?? { prefixes: req.cidrs! }),
    );
    this.realism.changed(interfaceId);
    if (req.kind === 'ip') return added.map((ip) => ({ cidr: `${ip}/32`, kind: 'ip' }));
    return added.map((cidr) => ({ cidr, kind: 'prefix' }));
  }

  async unassignAddresses(interfaceId: string, blocks: AddressBlock[]): Promise<void> {
    if (!this.present(interfaceId, blocks)) return;
    await this.byId('UnassignPrivateIpAddresses', interfaceId, () => {
      // Re-read at apply time: other calls may have changed the interface during the latency.
      const p = this.present(interfaceId, blocks);
      if (!p) return;
      if (p.ips.length > 0) this.cloud.unassignPrivateIps(interfaceId, p.ips);
      if (p.prefixes.length > 0) this.cloud.unassignPrefixes(interfaceId, p.prefixes);
    });
  }

  // ---- helpers --------------------------------------------------------------

  /** The blocks of `blocks` still on the interface, or undefined when none are (or the interface is gone). */
  private present(interfaceId: string, blocks: AddressBlock[]): { ips: string[]; prefixes: string[] } | undefined {
    const nic = this.peek(interfaceId);
    if (!nic) return undefined;
    const ownIps = new Set(nic.privateIps.map((ip) => `${ip}/32`));
    const ownPrefixes = new Set(nic.prefixes);
    const ips = blocks.filter((b) => b.kind === 'ip' && ownIps.has(b.cidr)).map((b) => b.cidr);
    const prefixes = blocks.filter((b) => b.kind === 'prefix' && ownPrefixes.has(b.cidr)).map((b) => b.cidr);
    return ips.length + prefixes.length > 0 ? { ips, prefixes } : undefined;
  }

  private peek(interfaceId: string): SimInterface | undefined {
    this.cloud.settle(this.clock.now());
    try {
      return this.cloud.getInterface(interfaceId);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private instanceLimits(instanceType: string, op: string): InstanceLimits {
    const l = this.cloud.instanceLimits(instanceType);
    if (!l) throw this.cloud.makeError('invalidInstanceType', op, `The instance type '${instanceType}' is not known`);
    return l;
  }

  /** Rejects an initial request the attach would refuse anyway, before any call is made. */
  private checkInitial(initial: { kind: 'ip' | 'prefix'; count: number }, limits: InstanceLimits): void {
    const op = 'CreateNetworkInterface';
    if (!Number.isInteger(initial.count))
      throw this.cloud.makeError('invalidParameter', op, `count must be an integer, got ${initial.count}`);
    if (initial.kind === 'prefix' && !limits.supportsPrefixes) {
      throw this.cloud.makeError(
        'invalidParameter',
        op,
        `Instance type ${limits.instanceType} does not support prefix delegation`,
      );
    }
    if (initial.kind === 'ip' && !limits.supportsIps) {
      throw this.cloud.makeError(
        'invalidParameter',
        op,
        `Instance type ${limits.instanceType} does not support secondary addresses`,
      );
    }
    if (1 + initial.count > limits.ipv4PerInterface) {
      throw this.cloud.makeError(
        'addressLimit',
        op,
        `Number of private addresses will exceed limit (${1 + initial.count} > ${limits.ipv4PerInterface}).`,
      );
    }
  }

  /**
   * One undo step, retried while the cloud says it may work later; false when
   * it did not (the caller's error is the original one, not this).
   */
  private async undoStep(step: () => Promise<void>): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await step();
        return true;
      } catch (err) {
        if (isNotFound(err)) return true; // already gone
        if (!(CloudError.isCloud(err) && err.retryable) || attempt >= UNDO_ATTEMPTS) return false;
        await this.clock.sleep(200 * attempt);
      }
    }
  }
}
