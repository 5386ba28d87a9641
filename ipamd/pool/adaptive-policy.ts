/**
 * @module adaptive pool policy
 * `WARM_POOL_POLICY=adaptive`: keeps as many free addresses as the Pods this
 * node is likely to ask for while the cloud is still adding more, instead of
 * a fixed number (WARM_IP_TARGET) or a whole interface (WARM_ENI_TARGET).
 *
 * The warm target is the largest of three demands, clamped to
 * [WARM_POOL_FLOOR, WARM_POOL_CEILING]:
 * - rate: with ADDs arriving at λ (the faster of a 1-minute and a 15-minute
 *   decaying rate), one for the next ADD plus the (1 − ε) quantile of
 *   Poisson(λ·H) more during the refill horizon H;
 * - burst: real arrivals come in bursts (ReplicaSets, Jobs, rollouts), not
 *   Poisson: enough for all but 0.5% of the last 6 hours' ADDs, counting for
 *   each the ADDs inside one refill horizon before it;
 * - scheduled: the size of a CronJob-like burst predicted to start within the
 *   lead time, so a recurring burst is met without holding it all day (and
 *   its ADDs do not count as bursts). Design 'v1' only unless asked for: v2
 *   holds the day's largest burst anyway (measured: docs/tuning.md). *
 * The horizon comes from measured cloud latency: two assign calls (one in
 * flight, the next queued) while the node's interfaces have room; an
 * interface create plus an assign when they are nearly full, so the slow
 * create starts before the warm addresses run out. Interfaces the pool used
 * in the last hour stay attached even when empty (`keepInterfaces`), and the
 * first 10 minutes keep what the AWS default keeps, before there is history.
 *
 * Departures are observed too: they show in the explanation, and addresses in
 * cooldown are already excluded from "free" by the planner, so a churning
 * node grows to cover them (aws-vpc-cni.md §3.7's trap does not apply).
 * Tuned and checked with the simulator: docs/tuning.md, docs/benchmarks.md.
 */
import type { WarmTargets } from '../config.js';
import type { PoolSnapshot } from '../datastore/types.js';
import {
  ArrivalLog,
  DecayingRate,
  DEFAULT_RECURRING,
  LatencyEstimate,
  poissonQuantile,
  RecurringBursts,
  type RecurringBurstOptions,
} from './adaptive-signals.js';
import { BurstTracker, startupPrior } from './adaptive-reserve.js';
import { canAddInterface } from './capacity.js';
import type { PoolLimits } from './planner.js';
import type { PoolPolicy } from './policy.js';

export interface AdaptivePolicyOptions {
  /** WARM_POOL_FLOOR: never fewer free addresses than this. */
  floor: number;
  /** WARM_POOL_CEILING: never more than this. */
  ceiling: number;
  /** MINIMUM_IP_TARGET, still honoured as a floor on the addresses held. */
  minimumIps?: number;
  /** The node's limits once known (after init): shows when growth will need a new interface. */
  limits?: () => PoolLimits | undefined;
  /** The reconciler's period: targets are re-read at least this often, so predictions must lead by it. */
  reconcileIntervalMs?: number;
  /** How much ADD history the burst measure looks at. */
  burstMemoryMs?: number;
  /** Share of remembered ADDs the burst measure may leave waiting (they would have needed a refill). */
  burstShare?: number;
  /** After start, before there is history: keep what the AWS default keeps free for this long. */
  warmupMs?: number;
  /** How long an interface stays attached (possibly empty) after the pool last used it. */
  keepInterfaceMs?: number;
  /** Accepted chance that an ADD finds nothing ready, for Poisson-like arrivals. */
  missProbability?: number;
  /** Recurring-burst detection; `false` turns it off. Default: on for 'v1', off for 'v2' (see the constructor). */
  recurring?: RecurringBurstOptions | false;
  /** Assumed latencies until the first ones are measured. */
  priorAssignMs?: number;
  priorCreateMs?: number;
  /**
   * 'v2' (default, issue 17): the burst reserve is the largest burst of the last day (a sliding maximum, not a
   * quantile) and a start-up reserve decays over `priorDecayMs`; 'v1' is the issue-5 policy (a 0.5% quantile of
   * 6 hours, no start-up reserve after the warm-up), kept so the benchmark compares both in one run.
   */
  design?: 'v1' | 'v2';
  /** v2: after the warm-up, the start-up reserve falls from one interface of addresses to 0 over this long. */
  priorDecayMs?: number;
  /** v2: the refill window a burst is counted in, in assign latencies. */
  burstWindowAssigns?: number;
  /** v2: ADDs closer than this belong to one burst; while one is in progress the rest of it is asked for at once. */
  burstGapMs?: number;
  /** v2 study knob: while a burst is in progress ask for the rest of the largest ('total'), as many again, or both. */
  burstFollow?: 'total' | 'double' | 'both';
  /** v2: bursts are learnt from this long after start (default: the warm-up); earlier ADDs are the node's start. */
  learnAfterMs?: number;
  /** v2 study knob: count the ADDs a predicted recurring burst accounts for in the burst reserve too (default true). */
  burstCountsExpected?: boolean;
}

