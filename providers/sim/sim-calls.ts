/**
 * @module sim calls
 * {@link SimCalls}: the four steps every call of a {@link SimProvider} goes through, and its call counts:
 *
 * 1. counted under its EC2 action name ({@link SimCalls.callCounts});
 * 2. checked by the fault injector (injected failures, token buckets), which fails it at once;
 * 3. delayed by its latency on the injected clock;
 * 4. applied to the cloud model, atomically (unless the profile's eventual consistency answers NotFound
 *    first); after a successful mutation `onMutate` runs (the daemon saves the cloud there).
 *
 * Because the latency comes before the model change, concurrent calls see each other's effects in the order
 * they complete, as with a real cloud.
 */
import { CloudUnavailableError, IpamError } from '../errors.js';
import { MUTATING_ACTIONS, type SimAction } from './actions.js';
import type { SimCloud } from './cloud.js';
import type { FaultInjector } from './faults.js';
import type { LatencyTable } from './latency.js';
import type { SimInterface } from './model.js';
import type { SimRealism } from './realism.js';
import type { SimClock } from './time.js';

export function isNotFound(err: unknown): boolean {
  return IpamError.is(err) && err.code === 'CLOUD_NOT_FOUND';
}

export interface SimCallsOptions {
  cloud: SimCloud;
  clock: SimClock;
  latency: LatencyTable;
  realism: SimRealism;
  faults?: FaultInjector | undefined;
  /** Runs after every successful mutating call, with its action. Must not throw. */
  onMutate?: ((action: SimAction) => void) | undefined;
}

export class SimCalls {
  private counts: Partial<Record<SimAction, number>> = {};

  constructor(private readonly o: SimCallsOptions) {}

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
  async call<T>(action: SimAction, apply: () => T, id?: string): Promise<T> {
    const { cloud, clock } = this.o;
    this.counts[action] = (this.counts[action] ?? 0) + 1;
    this.o.faults?.check(action);
    const ms = this.o.latency.actions[action];
    if (ms > 0) await clock.sleep(ms);
    cloud.settle(clock.now()); // detaches due by now are done before the call sees the cloud
    this.o.realism.check(cloud, action, id);
    const out = apply();
    if (MUTATING_ACTIONS.has(action) && this.o.onMutate) {
      try {
        this.o.onMutate(action);
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

  /** A call naming interface `id`, tried again while the cloud may not see our latest change to it yet. */
  byId<T>(action: SimAction, id: string, apply: () => T): Promise<T> {
    return this.o.realism.byId(id, () => this.call(action, apply, id));
  }

  /**
   * The model's view of an interface, costing no call: what a real provider would have cached about its own
   * node. Undefined when it is gone.
   */
  peek(interfaceId: string): SimInterface | undefined {
    this.o.cloud.settle(this.o.clock.now());
    try {
      return this.o.cloud.getInterface(interfaceId);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}
