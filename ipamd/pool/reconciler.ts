/**
 * @module pool reconciler
 * Keeps the node's pool at its targets: prepare, then execute. Each tick:
 * snapshot the datastore, ask the policy for targets, prepare the plan
 * (prepare-plan.ts, pure, with the prefix fallback's state as input), then
 * execute its actions one by one, one provider call each, through the
 * CloudCaller. A failure goes to `classifyFailure` (pure), and the outcome is
 * applied to the state held here (growth block, fallback, resync due); the
 * executor decides nothing itself. Ticks run on a timer and immediately when
 * demand appears (an ADD found nothing free).
 *
 * Safety rules that live here rather than in the planner, because they need
 * the datastore at execution time: a block is removed from the datastore
 * before it is given back (so no ADD can take it meanwhile), and put back if
 * the cloud call fails; an interface is deleted only if it is still empty.
 */
import type { SubnetSelector } from '../../providers/pod-subnets.js';
import type { CloudProvider, NetworkInterface, NodeInventory } from '../../providers/types.js';
import { CloudError, IpamError } from '../../providers/errors.js';
import type { CloudCaller } from '../cloud/cloud-caller.js';
import type { WarmTargets } from '../config.js';
import type { Datastore, SyncReport } from '../datastore/datastore.js';
import type { PoolSnapshot } from '../datastore/types.js';
import type { Clock } from '../util/clock.js';
import type { PlanContext, PoolAction, PoolLimits, PoolPlan } from './planner.js';
import { classifyFailure, type FailureOutcome, type NoPrefixIn } from './classify-failure.js';
import { withExpectedDemand } from './demand.js';
import { noPrefixLeftStep, type GrowthStep } from './growth-step.js';
import { placeInterface, type CreateInterfaceAction } from './place-interface.js';
import type { PoolPolicy } from './policy.js';
import { PrefixFallback } from './prefix-fallback.js';
import { preparePlan, type PlanInput } from './prepare-plan.js';

export interface ReconcilerEvents {
  onPlan?(plan: PoolPlan, s: PoolSnapshot): void;
  onActionError?(action: PoolAction, err: unknown): void;
  /**
   * `code` is the typed error code (CLOUD_SUBNET_FULL...), the same on every cloud; `cloudCode` the cloud's own
   * for the refusal behind it, or `code` again when the cloud gave none (never a code borrowed from another cloud).
   */
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
    const planned = withExpectedDemand(s, this.o.expectedDemand?.() ?? 0);
    return preparePlan(this.planInput(planned, this.lastTargets)).plan;
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

