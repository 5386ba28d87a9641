/**
 * @module pool reconciler
 * Keeps the node's pool at its targets. Each tick: snapshot the datastore,
 * ask the policy for targets, ask the planner for actions, execute them one by
 * one through the CloudCaller, and record the outcome. Ticks run on a timer
 * and immediately when demand appears (an ADD found nothing free).
 *
 * Safety rules that live here rather than in the planner, because they need
 * the datastore at execution time: a block is removed from the datastore
 * before it is given back (so no ADD can take it meanwhile), and put back if
 * the cloud call fails; an interface is deleted only if it is still empty.
 */
import type { SubnetSelector } from '../../providers/pod-subnets.js';
import type { CloudProvider, NetworkInterface, NodeInventory } from '../../providers/types.js';
import { CloudError, IpamError, NoPrefixBlockError } from '../../providers/errors.js';
import type { CloudCaller } from '../cloud/cloud-caller.js';
import type { WarmTargets } from '../config.js';
import type { Datastore, SyncReport } from '../datastore/datastore.js';
import type { PoolSnapshot } from '../datastore/types.js';
import type { Clock } from '../util/clock.js';
import { planPool, type PlanContext, type PoolAction, type PoolLimits, type PoolPlan } from './planner.js';
import { withExpectedDemand } from './demand.js';
import { hasFreeSlot } from './capacity.js';
import type { PoolPolicy } from './policy.js';
import { PrefixFallback } from './prefix-fallback.js';

export interface ReconcilerEvents {
  onPlan?(plan: PoolPlan, s: PoolSnapshot): void;
  onActionError?(action: PoolAction, err: unknown): void;
  /** `code` is the typed error code (CLOUD_SUBNET_FULL...), the same on every cloud; `cloudCode` the cloud's own. */
  onGrowthBlocked?(reason: string, cloudCode: string, untilMs: number, code?: string): void;
  onPoolChanged?(): void;
  /** After each resync, with what the cloud said about the node (VPC CIDR blocks can be added at any time). */
  onSync?(report: SyncReport, node?: NodeInventory): void;
  /** An interface this reconciler created is attached and in the datastore (the host link may not exist yet). */
  onInterfaceAttached?(nic: NetworkInterface): void;
  /** An interface this reconciler deleted is gone from the cloud and the datastore. */
  onInterfaceDeleted?(nic: NetworkInterface): void;
}

/** Ordered subnet candidates for a new interface: providers/pod-subnets.ts builds it. */
export type { SubnetSelector } from '../../providers/pod-subnets.js';

export interface ReconcilerOptions {
  datastore: Datastore;
  provider: CloudProvider;
  caller: CloudCaller;
  clock: Clock;
  policy: PoolPolicy;
  limits: PoolLimits;
  intervalMs: number;
  resyncIntervalMs: number;
  shrinkIntervalMs: number;
  subnetFullBackoffMs: number;
  minInterfaceLifetimeMs?: number;
  /** Tags for interfaces ipamd creates. */
  interfaceTags?: () => Record<string, string>;
  selectSubnets?: SubnetSelector;
  /** ADDs currently waiting (demand). */
  waiting: () => number;
  /** Pods known to be coming (Kubernetes Pod watch) that have no address yet; planned as demand. */
  expectedDemand?: () => number;
  /** PREFIX_FALLBACK_TO_IPS: grow with secondary IPs when no subnet has a free prefix block (prefix-fallback.ts). */
  prefixFallbackToIps?: boolean;
  events?: ReconcilerEvents;
  log?: { info(o: object, m?: string): void; warn(o: object, m?: string): void; error(o: object, m?: string): void };
}

/** Blocks we just released are not re-added from a stale cloud read for this long. */
const RELEASE_QUARANTINE_MS = 60_000;

