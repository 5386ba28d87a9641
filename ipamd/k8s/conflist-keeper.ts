/**
 * @module conflist keeper
 * The CNI config is the node's "ready for Pods" switch: the kubelet turns the node Ready once a conflist is
 * in place. So it is written only when ipamd can really serve an ADD (initialised, a pool or room to grow,
 * the plugin binaries installed, the socket answering, every chained plugin speaking a common spec version),
 * then checked every minute; a working conflist is never removed because of a later doubt.
 */
import { PROTOCOL_VERSION } from '../../cni/contract/protocol.js';
import { callIpamd } from '../../cni/contract/socket-client.js';
import type { IpamDaemon } from '../daemon.js';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import { ChainVersionProber, CniVersionError, NoCommonCniVersionError } from './cni-versions.js';
import { configsBefore, installConflist, missingBinaries, renderConflist, type ConflistOptions } from './conflist.js';
import type { K8sEventSink } from './events.js';
import { EVENT_REASONS } from './names.js';

export interface ConflistKeeperOptions {
  clock: Clock;
  log: Logger;
  confDir: string;
  binDir: string;
  nodeName: string;
  socketPath: string;
  options: ConflistOptions;
  sink: K8sEventSink;
  /** Set when the Node turned out to be another machine: nothing is written then. */
  identityProblem: () => string | undefined;
  signal: AbortSignal;
  /** Each round ours is in place (adoption: aws-node's conflist is moved aside, ipamd/adopt/aws-conflist.ts). */
  afterInstall?: () => void;
}

export class ConflistKeeper {
  /** When the conflist was last written; undefined until then. */
  installedAt: number | undefined;
  /** Why the conflist is not written (yet), for introspection and tests; undefined once it is. */
  blockedBy: string | undefined;
  /** Asks the chained plugins' binaries which spec versions they speak (cached per binary). */
  readonly prober: ChainVersionProber;

  constructor(private readonly o: ConflistKeeperOptions) {
    this.prober = new ChainVersionProber({ binDirs: [o.binDir], now: () => o.clock.now() });
  }

  /** Installs the conflist once ipamd serves, then checks every minute that it is still there. */
  async run(daemon: IpamDaemon): Promise<void> {
    const { clock, log, confDir, binDir } = this.o;
    let lastWhy = '';
    let lastLimit = '';
    while (!this.o.signal.aborted) {
      let why = await this.notReadyReason(daemon, binDir);
      let content = '';
      let versions: { cniVersion: string; cniVersions: string[] } | undefined;
      let versionProblem = false;
      if (!why) {
        // Rendered each round: a replaced plugin binary may change the versions (probes are cached per binary).
        try {
          const v = await this.prober.negotiate(this.o.options.chain, this.o.options.cniVersion);
          content = renderConflist(this.o.options, v);
          versions = { cniVersion: v.cniVersion, cniVersions: v.cniVersions };
          const limit = v.limitedBy.join(',');
          if (limit && limit !== lastLimit) {
            const o = { cniVersion: v.cniVersion, configured: this.o.options.cniVersion, limitedBy: v.limitedBy };
            log.warn(o, 'CNI config cniVersion is below VPC_IPAM_CNI_VERSION: not every chained plugin speaks it');
          }
          lastLimit = limit;
        } catch (err) {
          // An existing conflist is left alone: it may be working, and removing it would turn the node NotReady.
          why = `CNI versions: ${(err as Error).message}`;
          versionProblem = true;
          if (why !== lastWhy) this.reportVersionProblem(err, why);
        }
      }
      this.blockedBy = why;
      if (why) {
        if (why !== lastWhy && !versionProblem) {
          log.warn({ why }, 'not writing the CNI config yet: the node stays NotReady until ipamd can serve Pods');
        }
        lastWhy = why;
      } else {
        lastWhy = '';
        try {
          if (installConflist(confDir, content)) {
            this.installedAt = clock.now();
            log.info({ dir: confDir, ...versions }, 'CNI config installed');
            const before = configsBefore(confDir);
            if (before.length)
              log.warn(
                { before },
                'other CNI configs sort before ours; the runtime uses the first one, so Pods will not use vpc-ipam',
              );
          }
          this.o.afterInstall?.();
        } catch (err) {
          log.error({ err: (err as Error).message, confDir }, 'cannot write the CNI config');
        }
      }
      await clock.sleep(this.installedAt !== undefined && !why ? 60_000 : 1_000, this.o.signal).catch(() => {});
    }
  }

  /** Logs (error: someone must fix the install) and puts a Warning Event on the Node. */
  private reportVersionProblem(err: unknown, why: string): void {
    const supported = err instanceof NoCommonCniVersionError ? err.supported : undefined;
    const problem = err instanceof CniVersionError ? err.problem : 'internal';
    const fields = { why, problem, ...(supported ? { supported } : {}) };
    this.o.log.error(fields, 'not writing the CNI config: no CNI version every plugin can use (an old one is kept)');
    void this.o.sink.emit({
      type: 'Warning',
      reason: EVENT_REASONS.cniVersionMismatch,
      message: `not writing the CNI config: ${(err as Error).message}`.slice(0, 1000),
      node: this.o.nodeName,
      at: this.o.clock.now(),
    });
  }

  private async notReadyReason(daemon: IpamDaemon, binDir: string): Promise<string | undefined> {
    const st = daemon.status();
    const identity = this.o.identityProblem();
    if (identity) return identity;
    if (!daemon.ready) return 'ipamd is initialising';
    if (!st.ready) return st.reason ?? 'pool not ready';
    // Empty, short, and the first growth did not work (e.g. no PodSubnetConfig under custom networking). Ready
    // comes before the first pool tick (issue 17): an empty pool with no plan yet has not tried to grow.
    const snap = daemon.snapshot();
    const short = daemon.reconciler?.plan?.shortAddresses ?? 0;
    if (snap.total === 0 && (short > 0 || !daemon.reconciler?.plan))
      return `pool is empty and could not grow yet (${daemon.reconciler.plan?.reason ?? 'no plan'})`;
    const missing = missingBinaries(binDir, this.o.options);
    if (missing.length) return `plugin binaries missing in ${binDir}: ${missing.join(', ')}`;
    try {
      const r = await callIpamd(this.o.socketPath, { v: PROTOCOL_VERSION, op: 'hello' }, 5_000);
      if (!r.ok) return `ipamd socket answered ${r.error.code}`;
    } catch (err) {
      return `ipamd socket does not answer: ${(err as Error).message}`;
    }
    return undefined;
  }
}
