/**
 * @module stale assignment reaper
 * Releases assignments whose Pod is gone (a DEL that never came: the
 * kubelet does not guarantee to retry DEL, and Pods deleted while ipamd was
 * down leave their addresses behind). Gone is: not listed, or listed in
 * phase Succeeded/Failed; a Pod being deleted is not gone (pod-demand.ts).
 * Runs at start and then every `intervalMs`.
 *
 * Two passes must agree before anything is released: an assignment found
 * stale is only a suspect until a second LIST, at least `confirmMs` later,
 * still does not show its Pod. That covers a static Pod whose mirror Pod the
 * kubelet has not created yet, and an API server briefly serving a partial
 * view. The release goes through the daemon's normal DEL path (host-side
 * teardown, cooldown, checkpoint), keyed by the assignment's own
 * (network, container ID, interface).
 *
 * Cost at scale: every node runs this. A routine pass asks for a cached list
 * (`resourceVersion` + `resourceVersionMatch=NotOlderThan`, answered by the
 * API server's watch cache, not by a quorum read from etcd); only a pass
 * that may release (a suspect is due for confirmation) asks for a
 * consistent list, so nothing is released on a cache's word. Periods are
 * jittered (+0–25 %) so a fleet started together does not list together;
 * after a failed pass the next waits at least the server's Retry-After.
 */
import type { Assignment } from '../datastore/types.js';
import { keyString } from '../datastore/types.js';
import type { Clock } from '../util/clock.js';
import { describeError, jittered, retryFloorMs } from './client.js';
import { staleAssignments } from './pod-demand.js';
import type { PodInfo } from './pod-watch.js';

export interface ReaperOptions {
  clock: Clock;
  /** `consistent`: a read from storage (a release may follow); otherwise a cached read is enough. */
  list: (o: { consistent: boolean }) => Promise<{ pods: PodInfo[] }>;
  assignments: () => Assignment[];
  release: (a: Assignment) => Promise<boolean>;
  intervalMs: number;
  confirmMs: number;
  log: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
  onReleased?: (a: Assignment) => void;
  random?: () => number;
}

export interface ReapReport {
  listedPods: number;
  suspects: number;
  released: Assignment[];
}

export class StaleAssignmentReaper {
  /** key → when it was first found stale. */
  private readonly suspects = new Map<string, number>();
  private readonly stopper = new AbortController();
  private loopDone: Promise<void> | undefined;
  readonly stats = { passes: 0, released: 0, errors: 0, consistentLists: 0 };

  constructor(private readonly o: ReaperOptions) {}

  /** One pass: list, compare, release confirmed stale assignments. */
  async pass(): Promise<ReapReport> {
    const { clock } = this.o;
    const startedAt = clock.now();
    // Only suspects already due can be released by this pass: they, and only they, need the consistent read.
    const due = [...this.suspects.values()].some((since) => startedAt - since >= this.o.confirmMs);
    const { pods } = await this.o.list({ consistent: due });
    if (due) this.stats.consistentLists++;
    this.stats.passes++;
    const stale = staleAssignments(this.o.assignments(), pods, startedAt);
    const staleKeys = new Set(stale.map(keyString));
    for (const k of [...this.suspects.keys()]) if (!staleKeys.has(k)) this.suspects.delete(k);
    const released: Assignment[] = [];
    for (const a of stale) {
      const k = keyString(a);
      const since = this.suspects.get(k);
      if (since === undefined) {
        this.suspects.set(k, startedAt);
        continue;
      }
      if (startedAt - since < this.o.confirmMs) continue;
      this.suspects.delete(k);
      if (await this.o.release(a)) {
        released.push(a);
        this.stats.released++;
        this.o.log.info(
          { ip: a.ip, containerId: a.containerId, pod: a.pod },
          'released the address of a Pod that is gone',
        );
        this.o.onReleased?.(a);
      }
    }
    return { listedPods: pods.length, suspects: this.suspects.size, released };
  }

  /** Passes now, then periodically; sooner while suspects wait for confirmation. */
  start(): void {
    this.loopDone = (async () => {
      while (!this.stopper.signal.aborted) {
        let wait = this.o.intervalMs;
        try {
          const r = await this.pass();
          if (r.suspects > 0) wait = Math.min(wait, this.o.confirmMs);
        } catch (err) {
          this.stats.errors++;
          this.o.log.warn({ err: describeError(err) }, 'stale assignment check failed; will retry');
          wait = Math.max(retryFloorMs(err), Math.min(wait, this.o.confirmMs));
        }
        await this.o.clock.sleep(jittered(wait, 0.25, this.o.random), this.stopper.signal).catch(() => {});
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    await this.loopDone;
  }
}