export class PoolReconciler {
  private ctx: PlanContext;
  private lastPlan: PoolPlan | undefined;
  private lastTargets: WarmTargets | undefined;
  private lastResyncAt = -Infinity;
  private readonly recentlyReleased = new Map<string, number>();
  private wake: (() => void) | undefined;
  private triggered = false;
  private growthPaused = false;
  readonly stats = { ticks: 0, actions: 0, errors: 0 };
  /** Subnets without free prefix blocks, and the IP-fallback window (prefix mode only). */
  readonly prefixFallback: PrefixFallback;

  constructor(private readonly o: ReconcilerOptions) {
    this.ctx = {
      shrinkIntervalMs: o.shrinkIntervalMs,
      minInterfaceLifetimeMs: o.minInterfaceLifetimeMs ?? 60_000,
    };
    this.prefixFallback = new PrefixFallback(o.prefixFallbackToIps ?? false, o.subnetFullBackoffMs);
  }

  get plan(): PoolPlan | undefined {
    return this.lastPlan;
  }

  /**
   * What the planner makes of `s` now, with the targets of the last tick: for display only (the status line),
   * so its numbers and its reason come from one snapshot. Pure: no policy call, nothing executed.
   */
  preview(s: PoolSnapshot): PoolPlan | undefined {
    if (!this.lastTargets) return undefined;
    return planPool(withExpectedDemand(s, this.o.expectedDemand?.() ?? 0), this.lastTargets, this.o.limits, this.ctx);
  }

  get growthBlocked(): { until: number; reason: string } | undefined {
    const until = this.ctx.growthBlockedUntil;
    return until !== undefined && until > this.o.clock.now()
      ? { until, reason: this.ctx.growthBlockedReason ?? '' }
      : undefined;
  }

  /** Stops growing (graceful shutdown): in-flight calls finish, no new ones start. */
  pauseGrowth(): void {
    this.growthPaused = true;
  }

  /** True once {@link pauseGrowth} ran: nothing will grow the pool again in this process. */
  get stopping(): boolean {
    return this.growthPaused;
  }