/** Everything the target was computed from; `explain()` prints it. */
export interface AdaptiveDecision {
  warm: number;
  minimum: number;
  /** Interfaces kept attached even if empty (the most the pool used within keepInterfaceMs). */
  keepInterfaces: number;
  rate: number;
  burst: number;
  scheduled: number;
  /** During the warm-up after start (no history yet): what the AWS default keeps free, else 0. */
  warmup: number;
  warmingUp: boolean;
  /** Addresses the existing interfaces can still take (Infinity when limits are unknown). */
  room: number;
  /** True when the horizon is an interface create (the interfaces are nearly full). */
  needsInterface: boolean;
  horizonMs: number;
  addsPerMin: { fast: number; slow: number };
  delsPerMin: number;
  assignMs: number;
  createMs: number;
  /** Periods of recurring bursts seen, and the next predicted burst if one is due. */
  recurring: { periodsMs: number[]; next?: { inMs: number; size: number; periodMs: number } };
}

const FAST_TAU_MS = 60_000;
const SLOW_TAU_MS = 15 * 60_000;
/** Keep an address ready only if an ADD within this long is more likely than the miss probability. */
const LOOKAHEAD_MS = 15 * 60_000;

export class AdaptivePolicy implements PoolPolicy {
  readonly name = 'adaptive';
  private readonly fast = new DecayingRate(FAST_TAU_MS);
  private readonly slow = new DecayingRate(SLOW_TAU_MS);
  private readonly dels = new DecayingRate(SLOW_TAU_MS);
  private readonly arrivals: ArrivalLog;
  private readonly recurring: RecurringBursts | undefined;
  private readonly assign: LatencyEstimate;
  private readonly create: LatencyEstimate;
  private readonly eps: number;
  private readonly intervalMs: number;
  private last: AdaptiveDecision | undefined;
  private lastAt: number | undefined;
  /** lastUsed[k] = last time the pool had addresses on at least k interfaces. */
  private readonly lastUsed: number[] = [];
  private readonly keepMs: number;
  private readonly share: number;
  private readonly warmupMs: number;
  private startedAt: number | undefined;
  private readonly v1: boolean;
  private readonly bursts: BurstTracker;
  private readonly priorDecayMs: number;
  private readonly windowAssigns: number;

