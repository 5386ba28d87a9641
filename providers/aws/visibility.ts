/**
 * @module eni visibility
 * EC2 is eventually consistent: right after a Create, Assign or Attach, a
 * call naming the ENI by id may answer `InvalidNetworkInterfaceID.NotFound`
 * although the ENI exists ("its ID might not have propagated throughout the
 * system", AWS "Eventual consistency in the Amazon EC2 API"; the advice is to
 * retry with exponential backoff). So NotFound only means "gone" for an ENI
 * this provider has not changed for `windowMs`: {@link RecentEnis} remembers
 * what it changed and when, and {@link untilVisible} retries a by-id call
 * that answers NotFound while the ENI is that recent. The window bounds the
 * wait; the caller decides what a NotFound after it means.
 */
import type { Clock } from '../clock.js';
import { CloudError } from '../errors.js';

/** Default of AwsProviderOptions.visibilityWaitMs. */
export const DEFAULT_VISIBILITY_WAIT_MS = 15_000;

export function isNotFound(err: unknown): boolean {
  return CloudError.isCloud(err) && err.code === 'CLOUD_NOT_FOUND';
}

/** ENIs this provider created or changed lately, with when. */
export class RecentEnis {
  private readonly at = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    readonly windowMs = DEFAULT_VISIBILITY_WAIT_MS,
  ) {}

  /** `eniId` was created or changed just now. */
  touch(eniId: string): void {
    const now = this.clock.now();
    for (const [id, t] of this.at) if (now - t >= this.windowMs) this.at.delete(id);
    this.at.set(eniId, now);
  }

  /** We deleted it: from now on a NotFound naming it means gone. */
  forget(eniId: string): void {
    this.at.delete(eniId);
  }

  /** Changed by us less than `windowMs` ago: a NotFound may be EC2 not seeing it yet. */
  fresh(eniId: string): boolean {
    const t = this.at.get(eniId);
    return t !== undefined && this.clock.now() - t < this.windowMs;
  }
}

/**
 * Runs `fn`, a call naming `eniId`; while it answers NotFound and the ENI is fresh, sleeps (100 ms doubling
 * to 2 s) and tries again. The last NotFound is rethrown once the ENI is no longer fresh.
 */
export async function untilVisible<T>(clock: Clock, recent: RecentEnis, id: string, fn: () => Promise<T>): Promise<T> {
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      return await fn();
    } catch (err) {
      if (!isNotFound(err) || !recent.fresh(id)) throw err;
      await clock.sleep(delay);
    }
  }
}