  /** One pass: resync if due, prepare the plan (pure), execute it. */
  async tick(): Promise<PoolPlan> {
    this.stats.ticks++;
    const now = this.o.clock.now();
    if (now - this.lastResyncAt >= this.o.resyncIntervalMs) await this.resync();
    const s = withExpectedDemand(
      this.o.datastore.snapshot(this.o.clock.now(), this.o.waiting()),
      this.o.expectedDemand?.() ?? 0,
    );
    this.o.policy.observeTick?.(s);
    const targets = this.o.policy.targets(s);
    this.lastTargets = targets;
    const { plan, step } = preparePlan(this.planInput(s, targets));
    if (step) this.applyStep(step, s.now);
    this.lastPlan = plan;
    this.o.events?.onPlan?.(plan, s);
    for (const action of plan.actions) {
      if (this.growthPaused && (action.kind === 'assign' || action.kind === 'createInterface')) continue;
      if (!(await this.attempt(action))) break;
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

  private planInput(s: PoolSnapshot, targets: WarmTargets): PlanInput {
    const { limits, datastore } = this.o;
    const fallback = this.prefixFallback.view(s.now);
    return { snapshot: s, targets, limits, ctx: this.ctx, fallback, fallbackIps: datastore.fallbackIps };
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

  private async execute(a: PoolAction): Promise<void> {
    const { datastore, provider, caller, clock } = this.o;
    switch (a.kind) {
      case 'assign': {
        const started = clock.now();
        const blocks = await caller.call('assignAddresses', () =>
          provider.assignAddresses(a.interfaceId, { kind: a.blockKind, count: a.count }),
        );
        this.o.policy.observeGrowLatency?.('assign', clock.now() - started);
        this.prefixObtained(a.blockKind);
        datastore.addBlocks(a.interfaceId, blocks);
        this.ctx.lastGrowAt = clock.now();
        this.o.log?.info({ interfaceId: a.interfaceId, blocks: blocks.map((b) => b.cidr) }, 'pool grew');
        this.o.events?.onPoolChanged?.();
        return;
      }
      case 'createInterface': {
        const c = a.subnet;
        if (!c) throw new IpamError('INTERNAL', 'createInterface executed before it was placed in a subnet');
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

  /**
   * Executes one planned action, one provider call at a time. A failure is classified and its outcome applied;
   * a new interface that found no room moves on to its next candidate subnet (bounded by the candidates).
   * False: the rest of the plan is dropped (the next tick plans from what is true then).
   */
  private async attempt(planned: PoolAction): Promise<boolean> {
    let action = planned;
    for (;;) {
      try {
        if (action.kind === 'createInterface' && !action.subnet) action = await this.place(action);
        await this.execute(action);
        this.stats.actions++;
        return true;
      } catch (err) {
        const outcome = classifyFailure(action, err);
        if (outcome.kind === 'tryNextSubnet') {
          this.recordNoPrefix(outcome.noPrefixIn);
          action = outcome.next;
          continue;
        }
        this.stats.errors++;
        this.o.events?.onActionError?.(planned, err);
        this.apply(outcome);
        const code = IpamError.is(err) ? err.code : 'INTERNAL';
        const cloudCode = CloudError.isCloud(err) ? err.cloudCode : code;
        this.o.log?.warn({ action: planned, code, cloudCode, err: (err as Error).message }, 'pool action failed');
        return false;
      }
    }
  }

  /** Reads the subnet candidates now (a changed Pod subnet config applies to the next interface) and places `a`. */
  private async place(a: CreateInterfaceAction): Promise<CreateInterfaceAction> {
    const { datastore, provider, clock } = this.o;
    const primary = datastore.interfaceList().find((i) => i.deviceIndex === 0);
    const candidates = this.o.selectSubnets
      ? await this.o.selectSubnets(primary)
      : primary
        ? [{ subnetId: primary.subnetId }]
        : [];
    const placed = placeInterface(a, candidates, this.prefixFallback.view(clock.now()), provider.name);
    if (!placed.ok) throw placed.error;
    return placed.action;
  }

  private apply(outcome: FailureOutcome): void {
    const now = this.o.clock.now();
    switch (outcome.kind) {
      case 'retryLater':
      case 'tryNextSubnet':
        return;
      case 'resyncFirst':
        this.lastResyncAt = -Infinity;
        return;
      case 'blockGrowth':
        this.applyStep(outcome, now);
        return;
      case 'tryOtherInterfaces': {
        const subnetId = this.o.datastore.interfaceById(outcome.interfaceId)?.subnetId;
        if (subnetId) this.recordNoPrefix({ subnetId, cloudCode: outcome.cloudCode });
        this.trigger();
        return;
      }
      case 'noPrefixLeft': {
        this.recordNoPrefix(outcome.noPrefixIn);
        const step = noPrefixLeftStep(this.prefixFallback.enabled, outcome.cloudCode, outcome.detail);
        this.applyStep(step, now);
        if (step.kind === 'enterIpMode') this.trigger();
        return;
      }
    }
  }

  private recordNoPrefix(r: NoPrefixIn | undefined): void {
    if (r) this.prefixFallback.recordShortage([r.subnetId], this.o.clock.now(), r.cloudCode);
  }

  /** Makes the growth state change a plan or a failure asked for. */
  private applyStep(step: GrowthStep, now: number): void {
    if (step.kind === 'blockGrowth') {
      this.ctx.growthBlockedUntil = now + this.o.subnetFullBackoffMs;
      this.ctx.growthBlockedReason = step.reason;
      this.o.events?.onGrowthBlocked?.(step.reason, step.cloudCode, this.ctx.growthBlockedUntil, step.code);
      this.o.events?.onPoolChanged?.(); // waiters may now fail fast instead of waiting out their timeout
      return;
    }
    this.prefixFallback.enterIpMode(now);
    this.o.datastore.fallbackIps = true;
    this.o.log?.warn(
      { until: this.prefixFallback.ipModeEndsAt, reason: step.reason },
      'no free prefix block in any candidate subnet: growing with secondary IPs (PREFIX_FALLBACK_TO_IPS)',
    );
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