  constructor(private readonly o: AdaptivePolicyOptions) {
    if (o.floor > o.ceiling) throw new RangeError(`adaptive policy: floor ${o.floor} is above ceiling ${o.ceiling}`);
    this.v1 = o.design === 'v1';
    this.bursts = new BurstTracker(o.burstMemoryMs ?? 24 * 60 * 60_000, o.burstGapMs ?? 2_000);
    this.priorDecayMs = this.v1 ? 0 : (o.priorDecayMs ?? 60 * 60_000);
    this.windowAssigns = o.burstWindowAssigns ?? 1.5;
    this.arrivals = new ArrivalLog(o.burstMemoryMs ?? 6 * 60 * 60_000);
    this.share = o.burstShare ?? 0.005;
    this.warmupMs = o.warmupMs ?? 10 * 60_000;
    // v2 holds the largest burst of the day, predicted ones included, so pre-warming for a predicted burst only
    // added idle: on the tuning traces (issue 17 round two) cron idle fell and its waits did not rise without it.
    // Predicting instead of holding (burstCountsExpected: false) made Pods wait where schedules fire together.
    const recurring = o.recurring ?? (this.v1 ? DEFAULT_RECURRING : false);
    this.recurring = recurring === false ? undefined : new RecurringBursts(recurring);
    this.assign = new LatencyEstimate(o.priorAssignMs ?? 1_000);
    this.create = new LatencyEstimate(o.priorCreateMs ?? 5_000);
    this.eps = o.missProbability ?? 0.002;
    this.intervalMs = o.reconcileIntervalMs ?? 5_000;
    this.keepMs = o.keepInterfaceMs ?? 60 * 60_000;
  }

  observeAdd(now: number): void {
    this.fast.record(now);
    this.slow.record(now);
    // An ADD a recurring burst accounts for is expected: it must not also raise the everyday target.
    const expected = this.recurring?.expectedAdd(now, this.leadMs()) ?? false;
    this.recurring?.record(now);
    // A node's first minutes (DaemonSets, the Pods waiting for it) are what the warm-up covers, not a burst to expect.
    // v2 counts the ADDs of predicted bursts too: schedules that fire together make bursts larger than predicted.
    const counted = !expected || (this.o.burstCountsExpected ?? true);
    if (!this.v1 && counted && now - (this.startedAt ?? now) >= (this.o.learnAfterMs ?? this.warmupMs))
      this.bursts.record(now, this.windowAssigns * this.assign.value);
    if (this.v1 && !expected) this.arrivals.record(now);
  }

  observeDel(now: number): void {
    this.dels.record(now);
  }

  observeGrowLatency(kind: 'assign' | 'createInterface', ms: number): void {
    (kind === 'assign' ? this.assign : this.create).observe(ms);
  }

  /** The reconciler plans from `s`: note the first run (the warm-up), the interfaces in use, the decision. */
  observeTick(s: PoolSnapshot): void {
    this.startedAt ??= s.now;
    const inUse = this.interfacesInUse(s);
    for (let k = 1; k <= inUse; k++) this.lastUsed[k] = s.now;
    this.last = this.decide(s);
    this.lastAt = s.now;
  }

  /** Pure: asking (GET /v1/pool, the publisher, the monitor) changes nothing the next answer depends on. */
  targets(s: PoolSnapshot): WarmTargets {
    const d = this.decide(s);
    return {
      warmInterfaces: 0,
      warmIps: d.warm,
      minimumIps: d.minimum,
      warmPrefixes: 0,
      keepInterfaces: d.keepInterfaces,
    };
  }

