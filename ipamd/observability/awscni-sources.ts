/**
 * @module awscni sources
 * Where a daemon's `awscni_*` families read from: its datastore, its instance limits once init() has read them,
 * its host networking. Structural, so this module needs nothing of the daemon but what it reads.
 */
import type { NetworkInterface, ProviderName } from '../../providers/types.js';
import type { Assignment, PoolSnapshot } from '../datastore/types.js';
import type { PoolLimits } from '../pool/planner.js';
import type { Clock } from '../util/clock.js';
import type { AwsCniSources } from './awscni-metrics.js';

/** What of a daemon the families read (IpamDaemon has all of it). */
export interface AwsCniDaemonView {
  readonly d: {
    config: { provider: ProviderName; hostNetwork: { nodePortSupport: boolean } };
    version: string;
    clock: Clock;
  };
  readonly datastore: {
    interfaceList(): Array<NetworkInterface & { assigned: number }>;
    list(): Assignment[];
  };
  /** Present when ipamd keeps the node's host networking (SNAT, the NodePort connmark rules). */
  readonly nodeNetwork: object | undefined;
  readonly ready: boolean;
  snapshot(): PoolSnapshot;
}

/** Read lazily: the daemon is still being built when its metrics are. */
export function awsCniSources(daemon: AwsCniDaemonView, limits: () => PoolLimits | undefined): AwsCniSources {
  return {
    provider: daemon.d.config.provider,
    version: daemon.d.version,
    clock: daemon.d.clock,
    pool: () => ({
      snapshot: daemon.snapshot(),
      interfaces: daemon.datastore.interfaceList(),
      assignments: daemon.datastore.list(),
      limits: limits(),
    }),
    initialised: () => daemon.ready,
    // ipamd writes its connmark rules with iptables (nft or legacy backend), never with native nftables.
    connmarkBackend: () => (daemon.nodeNetwork && daemon.d.config.hostNetwork.nodePortSupport ? 'iptables' : undefined),
  };
}
