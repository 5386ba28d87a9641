/**
 * @module leak reclaim runner
 * When the daemon asks its provider to delete the interfaces this node left
 * detached (CloudProvider.reclaimLeakedInterfaces, providers/leak-reclaim.ts):
 * once at start, before the pool grows, so a leak's addresses are back in the
 * subnet first; then after every resync, which costs no call unless a create
 * failed or an undo was abandoned since. At start through the CloudCaller
 * (retried like any call); later straight, as the next resync retries anyway.
 *
 * Never rejects: a leak costs subnet addresses, not correctness, and the next
 * run (or the cluster-wide sweep) tries again. One at a time.
 */
import type { CloudProvider } from '../../providers/types.js';
import type { Logger } from '../observability/logger.js';
import type { CloudCaller } from './cloud-caller.js';

export class LeakReclaimRunner {
  private running: Promise<void> | undefined;

  constructor(
    private readonly provider: CloudProvider,
    private readonly caller: Pick<CloudCaller, 'call'>,
    private readonly log: Pick<Logger, 'warn'>,
  ) {}

  run(atStart: boolean): Promise<void> {
    const reclaim = this.provider.reclaimLeakedInterfaces?.bind(this.provider);
    if (!reclaim) return Promise.resolve();
    this.running ??= (atStart ? this.caller.call('reclaimLeakedInterfaces', reclaim) : reclaim())
      .then((r) => {
        const why = 'deleted interfaces a crash or a failed undo left detached';
        if (r.deleted.length) this.log.warn({ deleted: r.deleted }, why);
      })
      .catch((err: unknown) => this.log.warn({ err }, 'cannot look for leaked interfaces; trying again after a resync'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** Resolves when no reclaim is running (before the provider is closed). */
  async idle(): Promise<void> {
    await this.running;
  }
}
