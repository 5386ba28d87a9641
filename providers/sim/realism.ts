/**
 * @module sim realism
 * The parts of a {@link LatencyTable} that are more than a sleep before the
 * call, for the {@link SimProvider}: the metadata lag drawn per attach, the
 * `detaching` interval after a detach, EC2's eventual consistency, and the
 * retries an EC2 provider makes because of them. Each draws from its own
 * seeded {@link Prng}, so a run replays exactly and turning one knob off does
 * not move the others' draws; none touches the cloud's own PRNG (address
 * choice stays the same under every profile).
 *
 * The retry rules are the AWS adapter's, so the sim pays what it pays:
 * `untilVisible` / `RecentEnis` (providers/aws/visibility.ts) for NotFound on
 * an interface changed lately; after a detach, `awaitDetached`'s polling
 * (providers/aws/eni-lifecycle.ts: a filtered DescribeNetworkInterfaces every
 * second, then every 5 s, for about 15 s); and `deleteWithRetry`'s backoff
 * (500 ms doubling to 5 s, equal jitter, 10 attempts) for a Delete still
 * refused "in use".
 */
import { RecentEnis, untilVisible } from '../aws/visibility.js';
import type { SimAction } from './actions.js';
import type { Transition } from './attachment-ops.js';
import type { SimCloud } from './cloud.js';
import type { LatencyTable } from './latency.js';
import { Prng } from './prng.js';
import type { SimClock } from './time.js';

/** Delete attempts while the interface is still detaching (the AWS adapter's deleteWithRetry). */
export const DELETE_ATTEMPTS = 10;
const DELETE_BASE_MS = 500;
const DELETE_MAX_MS = 5_000;
/** awaitDetached's schedule: polls 1 s apart for the first 5 s, then 5 s apart, up to about 15 s. */
const POLL_FAST_MS = 1_000;
const POLL_SLOW_MS = 5_000;
const POLL_FAST_FOR_MS = 5_000;
const POLL_FOR_MS = 15_000;

/** Actions that name an interface by id and can meet the consistency window (the EC2 emulator's list). */
const BY_ID: ReadonlySet<SimAction> = new Set<SimAction>([
  'AttachNetworkInterface',
  'ModifyNetworkInterfaceAttribute',
  'DeleteNetworkInterface',
  'AssignPrivateIpAddresses',
  'UnassignPrivateIpAddresses',
]);

export class SimRealism {
  private readonly lagDice: Prng;
  private readonly consistencyDice: Prng;
  private readonly backoffDice: Prng;
  /** Interface id → time until which EC2 may still not see its last change. */
  private readonly unseenUntil = new Map<string, number>();
  /** What the provider changed lately: a NotFound naming one of these is retried, as the AWS adapter does. */
  private readonly recent: RecentEnis;

  constructor(
    private readonly t: LatencyTable,
    private readonly clock: SimClock,
    seed: number,
  ) {
    // Offsets keep the streams apart from each other and from the cloud's and daemon's own seeded PRNGs.
    this.lagDice = new Prng(seed + 101);
    this.consistencyDice = new Prng(seed + 102);
    this.backoffDice = new Prng(seed + 103);
    this.recent = new RecentEnis(clock);
  }

  /** This attach's metadata lag, ms: uniform over the table's range, in whole ms (as the EC2 emulator draws). */
  propagationMs(): number {
    const { metadataPropagationMs: min, metadataPropagationMaxMs: max } = this.t;
    if (max <= min) return min;
    return min + Math.floor(this.lagDice.next() * (max - min + 1));
  }

  /** How a detach made now settles: `detaching` for the table's time, or at once. */
  detachTransition(): Transition {
    return this.t.detachSettleMs > 0 ? { settlesAt: this.clock.now() + this.t.detachSettleMs } : {};
  }

  /** A Create, Assign or Attach on `id` succeeded just now. */
  changed(id: string): void {
    // Without a window no NotFound is spurious, so none is retried (the legacy and zero profiles' behaviour).
    if (this.t.consistencyWindowMs <= 0) return;
    this.recent.touch(id);
    this.unseenUntil.set(id, this.clock.now() + this.t.consistencyWindowMs);
  }

  /** `id` was deleted: a later NotFound naming it means gone. */
  forget(id: string): void {
    this.recent.forget(id);
    this.unseenUntil.delete(id);
  }

  /** Throws EC2's NotFound when `action` names an interface EC2 may not see yet and the dice say so. */
  check(cloud: SimCloud, action: SimAction, id: string | undefined): void {
    if (id === undefined || !BY_ID.has(action) || this.unseenUntil.size === 0) return;
    const now = this.clock.now();
    for (const [k, until] of this.unseenUntil) if (until <= now) this.unseenUntil.delete(k);
    if (!this.unseenUntil.has(id) || this.consistencyDice.next() >= this.t.notFoundRatio) return;
    throw cloud.makeError('interfaceNotFound', action, `The networkInterface ID '${id}' does not exist`);
  }

  /** Runs `fn`, a call naming `id`, again while it answers NotFound for an interface changed lately. */
  byId<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return untilVisible(this.clock, this.recent, id, fn);
  }

  /**
   * After a detach the profile models (`detachSettleMs`), polls `stillAttached` (a counted describe) on the
   * AWS adapter's schedule until it says no; a failed read only ends the wait (the Delete's retry covers the
   * rest). Without a modelled detach, no poll: the legacy and zero profiles make the calls they always made.
   */
  async awaitDetached(stillAttached: () => Promise<boolean>): Promise<void> {
    if (this.t.detachSettleMs <= 0) return;
    for (let spent = 0; spent <= POLL_FOR_MS;) {
      try {
        if (!(await stillAttached())) return;
      } catch {
        return;
      }
      const delay = spent < POLL_FAST_FOR_MS ? POLL_FAST_MS : POLL_SLOW_MS;
      await this.clock.sleep(delay);
      spent += delay;
    }
  }

  /** Wait before Delete attempt `attempt + 1` after attempt `attempt` was refused "in use". */
  deleteBackoffMs(attempt: number): number {
    const delay = Math.min(DELETE_MAX_MS, DELETE_BASE_MS * 2 ** (attempt - 1));
    return delay / 2 + this.backoffDice.next() * (delay / 2);
  }
}
