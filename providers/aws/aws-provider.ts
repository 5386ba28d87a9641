/**
 * @module aws provider
 * {@link AwsProvider}: the {@link CloudProvider} of one EC2 instance, over
 * `@aws-sdk/client-ec2` and IMDSv2.
 *
 * IMDS is for discovery (who am I, my primary interface, my groups) and for
 * waiting until a new ENI is visible to the node. EC2 is the authority for
 * everything ipamd might remove: `describeNode` reads the instance's ENIs
 * with DescribeNetworkInterfaces, never from IMDS, because IMDS lags and a
 * stale IMDS after a reboot made the VPC CNI drop in-use ENIs
 * (amazon-vpc-cni-k8s#1967). When IMDS and EC2 disagree the provider logs
 * it and counts it ({@link AwsProvider.stats}), and trusts EC2.
 *
 * No Describe storm: ipamd resyncs every minute on every node, so
 * describeNode first reads the node's addresses from IMDS (local, free).
 * When IMDS shows exactly what it showed at the last EC2 read, that read is
 * still the truth and is served again; EC2 is asked when IMDS differs, after
 * any mutation of ours, and at least every `ec2ResyncMs` (default 5 min).
 * A stale IMDS can only delay noticing a change, never remove anything.
 *
 * Interfaces this node left detached (a crash between create and attach, an
 * undo that failed) are deleted by {@link AwsProvider.reclaimLeakedInterfaces}:
 * one DescribeNetworkInterfaces at start, none later unless something is due.
 *
 * ENIs ipamd must leave alone (trunk, EFA, tag `node.k8s.amazonaws.com/no_manage=true`, and with
 * MANAGE_UNTAGGED_ENI=false those not tagged for this instance) come back with `excluded` set
 * (eni-exclusion.ts, the VPC CNI's rule), and no path here deletes one. A tag changed by hand shows
 * at the next EC2 read (at most `ec2ResyncMs` later while IMDS is unchanged).
 *
 * EC2 is eventually consistent: a call naming an ENI this provider created
 * or changed moments ago may answer NotFound although it exists. Every such
 * by-id call retries for up to `visibilityWaitMs` (visibility.ts) before a
 * NotFound counts as "gone", so an unassign right after an assign is not
 * taken as done.
 *
 * Calls per operation: describeNode 0 while IMDS is unchanged, else 1 (+1 DescribeSubnets per new subnet,
 * cached); create 5 (DescribeInstances, Create, Attach, Modify, IMDS polls
 * aside); delete 3; assign/unassign 1. Every Describe is filtered or paged where EC2 allows, so it draws
 * on EC2's larger non-mutating bucket, except those naming ids (whose NotFound means something).
 *
 * Multi-card types (p4d.24xlarge: 4 cards × 15 ENIs): limits are the default card's (the table and
 * DescribeInstanceTypes' `NetworkCards`), and ipamd attaches to, counts and reads only card 0.
 */