  /**
   * The whole computation, from what was observed. It only forgets history older than every window it reads,
   * which no answer depends on; the first run and the interfaces in use are noted by observeTick.
   */
  decide(s: PoolSnapshot): AdaptiveDecision {
    const now = s.now;
    const la = this.assign.value;
    const lc = this.create.value;
    const lambda = Math.max(this.fast.value(now), this.slow.value(now)); // ADDs per ms
    const room = this.room(s);
    // Refill horizon: one assign in flight and the next one queued behind it...
    let horizonMs = 2 * la;
    // ...or, when the interfaces are nearly full, an interface create: start it before the free addresses run out.
    // Only the steady rate decides this; remembered bursts are met by the interfaces kept attached.
    const rateForCreate =
      1 - Math.exp(-lambda * LOOKAHEAD_MS) > this.eps ? 1 + poissonQuantile(lambda * (lc + la), this.eps) : 0;
    const needsInterface = room < rateForCreate && this.canAddInterface(s);
    if (needsInterface) horizonMs = lc + la;
    // One ready for the next ADD (unless none is likely within the look-ahead), plus those arriving while it refills.
    const likely = 1 - Math.exp(-lambda * LOOKAHEAD_MS) > this.eps;
    const rate = likely ? 1 + poissonQuantile(lambda * horizonMs, this.eps) : 0;
    // A single ADD at a time is what the rate covers; a burst is two or more inside one refill.
    const b = this.v1 ? this.arrivals.burstQuantile(2 * la, now, this.share) : this.burstReserve(now);
    // v2: while ADDs are likely at all, two may come within one refill: the first pair after a quiet spell must not
    // wait either (nothing has been learnt from it yet), and one more address is cheap beside a whole interface.
    const burst = b >= 2 ? b : !this.v1 && likely ? 2 : 0;
    const due = this.recurring?.due(now, this.leadMs()) ?? [];
    const scheduled = due[0]?.size ?? 0;
    const age = now - (this.startedAt ?? now);
    const L = this.o.limits?.();
    // A new node gets its DaemonSets and pending Pods at once, before there is any history to size from: keep what
    // the AWS default would keep free (an interface's worth of IPs, or one prefix) until there is.
    // WARM_ENI_TARGET=1 keeps a whole free interface beside the partly used one: at start that is about one and a
    // half interfaces of free addresses, and the Pods waiting for a new node come at once (v1 kept one interface).
    const one = L ? (s.mode === 'prefix' ? s.blockSize : L.slotsPerInterface) : 0;
    const full = this.v1 || s.mode === 'prefix' ? one : Math.ceil(1.5 * one);
    const warmup = startupPrior(age, full, this.warmupMs, this.priorDecayMs);
    const warmingUp = warmup > 0 || age < this.warmupMs;
    const warm = Math.min(this.o.ceiling, Math.max(this.o.floor, rate, burst, scheduled, warmup));
    // MINIMUM_IP_TARGET keeps its meaning; at least 1 keeps the planner in IP-target mode even with floor 0.
    const minimum = Math.max(this.o.minimumIps ?? 0, warm === 0 ? 1 : 0);
    return {
      warm,
      minimum,
      keepInterfaces: this.keepInterfaces(s),
      rate,
      burst,
      scheduled,
      warmup,
      warmingUp,
      room,
      needsInterface,
      horizonMs,
      addsPerMin: { fast: this.fast.value(now) * 60_000, slow: this.slow.value(now) * 60_000 },
      delsPerMin: this.dels.value(now) * 60_000,
      assignMs: la,
      createMs: lc,
      recurring: {
        periodsMs: [], // filled in by explain(): scanning the history is too slow for every plan
        ...(due[0] ? { next: { inMs: due[0].at - now, size: due[0].size, periodMs: due[0].periodMs } } : {}),
      },
    };
  }

  explain(): string {
    const d = this.last;
    if (!d) return `adaptive: no decision yet (floor ${this.o.floor}, ceiling ${this.o.ceiling})`;
    const periodsMs = this.recurring?.periods(this.lastAt ?? 0) ?? [];
    return explainDecision(
      { ...d, recurring: { ...d.recurring, periodsMs } },
      {
        ...this.o,
        priorDecayMs: this.priorDecayMs,
      },
    );
  }

  /**
   * v2: ready for the ADDs of one refill window of the largest burst seen; while a burst is in progress, also for
   * the rest of the largest one (asked for at once, so it lands one assign after the burst started).
   */
  private burstReserve(now: number): number {
    const short = this.bursts.short(now);
    const going = this.bursts.inProgress(now);
    if (going === 0) return short;
    const f = this.o.burstFollow ?? 'both';
    const rest = f === 'double' ? 0 : this.bursts.total(now) - going;
    // A burst already as large as any seen may be a larger one: expect as many again (it doubles, like slow start).
    const more = f === 'total' ? 0 : going;
    return Math.max(short, rest, more);
  }

  /** How early a predicted burst must be acted on: one idle reconcile period, an interface create, the jitter. */
  private leadMs(): number {
    return (
      this.intervalMs +
      this.create.value +
      this.assign.value +
      (this.o.recurring ? this.o.recurring.toleranceMs : DEFAULT_RECURRING.toleranceMs)
    );
  }

