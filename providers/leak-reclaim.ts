/**
 * @module leaked interface reclaim
 * The node's own clean-up of interfaces it created and left detached, shared
 * by the providers that create interfaces (the sim, AWS). Creating one is
 * several calls (create → attach → DeleteOnTermination), so a process killed
 * between create and attach, or an undo that cannot finish, leaves a detached
 * interface holding subnet addresses; after crash loops the sim cloud kept one
 * with 6. Every interface is tagged at creation with the instance it is for
 * and when (providers/interface-tags.ts), in the create call itself, so no
 * crash can leave an untagged one.
 *
 * {@link LeakReclaimer.reclaim} deletes the detached interfaces tagged for this
 * instance that are
 * - made before this run started: the run that made them is gone, nothing
 *   will attach them (the start-up reconciliation);
 * - given up by this run: an undo that failed ({@link LeakReclaimer.abandon});
 * - or older than the grace period: made by this run, lost to a create whose
 *   answer never came (timeout), and too old to be one still being attached;
 * and never while a create of this run is in flight (its interface is
 * detached for a moment by design). Only detached ones: an interface that a
 * failed undo left attached is the node's, and the pool adopts it at resync.
 * Never one the provider lists as `excluded` (AWS: trunk, EFA, a no_manage
 * tag), even with our instance tag on it: someone decided it stays.
 *
 * Cost: the first call (the daemon makes it at start) is one Describe; later
 * calls make none unless something is due (a create failed, an undo was
 * abandoned, a young leak was seen), so resyncs stay free. The cluster-wide
 * sweep (providers/aws/eni-gc.ts) stays the backstop for nodes that are gone.
 */
import { CloudError } from './errors.js';
import type { TimeSource } from './sim/time.js';
import type { ReclaimReport } from './types.js';

/** A detached interface tagged as made for this instance. */
export interface DetachedInterface {
  id: string;
  /** From its creation tag; undefined when it has none. */
  createdAt: number | undefined;
  /** Set when the cloud says to leave it alone (AWS: trunk, EFA, no_manage tag): never deleted, whatever its tags. */
  excluded?: string;
}

export interface LeakReclaimerOptions {
  clock: TimeSource;
  /** This run's own interfaces are left alone this long (default 5 min). */
  graceMs?: number;
  /** The detached interfaces tagged for this instance (one cloud read). */
  listDetached(): Promise<DetachedInterface[]>;
  /** Deletes a detached interface; not-found is success. */
  remove(id: string): Promise<void>;
  log?: { info?(o: object, m?: string): void; warn(o: object, m?: string): void };
}

export const DEFAULT_RECLAIM_GRACE_MS = 5 * 60_000;

export class LeakReclaimer {
  private readonly startedAt: number;
  private scanDue = true;
  private inflight = 0;
  /** Interfaces an undo gave up on → passes that did not list them (a Describe may lag a moment). */
  private readonly abandoned = new Map<string, number>();
  private running: Promise<ReclaimReport> | undefined;

  constructor(private readonly o: LeakReclaimerOptions) {
    this.startedAt = o.clock.now();
  }

  /**
   * Runs one create. One that failed without a clear answer (a timeout, a
   * 5xx, a lost connection) may have made an interface we never heard of, so
   * the next reclaim looks; a refusal (limit, full subnet) made nothing.
   */
  async creating<T>(fn: () => Promise<T>): Promise<T> {
    this.inflight++;
    try {
      return await fn();
    } catch (err) {
      if (!CloudError.isCloud(err) || err.code === 'CLOUD_UNAVAILABLE') this.scanDue = true;
      throw err;
    } finally {
      this.inflight--;
    }
  }

  /** An undo that could not delete `id`: the next reclaim deletes it if it is still detached. */
  abandon(id: string): void {
    this.abandoned.set(id, 0);
    this.scanDue = true;
  }

  /** See the module comment. One at a time: a call while one runs joins it. Throws if the cloud read fails. */
  reclaim(): Promise<ReclaimReport> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<ReclaimReport> {
    const report: ReclaimReport = { deleted: [], retrying: [] };
    if (!this.scanDue || this.inflight > 0) return report;
    const now = this.o.clock.now();
    const grace = this.o.graceMs ?? DEFAULT_RECLAIM_GRACE_MS;
    // Cleared before the read, so a create failing or an undo abandoned meanwhile asks for the next pass.
    this.scanDue = false;
    let detached: DetachedInterface[];
    try {
      detached = await this.o.listDetached();
    } catch (err) {
      this.scanDue = true;
      throw err;
    }
    const listed = new Set(detached.map((n) => n.id));
    // Abandoned but not listed twice: gone (done), or attached after all (the pool's now). Once could be lag.
    for (const [id, misses] of this.abandoned) {
      if (listed.has(id)) continue;
      if (misses >= 1) this.abandoned.delete(id);
      else this.abandoned.set(id, misses + 1);
    }
    let again = false;
    const kept: Array<{ interfaceId: string; why: string }> = [];
    for (const n of detached) {
      if (n.excluded !== undefined) {
        // Our instance tag on it, but someone marked it (or made it a trunk/EFA): not ours to delete.
        this.abandoned.delete(n.id);
        kept.push({ interfaceId: n.id, why: n.excluded });
        continue;
      }
      const earlierRun = n.createdAt === undefined || n.createdAt < this.startedAt;
      const old = n.createdAt !== undefined && now - n.createdAt >= grace;
      if (!earlierRun && !old && !this.abandoned.has(n.id)) {
        again = true; // this run's, young: look again on a later call
        continue;
      }
      try {
        await this.o.remove(n.id);
        this.abandoned.delete(n.id);
        report.deleted.push(n.id);
      } catch (err) {
        this.abandoned.set(n.id, 0);
        report.retrying.push(n.id);
        again = true;
        const why = (err as Error).message;
        this.o.log?.warn({ interfaceId: n.id, err: why }, 'cannot delete a leaked interface yet; retrying later');
      }
    }
    if (again || this.abandoned.size > 0) this.scanDue = true;
    if (report.deleted.length) this.o.log?.info?.({ deleted: report.deleted }, 'deleted leaked detached interfaces');
    if (kept.length) this.o.log?.info?.({ kept }, 'left detached interfaces alone: excluded from ipamd management');
    return report;
  }
}