  /** Ask for a tick as soon as possible (demand appeared, a Pod left). */
  trigger(): void {
    this.triggered = true;
    this.wake?.();
  }

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.triggered = false;
      try {
        await this.tick();
      } catch (err) {
        this.stats.errors++;
        this.o.log?.error({ err }, 'pool tick failed');
      }
      if (!this.triggered) await this.idle(signal);
    }
  }

  /** One pass: resync if due, plan, execute. */
  async tick(): Promise<PoolPlan> {
    this.stats.ticks++;
    const now = this.o.clock.now();
    if (now - this.lastResyncAt >= this.o.resyncIntervalMs) await this.resync();
    const s = withExpectedDemand(
      this.o.datastore.snapshot(this.o.clock.now(), this.o.waiting()),
      this.o.expectedDemand?.() ?? 0,
    );
    const plan = this.planWithFallback(s);
    this.lastPlan = plan;
    this.o.events?.onPlan?.(plan, s);
    for (const action of plan.actions) {
      if (this.growthPaused && (action.kind === 'assign' || action.kind === 'createInterface')) continue;
      try {
        await this.execute(action);
        this.stats.actions++;
      } catch (err) {
        this.stats.errors++;
        this.o.events?.onActionError?.(action, err);
        this.handleError(action, err);
        break;
      }
    }
    return plan;
  }

  /** Re-reads the node from the cloud and folds it into the datastore. */
  async resync(): Promise<SyncReport> {
    const inv = await this.o.caller.call('describeNode', () => this.o.provider.describeNode());
    const now = this.o.clock.now();
    this.lastResyncAt = now;
    for (const [cidr, at] of this.recentlyReleased)
      if (now - at > RELEASE_QUARANTINE_MS) this.recentlyReleased.delete(cidr);
    const report = this.o.datastore.syncFromCloud(inv.interfaces, now, new Set(this.recentlyReleased.keys()));
    if (report.keptInUse.length) {
      this.o.log?.warn(
        { blocks: report.keptInUse },
        'cloud no longer reports blocks that Pods use; keeping them until confirmed and their Pods leave',
      );
    }
    if (report.addedBlocks.length || report.removedBlocks.length || report.addedInterfaces.length)
      this.o.events?.onPoolChanged?.();
    this.o.events?.onSync?.(report, inv);
    return report;
  }

  /**
   * planPool, steered in prefix mode by {@link PrefixFallback}: no prefix
   * requests on interfaces whose subnet just had no free block, and /32s
   * instead of prefixes inside an IP-fallback window. When the only
   * interfaces with room are in such subnets and no new interface can be
   * added, that is "no prefix left": fall back now, or pause growth.
   */
  private planWithFallback(s: PoolSnapshot): PoolPlan {
    const targets = this.o.policy.targets(s);
    this.lastTargets = targets;
    const fb = this.prefixFallback;
    if (s.mode !== 'prefix') return planPool(s, targets, this.o.limits, this.ctx);
    this.ctx.growKind = fb.growKind(s.now);
    const exhausted = fb.exhaustedSubnets(s.now);
    this.ctx.noGrowthOn = this.ctx.growKind
      ? undefined
      : new Set(s.interfaces.filter((i) => exhausted.has(i.subnetId)).map((i) => i.id));
    let plan = planPool(s, targets, this.o.limits, this.ctx);
    const grows = plan.actions.some((a) => a.kind === 'assign' || a.kind === 'createInterface');
    const skippedRoom = s.interfaces.some(
      (i) => i.usable && this.ctx.noGrowthOn?.has(i.id) && hasFreeSlot(i, this.o.limits),
    );
    if (plan.shortAddresses > 0 && !grows && skippedRoom && !this.growthBlocked) {
      if (
        this.noPrefixLeft(
          s.now,
          'every interface with room is in a subnet without free prefix blocks, and no interface can be added',
        )
      ) {
        this.ctx.growKind = 'ip';
        this.ctx.noGrowthOn = undefined;
        plan = planPool(s, targets, this.o.limits, this.ctx);
      }
    } else if (
      !this.ctx.growKind &&
      this.o.datastore.fallbackIps &&
      plan.shortAddresses > 0 &&
      !grows &&
      !this.growthBlocked
    ) {
      // The IP window is over but every slot holds a fallback /32: give one free /32 back to probe for a prefix.
      const i = s.interfaces.find((v) => v.usable && v.freeFallbackIps?.length && !this.ctx.noGrowthOn?.has(v.id));
      if (i) {
        plan = {
          ...plan,
          actions: [
            ...plan.actions,
            { kind: 'release', interfaceId: i.id, cidrs: [i.freeFallbackIps![0]!] },
            { kind: 'assign', interfaceId: i.id, blockKind: 'prefix', count: 1 },
          ],
          reason: `${plan.reason}; probing for a prefix block in place of a fallback /32`,
          summary: `${plan.summary}; probing for a prefix block in place of a fallback /32`,
        };
      }
    }
    return plan;
  }

  /** No prefix block anywhere: start the IP fallback (true), or pause growth when it is off (false). */
  private noPrefixLeft(now: number, reason: string): boolean {
    if (this.prefixFallback.enterIpMode(now)) {
      this.o.datastore.fallbackIps = true;
      this.o.log?.warn(
        { until: this.prefixFallback.ipModeEndsAt, reason },
        'no free prefix block in any candidate subnet: growing with secondary IPs (PREFIX_FALLBACK_TO_IPS)',
      );
      return true;
    }
    const why = `InsufficientCidrBlocks: no free prefix block in any candidate subnet (${reason})`;
    this.blockGrowth(now, 'InsufficientCidrBlocks', why, 'CLOUD_NO_PREFIX_BLOCK');
    return false;
  }

  /** A prefix was obtained: prefixes work again, the fallback /32s drain from now on. */
  private prefixObtained(kind: string): void {
    if (kind !== 'prefix' || this.o.datastore.mode !== 'prefix') return;
    if (this.o.datastore.fallbackIps)
      this.o.log?.info(
        {},
        'prefix blocks available again: ending the secondary-IP fallback; its addresses drain as their Pods leave',
      );
    this.prefixFallback.prefixGrew();
    this.o.datastore.fallbackIps = false;
  }

  private blockGrowth(now: number, cloudCode: string, reason: string, code: string): void {
    this.ctx.growthBlockedUntil = now + this.o.subnetFullBackoffMs;
    this.ctx.growthBlockedReason = reason;
    this.o.events?.onGrowthBlocked?.(reason, cloudCode, this.ctx.growthBlockedUntil, code);
    this.o.events?.onPoolChanged?.(); // waiters may now fail fast instead of waiting out their timeout
  }

  private async execute(a: PoolAction): Promise<void> {
    const { datastore, provider, caller, clock } = this.o;
    switch (a.kind) {
      case 'assign': {
        const started = clock.now();
        const blocks = await caller
          .call('assignAddresses', () => provider.assignAddresses(a.interfaceId, { kind: a.blockKind, count: a.count }))
          .catch((err: unknown) => {
            const subnetId = datastore.interfaceById(a.interfaceId)?.subnetId;
            if (a.blockKind === 'prefix' && subnetId && IpamError.is(err) && err.code === 'CLOUD_NO_PREFIX_BLOCK')
              this.prefixFallback.recordShortage([subnetId], clock.now());
            throw err;
          });
        this.o.policy.observeGrowLatency?.('assign', clock.now() - started);
        this.prefixObtained(a.blockKind);
        datastore.addBlocks(a.interfaceId, blocks);
        this.ctx.lastGrowAt = clock.now();
        this.o.log?.info({ interfaceId: a.interfaceId, blocks: blocks.map((b) => b.cidr) }, 'pool grew');
        this.o.events?.onPoolChanged?.();
        return;
      }
      case 'createInterface': {
        const primary = datastore.interfaceList().find((i) => i.deviceIndex === 0);
        const candidates = this.o.selectSubnets
          ? await this.o.selectSubnets(primary)
          : primary
            ? [{ subnetId: primary.subnetId }]
            : [];
        if (candidates.length === 0) throw new IpamError('INTERNAL', 'no subnet to create an interface in');
        const prefixGrowth = a.blockKind === 'prefix' && datastore.mode === 'prefix';
        const exhausted = prefixGrowth ? this.prefixFallback.exhaustedSubnets(clock.now()) : new Set<string>();
        const usableCandidates = candidates.filter((c) => !exhausted.has(c.subnetId));
        if (usableCandidates.length === 0) {
          throw new NoPrefixBlockError({
            provider: provider.name,
            operation: 'createInterface',
            cloudCode: 'InsufficientCidrBlocks',
            message: `no free prefix block in any candidate subnet (${candidates.map((c) => c.subnetId).join(', ')})`,
          });
        }
        let lastErr: unknown;
        for (const c of usableCandidates) {
          try {
            const started = clock.now();
            const nic = await caller.call('createInterface', () =>
              provider.createInterface({
                subnetId: c.subnetId,
                securityGroups: c.securityGroups,
                tags: this.o.interfaceTags?.(),
                initial: { kind: a.blockKind, count: a.count },
              }),
            );
            this.o.policy.observeGrowLatency?.('createInterface', clock.now() - started);
            this.prefixObtained(a.blockKind);
            datastore.upsertInterface(nic, clock.now());
            this.ctx.lastGrowAt = clock.now();
            this.o.log?.info(
              { interfaceId: nic.id, subnetId: c.subnetId, blocks: nic.blocks.length },
              'interface attached',
            );
            this.o.events?.onInterfaceAttached?.(nic);
            this.o.events?.onPoolChanged?.();
            return;
          } catch (err) {
            lastErr = err;
            if (prefixGrowth && IpamError.is(err) && err.code === 'CLOUD_NO_PREFIX_BLOCK')
              this.prefixFallback.recordShortage([c.subnetId], clock.now());
            // Only a full subnet is worth trying the next candidate for.
            if (!(IpamError.is(err) && (err.code === 'CLOUD_SUBNET_FULL' || err.code === 'CLOUD_NO_PREFIX_BLOCK')))
              throw err;
          }
        }
        throw lastErr;
      }
      case 'release': {
        const now = clock.now();
        const refused = datastore.removeBlocks(a.interfaceId, a.cidrs, now);
        const cidrs = a.cidrs.filter((c) => !refused.includes(c));
        if (cidrs.length === 0) return;
        const blocks = cidrs.map((cidr) => ({
          cidr,
          kind: (cidr.endsWith('/32') ? 'ip' : 'prefix') as 'ip' | 'prefix',
        }));
        try {
          await caller.call('unassignAddresses', () => provider.unassignAddresses(a.interfaceId, blocks));
        } catch (err) {
          datastore.addBlocks(a.interfaceId, blocks); // still ours in the cloud
          throw err;
        }
        for (const c of cidrs) this.recentlyReleased.set(c, clock.now());
        this.ctx.lastShrinkAt = clock.now();
        this.o.log?.info({ interfaceId: a.interfaceId, blocks: cidrs }, 'pool shrank');
        return;
      }
      case 'deleteInterface': {
        const nic = datastore.interfaceList().find((i) => i.id === a.interfaceId);
        if (!nic || !datastore.removeInterface(a.interfaceId, clock.now())) return;
        try {
          await caller.call('deleteInterface', () => provider.deleteInterface(a.interfaceId));
        } catch (err) {
          datastore.upsertInterface(nic, nic.createdAt);
          throw err;
        }
        for (const b of nic.blocks) this.recentlyReleased.set(b.cidr, clock.now());
        this.ctx.lastShrinkAt = clock.now();
        this.o.log?.info({ interfaceId: a.interfaceId }, 'interface deleted');
        this.o.events?.onInterfaceDeleted?.(nic);
        return;
      }
    }
  }

  private handleError(action: PoolAction, err: unknown): void {
    const now = this.o.clock.now();
    const code = IpamError.is(err) ? err.code : 'INTERNAL';
    const cloudCode = CloudError.isCloud(err) ? err.cloudCode : code;
    const growth = action.kind === 'assign' || action.kind === 'createInterface';
    const prefixGrowth = growth && action.blockKind === 'prefix' && this.o.datastore.mode === 'prefix';
    if (prefixGrowth && code === 'CLOUD_NO_PREFIX_BLOCK') {
      // The subnet is recorded as without prefixes. One interface refused: the next tick tries the
      // others, then a new interface in a sibling subnet; a new interface refused everywhere: fall back.
      if (action.kind === 'assign' || this.noPrefixLeft(now, (err as Error).message)) this.trigger();
    } else if (
      growth &&
      (code === 'CLOUD_SUBNET_FULL' || code === 'CLOUD_NO_PREFIX_BLOCK' || code === 'CLOUD_UNAUTHORIZED')
    ) {
      this.blockGrowth(now, cloudCode, `${cloudCode}: ${(err as Error).message}`, code);
    } else if (code === 'CLOUD_IP_LIMIT' || code === 'CLOUD_NIC_LIMIT' || code === 'CLOUD_NOT_FOUND') {
      // Our view is out of date (someone else attached or removed things): re-read before the next plan.
      this.lastResyncAt = -Infinity;
    }
    this.o.log?.warn({ action, code, cloudCode, err: (err as Error).message }, 'pool action failed');
  }

  private idle(signal: AbortSignal): Promise<void> {
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    return new Promise<void>((resolve) => {
      this.wake = () => ac.abort();
      this.o.clock.sleep(this.o.intervalMs, ac.signal).then(resolve, resolve);
    }).finally(() => {
      this.wake = undefined;
      signal.removeEventListener('abort', onAbort);
    });
  }
}
