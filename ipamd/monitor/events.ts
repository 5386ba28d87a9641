/**
 * @module pool events
 * When a node's pool cannot grow because its subnet is full (or has no
 * aligned /28 left, or the cloud refused), the operator should see it on the
 * Node, not only in ipamd's log: the AWS CNI's "failed to assign an IP
 * address" gave no reason for years (aws-vpc-cni.md §9.2). The reporter turns
 * the reconciler's `onGrowthBlocked` (which carries the cloud's own code and
 * message) into an {@link IpamEvent} with a node condition, and clears the
 * condition when growth works again. An {@link EventSink} delivers it: the
 * Kubernetes integration posts a core/v1 Event and patches the Node's
 * condition; {@link LoggingEventSink} (the default) writes a log line.
 */
import type { Clock } from '../util/clock.js';

/** Condition type set on the Node while its pool cannot grow. */
export const GROWTH_BLOCKED_CONDITION = 'VpcIpamPoolGrowthBlocked';

export interface NodeCondition {
  type: string;
  status: 'True' | 'False';
  /** CamelCase, stable: `SubnetFull`, `NoPrefixBlock`, `Unauthorized`, `GrowthResumed`. */
  reason: string;
  message: string;
}

export interface IpamEvent {
  type: 'Normal' | 'Warning';
  /** Event reason (CamelCase, stable). */
  reason: string;
  /** One sentence with the cloud's code and message. */
  message: string;
  /** Node name the event is about (involvedObject kind Node). */
  node: string;
  /** Epoch ms. */
  at: number;
  /** The subnet that could not serve, when known. */
  subnetId?: string;
  /** The cloud's own error code (e.g. InsufficientFreeAddressesInSubnet); the neutral code when it gave none. */
  cloudCode?: string;
  /** Growth is paused until then (epoch ms). */
  until?: number;
  /** Condition to set on the Node with this event. */
  condition?: NodeCondition;
}

/** Delivers events. Must not throw; delivery failures are the sink's to log. */
export interface EventSink {
  emit(e: IpamEvent): Promise<void>;
}

interface WarnLog {
  warn(o: object, m?: string): void;
  info(o: object, m?: string): void;
}

/** The default sink: one structured log line per event. */
export class LoggingEventSink implements EventSink {
  constructor(private readonly log: WarnLog) {}
  async emit(e: IpamEvent): Promise<void> {
    const { message, ...fields } = e;
    if (e.type === 'Warning') this.log.warn({ event: fields }, message);
    else this.log.info({ event: fields }, message);
  }
}

/** Collects events in memory (the simulator and tests read them back). */
export class MemoryEventSink implements EventSink {
  readonly events: IpamEvent[] = [];
  async emit(e: IpamEvent): Promise<void> {
    this.events.push(e);
  }
}

function reasonFor(code: string): string {
  switch (code) {
    case 'CLOUD_SUBNET_FULL':
      return 'SubnetFull';
    case 'CLOUD_NO_PREFIX_BLOCK':
      return 'NoPrefixBlock';
    case 'CLOUD_UNAUTHORIZED':
      return 'Unauthorized';
    default:
      return 'GrowthBlocked';
  }
}

/**
 * Turns growth-blocked notifications into events. `blocked` is called by the
 * daemon's `onGrowthBlocked`; `check` is called periodically (each monitor
 * pass) with whether growth is still blocked, and emits the all-clear once.
 */
export class GrowthBlockedReporter {
  private blockedSince: number | undefined;
  private lastSubnet: string | undefined;

  constructor(
    private readonly sink: EventSink,
    private readonly node: () => string,
    private readonly clock: Clock,
  ) {}

  get isBlocked(): boolean {
    return this.blockedSince !== undefined;
  }

  /**
   * The pool could not grow. `code` is the IpamError code (CLOUD_SUBNET_FULL…),
   * `cloudCode` the cloud's own, `reason` its message.
   */
  blocked(info: { code: string; cloudCode: string; reason: string; until: number; subnetId?: string }): Promise<void> {
    const now = this.clock.now();
    this.blockedSince ??= now;
    this.lastSubnet = info.subnetId;
    const where = info.subnetId ? ` in subnet ${info.subnetId}` : '';
    const message = `IP pool cannot grow${where}: ${info.reason}; retrying after ${new Date(info.until).toISOString()}`;
    const reason = reasonFor(info.code);
    return this.sink
      .emit({
        type: 'Warning',
        reason: `PoolGrowthBlocked`,
        message,
        node: this.node(),
        at: now,
        ...(info.subnetId ? { subnetId: info.subnetId } : {}),
        cloudCode: info.cloudCode,
        until: info.until,
        condition: { type: GROWTH_BLOCKED_CONDITION, status: 'True', reason, message },
      })
      .catch(() => {});
  }

  /** Emits the all-clear when growth was blocked and no longer is. */
  check(stillBlocked: boolean): Promise<void> {
    if (stillBlocked || this.blockedSince === undefined) return Promise.resolve();
    const now = this.clock.now();
    const seconds = Math.round((now - this.blockedSince) / 1000);
    this.blockedSince = undefined;
    const where = this.lastSubnet ? ` in subnet ${this.lastSubnet}` : '';
    const message = `IP pool is back at its target${where} after ${seconds} s of blocked growth`;
    return this.sink
      .emit({
        type: 'Normal',
        reason: 'PoolGrowthResumed',
        message,
        node: this.node(),
        at: now,
        ...(this.lastSubnet ? { subnetId: this.lastSubnet } : {}),
        condition: { type: GROWTH_BLOCKED_CONDITION, status: 'False', reason: 'GrowthResumed', message },
      })
      .catch(() => {});
  }
}
