/**
 * @module emulator metadata timeline
 * What an emulated node's metadata service shows: the cloud's view of the instance, late. Instance metadata
 * is eventually consistent: it reflects a change seconds after the cloud's API does (amazon-ecs-cni-plugins#66
 * saw EC2's IMDS up to 18 s behind). The timeline keeps one view per cloud revision, each visible after its own
 * lag drawn from [min, max] by seeded dice, and serves the newest visible one, on the emulator's clock: a test
 * on a virtual clock moves past the lag instead of sleeping through it.
 */
import { Prng } from '../sim/prng.js';

export interface LagRange {
  min: number;
  max: number;
}

interface Stamped<V> {
  visibleAt: number;
  revision: number;
  view: V;
}

/** The most views kept; older ones could no longer be served anyway once a newer one is visible. */
const MAX_HISTORY = 10_000;

export class MetadataTimeline<V> {
  private lag: LagRange = { min: 0, max: 0 };
  private readonly dice: Prng;
  private history: Array<Stamped<V>> = [];
  /** When the newest view's change happened (views are stamped in order). */
  private lastAt = -Infinity;

  constructor(
    private readonly now: () => number,
    lag: LagRange = { min: 0, max: 0 },
    seed = 1,
  ) {
    this.setLag(lag);
    this.dice = new Prng(seed);
  }

  /** Each later change becomes visible after a lag drawn uniformly from [min, max] ms. */
  setLag(lag: LagRange): void {
    if (!(Number.isFinite(lag.min) && lag.min >= 0 && lag.max >= lag.min && Number.isFinite(lag.max))) {
      throw new RangeError(`IMDS lag must be 0 <= min <= max ms, got ${JSON.stringify(lag)}`);
    }
    this.lag = { ...lag };
  }

  /** The revision of the newest view recorded (undefined before the first). */
  get latestRevision(): number | undefined {
    return this.history[this.history.length - 1]?.revision;
  }

  /**
   * Records the view of cloud revision `revision`, changed at `changedAt` (default now): visible after the lag.
   * The first view recorded is visible at once (what the instance saw before the emulator started).
   */
  record(revision: number, view: V, changedAt = this.now()): void {
    const at = Math.max(this.lastAt, changedAt);
    this.lastAt = at;
    const jitter = Math.floor(this.dice.next() * (this.lag.max - this.lag.min + 1));
    const visibleAt = this.history.length === 0 ? -Infinity : at + this.lag.min + jitter;
    this.history.push({ visibleAt, revision, view });
    if (this.history.length > MAX_HISTORY) this.history.shift();
  }

  /**
   * Records `build()` as the view of `revision` if that revision is new: an emulator notes the cloud after each
   * request and each operation that lands, so a lag counts from the change, not from the next metadata read.
   */
  note(revision: number, build: () => V): void {
    if (this.latestRevision !== revision) this.record(revision, build());
  }

  /**
   * What the metadata service shows of cloud revision `revision`: records `build()` when the revision is new,
   * then serves the newest visible view. Once it has caught up, the view is built afresh, so with no lag the
   * answer is the live one, as if there were no timeline.
   */
  observe(revision: number, build: () => V): V {
    this.note(revision, build);
    const view = this.current()!;
    return this.history.length === 1 ? build() : view;
  }

  /** The newest view whose lag has passed; undefined before anything was recorded. */
  current(): V | undefined {
    const now = this.now();
    let idx = 0;
    for (let i = this.history.length - 1; i > 0; i--) {
      if (this.history[i]!.visibleAt <= now) {
        idx = i;
        break;
      }
    }
    // Older views can no longer be served; dropping them keeps the timeline short.
    if (idx > 0) this.history = this.history.slice(idx);
    return this.history[0]?.view;
  }
}