  /**
   * Releasing addresses is cheap to undo (one 0.3 s assign); deleting an interface is not (a create and attach of
   * seconds, while Pods wait). So interfaces the pool used within keepInterfaceMs stay attached, even empty:
   * an empty interface holds no Pod addresses, only its own primary address.
   */
  private keepInterfaces(s: PoolSnapshot): number {
    let keep = this.interfacesInUse(s);
    for (let k = keep + 1; k < this.lastUsed.length; k++) {
      if (s.now - (this.lastUsed[k] ?? -Infinity) <= this.keepMs) keep = k;
    }
    return keep;
  }

  private interfacesInUse(s: PoolSnapshot): number {
    return s.interfaces.filter((i) => i.usable && (i.blocks > 0 || i.assigned > 0)).length;
  }

  private room(s: PoolSnapshot): number {
    const L = this.o.limits?.();
    if (!L) return Infinity;
    return s.interfaces
      .filter((i) => i.usable)
      .reduce((n, i) => n + Math.max(0, L.slotsPerInterface - i.slotsUsed) * s.blockSize, 0);
  }

  private canAddInterface(s: PoolSnapshot): boolean {
    const L = this.o.limits?.();
    return L !== undefined && canAddInterface(s, L);
  }
}

const perMin = (n: number) => (n >= 10 ? n.toFixed(0) : n.toFixed(1));
const secs = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 0)} s`;

/** One sentence per input: what was measured, what each demand asks for, and the clamp. */
export function explainDecision(
  d: AdaptiveDecision,
  o: Pick<AdaptivePolicyOptions, 'floor' | 'ceiling' | 'minimumIps' | 'keepInterfaceMs' | 'priorDecayMs'>,
): string {
  const warmUp = d.warmingUp ? `, warm-up ${d.warmup}` : '';
  const room = d.needsInterface ? ` (interfaces nearly full: room for ${d.room})` : '';
  const parts = [
    `adaptive: warm target ${d.warm} = max(rate ${d.rate}, burst ${d.burst}, scheduled ${d.scheduled}${warmUp}) ` +
      `within floor ${o.floor}..ceiling ${o.ceiling}`,
    `ADDs ${perMin(d.addsPerMin.fast)}/min (1 min), ${perMin(d.addsPerMin.slow)}/min (15 min); ` +
      `DELs ${perMin(d.delsPerMin)}/min`,
    `refill ${secs(d.assignMs)} per assign, ${secs(d.createMs)} per new interface; horizon ${secs(d.horizonMs)}${room}`,
  ];
  const r = d.recurring;
  if (r.periodsMs.length) {
    const every = r.periodsMs.map((p) => (p >= 3_600_000 ? `${p / 3_600_000} h` : `${p / 60_000} min`)).join(', ');
    parts.push(
      `recurring bursts every ${every}` +
        (r.next
          ? `: ${r.next.size} ADDs expected ${r.next.inMs >= 0 ? `in ${secs(r.next.inMs)}` : 'now'} ` +
            `(every ${Math.round(r.next.periodMs / 60_000)} min), warming up for them`
          : ''),
    );
  }
  if (d.warmingUp)
    parts.push(
      'warm-up after start: as many free as WARM_ENI_TARGET=1 / WARM_PREFIX_TARGET=1 until there is history ' +
        `(then less${o.priorDecayMs ? `, none ${Math.round(o.priorDecayMs / 60_000)} min later` : ''})`,
    );
  const keepMin = Math.round((o.keepInterfaceMs ?? 3_600_000) / 60_000);
  if (d.keepInterfaces > 1)
    parts.push(
      `${d.keepInterfaces} interfaces kept attached (used in the last ${keepMin === 60 ? 'hour' : `${keepMin} min`})`,
    );
  if (d.minimum > 0) parts.push(`minimum ${d.minimum} held`);
  return parts.join('; ');
}
