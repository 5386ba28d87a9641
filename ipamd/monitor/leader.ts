/**
 * @module leader election
 * The seam that keeps the cluster-wide monitor to one active replica. Only
 * the leader reads the cloud; standbys serve empty gauges and
 * `vpc_ipam_monitor_leader 0`. Two leaders would not corrupt anything (the
 * monitor only reads) but would double the Describe calls the monitor exists
 * to keep bounded.
 *
 * Implementations:
 * - {@link AlwaysLeader}: outside Kubernetes, or with a single replica;
 * - a Kubernetes Lease (coordination.k8s.io/v1) elector, supplied by the
 *   Kubernetes integration (see `integration.ts`), selected with
 *   `VPC_IPAM_MONITOR_LEADER_ELECTION=lease`.
 */

export interface LeadershipCallbacks {
  /**
   * Called each time this replica becomes leader. `lost` aborts when
   * leadership is lost or the elector stops; the callback must then stop
   * its work and return promptly. The elector does not renew on the
   * callback's behalf after `lost` aborts.
   */
  onStartedLeading(lost: AbortSignal): Promise<void>;
  /** Called after `onStartedLeading` has returned because leadership ended. */
  onStoppedLeading?(): void;
}

export interface LeaderElector {
  /** This replica's identity (Pod name, host name). */
  readonly identity: string;
  /** True while this replica holds leadership. */
  isLeader(): boolean;
  /**
   * Campaigns until `signal` aborts: acquires leadership (waiting as long as
   * another replica holds it), runs `onStartedLeading`, keeps renewing, and
   * campaigns again after a loss. On abort it releases leadership if held,
   * so a standby can take over without waiting for expiry, and resolves.
   * Rejects only for a configuration error (e.g. no permission on the Lease).
   */
  run(signal: AbortSignal, cb: LeadershipCallbacks): Promise<void>;
}

/** Leader from start to stop: for one replica, or outside Kubernetes. */
export class AlwaysLeader implements LeaderElector {
  private leading = false;
  constructor(readonly identity = 'single') {}

  isLeader(): boolean {
    return this.leading;
  }

  async run(signal: AbortSignal, cb: LeadershipCallbacks): Promise<void> {
    if (signal.aborted) return;
    this.leading = true;
    try {
      await cb.onStartedLeading(signal);
    } finally {
      this.leading = false;
      cb.onStoppedLeading?.();
    }
  }
}