import {
  AssignPrivateIpAddressesCommand,
  DescribeSubnetsCommand,
  UnassignPrivateIpAddressesCommand,
  type Filter,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import type { Clock } from '../clock.js';
import { CloudError, InvalidCloudRequestError } from '../errors.js';
import { TAG_INSTANCE_ID, taggedCreatedAt } from '../interface-tags.js';
import { LeakReclaimer } from '../leak-reclaim.js';
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
import { primaryClusterTagWarning } from './cluster-tag.js';
import { blocksOf, reservedCidrs, tagMap, toNetworkInterface, toSubnet } from './convert.js';
import { PendingCreates } from './create-tokens.js';
import { Ec2Api } from './ec2-api.js';
import { exclusionReason, type ManagePolicy } from './eni-exclusion.js';
import { createAndAttach, deleteWithRetry, detachAndDelete } from './eni-lifecycle.js';
import type { LifecycleDeps, LifecycleLog } from './eni-lifecycle.js';
import { discoverInstance, type ImdsClient, type InstanceIdentity } from './imds-client.js';
import { imdsAddressView, imdsDisagreement } from './imds-view.js';
import { InstanceLimitsReader } from './instance-limits.js';
import { isNotFound, RecentEnis, untilVisible } from './visibility.js';

export interface AwsProviderOptions {
  ec2: EC2Client;
  imds: ImdsClient;
  clock: Clock;
  /** Skips IMDS discovery (tests, or a caller that already did it). */
  identity?: InstanceIdentity;
  clusterName?: string;
  /** How long a new ENI may take to appear in IMDS (default 30 s). */
  attachWaitMs?: number;
  /** Longest time an unchanged IMDS view may stand in for DescribeNetworkInterfaces (default 5 min). */
  ec2ResyncMs?: number;
  /** This run's own detached ENIs are left alone this long by the leak reclaim (default 5 min). */
  leakGraceMs?: number;
  /** MANAGE_UNTAGGED_ENI (default true): false excludes secondary ENIs not tagged for this instance. */
  manageUntaggedEni?: boolean;
  /** How long after changing an ENI a NotFound naming it is taken for EC2's lag and retried (default 15 s). */
  visibilityWaitMs?: number;
  log?: LifecycleLog & { info?(o: object, m?: string): void };
}

export class AwsProvider implements CloudProvider {
  readonly name = 'aws' as const;
  readonly api: Ec2Api;
  readonly identity: InstanceIdentity;
  /** How often IMDS was seen behind EC2 during describeNode (it is then ignored). */
  readonly stats = { imdsBehind: 0, imdsAhead: 0, servedFromImds: 0 };
  /** The last EC2-confirmed inventory and the IMDS view taken just before it. */
  private confirmed: { at: number; imdsView: string; inventory: NodeInventory } | undefined;
  private readonly d: LifecycleDeps;
  private readonly reclaimer: LeakReclaimer;
  private readonly subnetCidrs = new Map<string, string>();
  private readonly limits: InstanceLimitsReader;
  private readonly policy: ManagePolicy;
  private readonly recent: RecentEnis;
  /** The primary ENI's cluster tag is checked at the first EC2 read of the node (cluster-tag.ts). */
  private primaryTagChecked = false;

  private constructor(
    private readonly o: AwsProviderOptions,
    identity: InstanceIdentity,
  ) {
    this.api = new Ec2Api(o.ec2);
    this.limits = new InstanceLimitsReader(this.api);
    this.identity = identity;
    this.subnetCidrs.set(identity.subnetId, identity.subnetCidr);
    this.policy = { instanceId: identity.instanceId, manageUntaggedEni: o.manageUntaggedEni ?? true };
    this.recent = new RecentEnis(o.clock, o.visibilityWaitMs);
    this.reclaimer = new LeakReclaimer({
      clock: o.clock,
      ...(o.leakGraceMs !== undefined ? { graceMs: o.leakGraceMs } : {}),
      listDetached: async () => {
        const Filters = [
          { Name: `tag:${TAG_INSTANCE_ID}`, Values: [identity.instanceId] },
          { Name: 'status', Values: ['available'] },
        ];
        const nics = await this.api.describeInterfaces({ Filters });
        const found = nics.filter((n) => n.NetworkInterfaceId);
        // Tagged as ours, but a trunk/EFA type or a no_manage tag still means hands off (eni-exclusion.ts).
        return found.map((n) => {
          const excluded = exclusionReason(n);
          const createdAt = taggedCreatedAt(tagMap(n.TagSet));
          return { id: n.NetworkInterfaceId!, createdAt, ...(excluded ? { excluded } : {}) };
        });
      },
      remove: (id) => {
        // Just listed, so it exists: a NotFound from the Delete is EC2 not seeing it yet (a dead run made it
        // moments ago), retried like one of ours (visibility.ts), not taken for "already gone".
        this.recent.touch(id);
        return deleteWithRetry(this.d, id, 1);
      },
      ...(o.log ? { log: o.log } : {}),
    });
    this.d = {
      api: this.api,
      imds: o.imds,
      clock: o.clock,
      identity,
      attachWaitMs: o.attachWaitMs ?? 30_000,
      clusterName: o.clusterName,
      log: o.log,
      onAbandoned: (id) => this.reclaimer.abandon(id),
      policy: this.policy,
      recent: this.recent,
      pending: new PendingCreates(o.clock, o.leakGraceMs),
    };
  }

  /** Discovers the instance from IMDS (unless `identity` is given) and returns a ready provider. */
  static async create(o: AwsProviderOptions): Promise<AwsProvider> {
    return new AwsProvider(o, o.identity ?? (await discoverInstance(o.imds)));
  }

  /** The first EC2 read of the node in this process has been made. */
  private startRead = false;

  async describeNode(): Promise<NodeInventory> {
    const imdsView = await imdsAddressView(this.o.imds);
    const c = this.confirmed;
    if (
      c &&
      imdsView !== undefined &&
      imdsView === c.imdsView &&
      this.o.clock.now() - c.at < (this.o.ec2ResyncMs ?? 300_000)
    ) {
      this.stats.servedFromImds++;
      return structuredClone(c.inventory);
    }
    const inventory = await this.describeNodeFromEc2();
    this.confirmed =
      imdsView === undefined ? undefined : { at: this.o.clock.now(), imdsView, inventory: structuredClone(inventory) };
    return inventory;
  }

  private async describeNodeFromEc2(): Promise<NodeInventory> {
    const id = this.identity;
    const Filters = [{ Name: 'attachment.instance-id', Values: [id.instanceId] }];
    const listed = await this.api.describeInterfaces({ Filters });
    const attached = listed.filter((n) => n.Attachment?.InstanceId === id.instanceId);
    // ipamd manages network card 0 only; ENIs on other cards (EFA on p4d, say) are the instance's, not ours.
    const nics = attached.filter((n) => (n.Attachment?.NetworkCardIndex ?? 0) === 0);
    if (!this.startRead) {
      // A restart: the last run may have changed these ENIs moments ago, and EC2 can answer a by-id call about
      // them with NotFound for seconds after (eventual consistency). Just listed, so they exist: a NotFound
      // naming one is retried (visibility.ts), never taken for "gone" (an unassign would leave its address).
      for (const n of nics) if (n.NetworkInterfaceId) this.recent.touch(n.NetworkInterfaceId);
      this.startRead = true;
    }
    await this.learnSubnets(nics.map((n) => n.SubnetId ?? ''));
    const interfaces = nics
      .map((n) => {
        const iface = toNetworkInterface(n, this.subnetCidrs.get(n.SubnetId!) ?? '');
        const excluded = exclusionReason(n, this.policy);
        return excluded ? { ...iface, excluded } : iface;
      })
      .sort((a, b) => a.deviceIndex - b.deviceIndex);
    const untagged = this.primaryTagChecked ? undefined : primaryClusterTagWarning(this.o.clusterName, interfaces);
    this.primaryTagChecked = true;
    if (untagged) this.o.log?.warn(untagged.fields, untagged.message);
    const otherCards = attached.filter((n) => !nics.includes(n)).map((n) => n.MacAddress ?? '');
    const gap = await imdsDisagreement(this.o.imds, interfaces, otherCards);
    if (gap.behind.length) this.stats.imdsBehind++;
    if (gap.ahead.length) this.stats.imdsAhead++;
    if (gap.behind.length || gap.ahead.length) {
      this.o.log?.warn(
        { notInImds: gap.behind, onlyInImds: gap.ahead },
        'instance metadata disagrees with EC2 (IMDS lags); trusting EC2, removing nothing because of IMDS',
      );
    }
    return {
      instanceId: id.instanceId,
      instanceType: id.instanceType,
      zone: id.zone,
      vpcId: id.vpcId,
      vpcCidrs: [...id.vpcCidrs],
      interfaces,
    };
  }

  async getLimits(instanceType: string): Promise<InstanceLimits> {
    return this.limits.get(instanceType);
  }

  async listSubnets(filter: SubnetFilter = {}): Promise<Subnet[]> {
    const Filters: Filter[] = [];
    if (filter.vpcId) Filters.push({ Name: 'vpc-id', Values: [filter.vpcId] });
    if (filter.zone) Filters.push({ Name: 'availability-zone', Values: [filter.zone] });
    for (const [k, v] of Object.entries(filter.tags ?? {})) Filters.push({ Name: `tag:${k}`, Values: [v] });
    const out = await this.api.call('DescribeSubnets', (c) =>
      c.send(
        new DescribeSubnetsCommand({
          ...(filter.ids?.length ? { SubnetIds: filter.ids } : {}),
          ...(Filters.length ? { Filters } : {}),
        }),
      ),
    );
    const subnets = (out.Subnets ?? []).map(toSubnet);
    for (const s of subnets) this.subnetCidrs.set(s.id, s.cidr);
    return subnets;
  }

  async createInterface(req: CreateInterfaceRequest): Promise<NetworkInterface> {
    this.confirmed = undefined; // our own change: the next describeNode asks EC2
    const limits = await this.getLimits(this.identity.instanceType);
    await this.learnSubnets([req.subnetId]);
    const cidr = this.subnetCidrs.get(req.subnetId) ?? '';
    return this.reclaimer.creating(() => createAndAttach(this.d, limits, cidr, req));
  }

  /** Deletes the ENIs this node left detached; see providers/leak-reclaim.ts. */
  async reclaimLeakedInterfaces(): Promise<ReclaimReport> {
    // Only detached ENIs are deleted, never in the node's inventory: the IMDS-served resync stays valid.
    return this.reclaimer.reclaim();
  }

  async deleteInterface(interfaceId: string): Promise<void> {
    this.confirmed = undefined; // our own change: the next describeNode asks EC2
    await detachAndDelete(this.d, interfaceId);
  }

  async assignAddresses(interfaceId: string, req: AssignRequest): Promise<AddressBlock[]> {
    this.confirmed = undefined; // our own change: the next describeNode asks EC2
    const op = 'AssignPrivateIpAddresses';
    if ((req.count === undefined) === (req.cidrs === undefined)) {
      throw new InvalidCloudRequestError({
        provider: 'aws',
        operation: op,
        cloudCode: 'InvalidParameterCombination',
        message: 'give exactly one of count and cidrs',
      });
    }
    if (req.count !== undefined && (!Number.isInteger(req.count) || req.count < 0)) {
      throw new InvalidCloudRequestError({
        provider: 'aws',
        operation: op,
        cloudCode: 'InvalidParameterValue',
        message: `count must be a non-negative integer, got ${req.count}`,
      });
    }
    if (req.count === 0 || req.cidrs?.length === 0) return [];
    const ip = req.kind === 'ip';
    const input = {
      NetworkInterfaceId: interfaceId,
      ...(ip && req.count !== undefined ? { SecondaryPrivateIpAddressCount: req.count } : {}),
      ...(ip && req.cidrs ? { PrivateIpAddresses: req.cidrs.map((c) => c.replace(/\/32$/, '')) } : {}),
      ...(!ip && req.count !== undefined ? { Ipv4PrefixCount: req.count } : {}),
      ...(!ip && req.cidrs ? { Ipv4Prefixes: req.cidrs } : {}),
    };
    const cmd = new AssignPrivateIpAddressesCommand(input);
    const send = () => this.api.call(op, (c) => c.send(cmd), { addresses: req.kind });
    const out = await this.byId(interfaceId, send);
    this.recent.touch(interfaceId);
    if (ip)
      return (out.AssignedPrivateIpAddresses ?? []).map((a) => ({ cidr: `${a.PrivateIpAddress}/32`, kind: 'ip' }));
    return (out.AssignedIpv4Prefixes ?? []).map((p) => ({ cidr: p.Ipv4Prefix!, kind: 'prefix' }));
  }

  async unassignAddresses(interfaceId: string, blocks: AddressBlock[]): Promise<void> {
    this.confirmed = undefined; // our own change: the next describeNode asks EC2
    if (blocks.length === 0) return;
    try {
      await this.unassign(interfaceId, blocks);
    } catch (err) {
      if (!CloudError.isCloud(err)) throw err;
      // The interface is gone, and its addresses with it (a recent one was retried first: see byId).
      if (err.code === 'CLOUD_NOT_FOUND') return;
      if (err.code !== 'CLOUD_INVALID') throw err;
      // Some blocks are already gone (EC2 refuses the whole call): retry with those still there.
      const read = () => this.api.describeInterfaces({ NetworkInterfaceIds: [interfaceId] });
      const [nic] = await this.byId(interfaceId, read).catch((e: unknown) => {
        if (isNotFound(e)) return [];
        throw e;
      });
      if (!nic) return;
      const present = new Set(blocksOf(nic).map((b) => b.cidr));
      const still = blocks.filter((b) => present.has(b.cidr));
      if (still.length === 0) return;
      if (still.length === blocks.length) throw err; // nothing was missing: the error is real
      await this.unassign(interfaceId, still);
    }
  }

  async describeSubnetAllocations(subnetId: string): Promise<SubnetAllocations> {
    const [subnet] = await this.listSubnets({ ids: [subnetId] });
    if (!subnet)
      throw new InvalidCloudRequestError({
        provider: 'aws',
        operation: 'DescribeSubnets',
        cloudCode: 'InvalidSubnetID.NotFound',
        message: `subnet ${subnetId} not found`,
      });
    const nics = await this.api.describeInterfaces({ Filters: [{ Name: 'subnet-id', Values: [subnetId] }] });
    const used = reservedCidrs(subnet.cidr);
    for (const n of nics) {
      if (n.PrivateIpAddress) used.push(`${n.PrivateIpAddress}/32`);
      used.push(...blocksOf(n).map((b) => b.cidr));
    }
    return { subnet, used };
  }

  async close(): Promise<void> {
    this.o.ec2.destroy();
  }

  // ---- helpers --------------------------------------------------------------

  private async unassign(interfaceId: string, blocks: AddressBlock[]): Promise<void> {
    const ips = blocks.filter((b) => b.kind === 'ip').map((b) => b.cidr.replace(/\/32$/, ''));
    const prefixes = blocks.filter((b) => b.kind === 'prefix').map((b) => b.cidr);
    const input = {
      NetworkInterfaceId: interfaceId,
      ...(ips.length ? { PrivateIpAddresses: ips } : {}),
      ...(prefixes.length ? { Ipv4Prefixes: prefixes } : {}),
    };
    const cmd = new UnassignPrivateIpAddressesCommand(input);
    const send = () => this.api.call('UnassignPrivateIpAddresses', (c) => c.send(cmd));
    await this.byId(interfaceId, send);
  }

  /** A call naming `interfaceId`, retried while EC2 may not see an ENI we changed moments ago. */
  private byId<T>(interfaceId: string, fn: () => Promise<T>): Promise<T> {
    return untilVisible(this.o.clock, this.recent, interfaceId, fn);
  }

  /** Subnet CIDRs never change, so one DescribeSubnets per subnet ever seen. */
  private async learnSubnets(ids: string[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => id && !this.subnetCidrs.has(id));
    if (missing.length > 0) await this.listSubnets({ ids: missing });
  }
}
