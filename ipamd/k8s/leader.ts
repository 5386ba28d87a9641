/**
 * @module Lease leader elector
 * {@link LeaderElector} over a coordination.k8s.io/v1 Lease, with client-go's
 * leaderelection semantics:
 * - a Lease held by someone else counts as expired only after
 *   `leaseDuration` of *our* clock has passed since we last saw its record
 *   change (never by comparing their renewTime with our clock: clocks skew);
 * - every write is an update guarded by the resourceVersion we read, so of
 *   two replicas racing for an expired Lease exactly one wins (409 for the
 *   other);
 * - the leader renews every `retryPeriod` and gives up (aborting the work)
 *   when it could not renew for `renewDeadline`;
 * - on a clean stop the leader releases the Lease (empty holder, 1 s
 *   duration) so a standby takes over at once instead of after expiry.
 * 403 (no RBAC on the Lease) is a configuration error: `run` rejects.
 */
import type { V1Lease } from '@kubernetes/client-node';
import type { LeaderElector, LeadershipCallbacks } from '../monitor/leader.js';
import type { Clock } from '../util/clock.js';
import { describeError, httpStatus, isConflict, isNotFound, microTime, type K8sApis } from './client.js';

/** Kept here too: tests and callers imported it from the Lease elector first. */
export { microTime };

export interface LeaseElectorOptions {
  apis: K8sApis;
  clock: Clock;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
}

export class LeaseLeaderElector implements LeaderElector {
  readonly identity: string;
  private leading = false;
  private observed: { record: string; at: number } | undefined;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  readonly stats = { acquired: 0, lost: 0, conflicts: 0, errors: 0 };

  constructor(private readonly o: LeaseElectorOptions) {
    this.identity = o.identity;
    this.leaseMs = o.leaseDurationMs ?? 15_000;
    this.renewMs = o.renewDeadlineMs ?? 10_000;
    this.retryMs = o.retryPeriodMs ?? 2_000;
    if (!(this.leaseMs > this.renewMs && this.renewMs > this.retryMs && this.retryMs > 0)) {
      throw new Error(
        'lease timings must satisfy leaseDuration > renewDeadline > retryPeriod > 0 ' +
          `(got ${this.leaseMs}/${this.renewMs}/${this.retryMs} ms)`,
      );
    }
  }

  isLeader(): boolean {
    return this.leading;
  }

  async run(signal: AbortSignal, cb: LeadershipCallbacks): Promise<void> {
    while (!signal.aborted) {
      if (!(await this.acquire(signal))) break;
      this.leading = true;
      this.stats.acquired++;
      this.o.log.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.identity }, 'became leader');
      const lost = new AbortController();
      const onStop = () => lost.abort();
      signal.addEventListener('abort', onStop, { once: true });
      const work = cb
        .onStartedLeading(lost.signal)
        .catch((err) => this.o.log.warn({ err: (err as Error).message }, 'leader work failed'));
      await this.renewUntilLost(lost);
      signal.removeEventListener('abort', onStop);
      lost.abort();
      await work;
      this.leading = false;
      if (signal.aborted) await this.release();
      else {
        this.stats.lost++;
        this.o.log.warn({ lease: `${this.o.namespace}/${this.o.name}` }, 'lost leadership');
      }
      cb.onStoppedLeading?.();
    }
  }

  /** Tries every retryPeriod until it holds the Lease (true) or `signal` aborts (false). */
  private async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew()) return true;
      await this.o.clock.sleep(this.retryMs, signal).catch(() => {});
    }
    return false;
  }

  private async renewUntilLost(lost: AbortController): Promise<void> {
    let lastRenew = this.o.clock.now();
    while (!lost.signal.aborted) {
      await this.o.clock.sleep(this.retryMs, lost.signal).catch(() => {});
      if (lost.signal.aborted) return;
      if (await this.tryAcquireOrRenew()) lastRenew = this.o.clock.now();
      else if (this.o.clock.now() - lastRenew >= this.renewMs) return;
    }
  }

  /** One round of client-go's tryAcquireOrRenew. Throws only for 403 (configuration). */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { apis, namespace, name, clock } = this.o;
    const now = clock.now();
    const nowIso = microTime(now);
    let lease: V1Lease;
    try {
      lease = await apis.call('read lease', () => apis.coordination.readNamespacedLease({ name, namespace }));
    } catch (err) {
      if (!isNotFound(err)) return this.failed(err);
      try {
        await apis.call('create lease', () =>
          apis.coordination.createNamespacedLease({
            namespace,
            body: {
              metadata: { name, namespace },
              spec: {
                holderIdentity: this.identity,
                leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
                acquireTime: nowIso,
                renewTime: nowIso,
                leaseTransitions: 0,
              },
            },
          }),
        );
        this.observed = undefined;
        return true;
      } catch (e) {
        return this.failed(e);
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const record = JSON.stringify([
      holder,
      spec.renewTime,
      spec.acquireTime,
      spec.leaseDurationSeconds,
      spec.leaseTransitions,
    ]);
    if (!this.observed || this.observed.record !== record) this.observed = { record, at: now };
    const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
    if (holder !== '' && holder !== this.identity && this.observed.at + durationMs > now) return false;
    const mine = holder === this.identity;
    const next: V1Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
        renewTime: nowIso,
        acquireTime: mine ? spec.acquireTime : nowIso,
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      await apis.call('update lease', () => apis.coordination.replaceNamespacedLease({ name, namespace, body: next }));
      return true;
    } catch (err) {
      return this.failed(err);
    }
  }

  private failed(err: unknown): false {
    if (httpStatus(err) === 403)
      throw new Error(`no permission on Lease ${this.o.namespace}/${this.o.name}: ${describeError(err)}`);
    if (isConflict(err)) this.stats.conflicts++;
    else {
      this.stats.errors++;
      this.o.log.warn({ err: describeError(err) }, 'lease request failed');
    }
    return false;
  }

  /** Gives the Lease up so a standby need not wait for it to expire. */
  private async release(): Promise<void> {
    const { apis, namespace, name, clock } = this.o;
    try {
      const lease = await apis.call('read lease', () => apis.coordination.readNamespacedLease({ name, namespace }));
      if (lease.spec?.holderIdentity !== this.identity) return;
      const now = microTime(clock.now());
      await apis.call('release lease', () =>
        apis.coordination.replaceNamespacedLease({
          name,
          namespace,
          body: {
            ...lease,
            spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
          },
        }),
      );
      this.o.log.info({ lease: `${namespace}/${name}` }, 'released leadership');
    } catch (err) {
      this.o.log.warn({ err: describeError(err) }, 'could not release the lease; standbys take over when it expires');
    }
  }
}
