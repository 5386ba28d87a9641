/**
 * @module sim provider
 * {@link SimProvider}: the {@link CloudProvider} of one simulated node, over
 * a shared {@link SimCloud}. It makes the same calls an EC2 provider makes,
 * in the same order, and each call goes through the same four steps
 * (counted, fault-checked, delayed, applied: `sim-calls.ts`).
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
 * untagged), retries an undo step a few times (`sim-interface-lifecycle.ts`),
 * and hands what it still cannot undo, and what a killed earlier run left
 * detached, to the shared {@link LeakReclaimer}.
 */
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
import type { SimAction } from './actions.js';
import type { SimCloud } from './cloud.js';
import type { FaultInjector } from './faults.js';
import type { CreateInterfaceOptions } from './interface-ops.js';
import { resolveLatency, type LatencyOverrides } from './latency.js';
import { SimRealism } from './realism.js';
import { SimCalls } from './sim-calls.js';
import { checkInitialRequest, checkRoomForInterface } from './sim-create-checks.js';
import { SimInterfaceLifecycle } from './sim-interface-lifecycle.js';
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

export { toNetworkInterface };

export class SimProvider implements CloudProvider {
  readonly name = 'sim' as const;
  readonly instanceId: string;
  private readonly cloud: SimCloud;
  private readonly clock: SimClock;
  private readonly realism: SimRealism;
  private readonly calls: SimCalls;
  private readonly lifecycle: SimInterfaceLifecycle;
  private readonly reclaimer: LeakReclaimer;

  constructor(opts: SimProviderOptions) {
    this.cloud = opts.cloud;
    this.instanceId = opts.instanceId;
    this.clock = opts.clock;
    const latency = resolveLatency(opts.latency);
    this.realism = new SimRealism(latency, opts.clock, opts.seed ?? 1);
    this.calls = new SimCalls({
      cloud: opts.cloud,
      clock: opts.clock,
      latency,
      realism: this.realism,
      faults: opts.faults,
      onMutate: opts.onMutate,
    });
    this.reclaimer = new LeakReclaimer({
      clock: opts.clock,
      ...(opts.leakGraceMs !== undefined ? { graceMs: opts.leakGraceMs } : {}),
      listDetached: () =>
        this.calls.call('DescribeNetworkInterfaces', () =>
          this.cloud
            .describeInterfaces({ tags: { [TAG_INSTANCE_ID]: this.instanceId }, status: ['available'] })
            .map((n) => ({ id: n.id, createdAt: taggedCreatedAt(n.tags) })),
        ),
      remove: (id) => this.deleteInterface(id),
    });
    this.lifecycle = new SimInterfaceLifecycle({
      cloud: opts.cloud,
      clock: opts.clock,
      realism: this.realism,
      calls: this.calls,
      instanceId: opts.instanceId,
      abandon: (id) => this.reclaimer.abandon(id),
    });
  }

  /** Calls made so far, per EC2 action, including those that failed. */
  callCounts(): Record<string, number> {
    return this.calls.callCounts();
  }

  totalCalls(): number {
    return this.calls.totalCalls();
  }

  resetCallCounts(): void {
    this.calls.resetCallCounts();
  }

  async describeNode(): Promise<NodeInventory> {
    // One DescribeInstances returns the instance with its interfaces, addresses and prefixes.
    return this.calls.call('DescribeInstances', () => {
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
    return this.calls.call('DescribeInstanceTypes', () => {
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
    return this.calls.call('DescribeSubnets', () => this.cloud.describeSubnets(filter));
  }

  async describeSubnetAllocations(subnetId: string): Promise<SubnetAllocations> {
    // EC2 has no such call; an AWS provider pages DescribeNetworkInterfaces filtered by subnet-id.
    return this.calls.call('DescribeNetworkInterfaces', () => this.cloud.subnetAllocations(subnetId));
  }

  async createInterface(req: CreateInterfaceRequest): Promise<NetworkInterface> {
    const inst = this.cloud.getInstance(this.instanceId);
    // Checked up front, like the VPC CNI's hasRoomForEni, so a full node costs no calls.
    const limits = checkRoomForInterface(this.cloud, inst);
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
      checkInitialRequest(this.cloud, initial, limits);
      if (initial.kind === 'ip') opts.secondaryIps = { count: initial.count };
      else opts.prefixes = { count: initial.count };
    }

    return this.reclaimer.creating(() => this.lifecycle.createAndAttach(opts));
  }

  /** Deletes what earlier runs and failed undos left detached; see {@link LeakReclaimer}. */
  reclaimLeakedInterfaces(): Promise<ReclaimReport> {
    return this.reclaimer.reclaim();
  }

  deleteInterface(interfaceId: string): Promise<void> {
    return this.lifecycle.deleteInterface(interfaceId);
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
    const added = await this.calls.byId(op, interfaceId, () =>
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
    await this.calls.byId('UnassignPrivateIpAddresses', interfaceId, () => {
      // Re-read at apply time: other calls may have changed the interface during the latency.
      const p = this.present(interfaceId, blocks);
      if (!p) return;
      if (p.ips.length > 0) this.cloud.unassignPrivateIps(interfaceId, p.ips);
      if (p.prefixes.length > 0) this.cloud.unassignPrefixes(interfaceId, p.prefixes);
    });
  }

  /** The blocks of `blocks` still on the interface, or undefined when none are (or the interface is gone). */
  private present(interfaceId: string, blocks: AddressBlock[]): { ips: string[]; prefixes: string[] } | undefined {
    const nic = this.calls.peek(interfaceId);
    if (!nic) return undefined;
    const ownIps = new Set(nic.privateIps.map((ip) => `${ip}/32`));
    const ownPrefixes = new Set(nic.prefixes);
    const ips = blocks.filter((b) => b.kind === 'ip' && ownIps.has(b.cidr)).map((b) => b.cidr);
    const prefixes = blocks.filter((b) => b.kind === 'prefix' && ownPrefixes.has(b.cidr)).map((b) => b.cidr);
    return ips.length + prefixes.length > 0 ? { ips, prefixes } : undefined;
  }
}
