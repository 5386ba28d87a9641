/**
 * @module Kubernetes node agent
 * Everything ipamd does with the API server when it runs as a DaemonSet Pod
 * (`MY_NODE_NAME` set), wired around an {@link IpamDaemon}:
 *
 * 1. `create`: reads the Node (retrying until the API server answers: its
 *    labels choose the Pod subnets of the very first interface).
 * 2. `podSubnets`: this node's PodSubnetConfig, the source the node's
 *    composition (ipamd/setup/pod-subnets.ts) hands to the provider's subnet
 *    choice; so the agent is created before the provider.
 *    `hooks()`: the Event sink, the node name, action-error Events.
 * 3. `attach(daemon)` after `init()`: checks the Node is this machine, lists
 *    the node's Pods (demand) and starts the watch and the stale-assignment
 *    reaper, before the first pool tick.
 * 4. `serve(daemon)` after the servers are up: publishes on the Node and
 *    installs the CNI conflist once ipamd answers on its socket.
 * 5. `stop()` on SIGTERM, before the daemon stops: ends the loops; removes the
 *    conflist only when the DaemonSet is being uninstalled.
 */
import { PROTOCOL_VERSION } from '../api/protocol.js';
import { callIpamd } from '../ctl/socket-client.js';
import type { DaemonConfig } from '../config.js';
import type { DaemonDeps, IpamDaemon } from '../daemon.js';
import type { Logger } from '../observability/logger.js';
import type { ReconcilerEvents } from '../pool/reconciler.js';
import type { NodeInventory } from '../../providers/types.js';
import { CloudError, ConfigError, IpamError } from '../../providers/errors.js';
import type { Clock } from '../util/clock.js';
import { createApis, describeError, loadKubeConfig, type K8sApis } from './client.js';
import { ChainVersionProber, CniVersionError, NoCommonCniVersionError } from './cni-versions.js';
import { conflistOptionsFromEnv, configsBefore, installConflist, missingBinaries, removeConflist, renderConflist, type ConflistOptions } from './conflist.js';
import { K8sEventSink } from './events.js';
import { EVENT_REASONS } from './names.js';
import { computeMaxPods, NodePublisher } from './node-publisher.js';
import { NodeSubnets } from './node-subnets.js';
import { expectedDemand } from './pod-demand.js';
import { NodePodWatch } from './pod-watch.js';
import { StaleAssignmentReaper } from './reaper.js';
import { parseK8sSettings, type K8sSettings } from './settings.js';
import { checkUninstall } from './uninstall.js';

export interface K8sNodeAgentOptions {
  config: DaemonConfig;
  clock: Clock;
  log: Logger;
}

/** Whether the Node's providerID names the instance the cloud provider found (`aws:///us-east-1a/i-0abc`). */
export function providerIdMatches(providerId: string, instanceId: string): boolean {
  const segments = providerId.split('/').filter((s) => s !== '');
  return segments.includes(instanceId) || segments[segments.length - 1] === instanceId.split('/').pop();
}

export class K8sNodeAgent {
  readonly sink: K8sEventSink;
  /** This node's PodSubnetConfig, read at every interface creation. */
  readonly podSubnets: NodeSubnets;
  podWatch: NodePodWatch | undefined;
  reaper: StaleAssignmentReaper | undefined;
  publisher: NodePublisher | undefined;
  private readonly conflist: ConflistOptions;
  /** Asks the chained plugins' binaries which spec versions they speak (cached per binary). */
  readonly cniVersions: ChainVersionProber;
  private readonly stopper = new AbortController();
  private conflistLoop: Promise<void> | undefined;
  private daemon: IpamDaemon | undefined;
  conflistInstalledAt: number | undefined;
  /** Why the conflist is not written (yet), for introspection and tests; undefined once it is. */
  conflistBlockedBy: string | undefined;

  private constructor(
    private readonly o: K8sNodeAgentOptions,
    readonly settings: K8sSettings,
    readonly apis: K8sApis,
    readonly nodeMeta: { uid?: string; providerId?: string; cpus?: number; zone?: string },
  ) {
    const s = settings;
    this.sink = new K8sEventSink({ apis, clock: o.clock, namespace: s.namespace, instance: s.nodeName, log: o.log, minWriteIntervalMs: s.eventIntervalMs });
    this.podSubnets = new NodeSubnets({ apis, nodeName: s.nodeName, selectKey: s.selectKey });
    this.conflist = conflistOptionsFromEnv(o.config.env, o.config.socketPath, o.config.addWaitMs);
    this.cniVersions = new ChainVersionProber({ binDirs: [s.binDir], now: () => o.clock.now() });
  }

  /** Parses the settings (ConfigError on a bad one) and reads the Node, retrying until the API server answers. */
  static async create(o: K8sNodeAgentOptions): Promise<K8sNodeAgent> {
    const settings = parseK8sSettings(o.config.env);
    const apis = createApis(loadKubeConfig(o.config.env), o.clock, settings.timeoutMs);
    for (let attempt = 0; ; attempt++) {
      try {
        const node = await apis.call('read node', () => apis.core.readNode({ name: settings.nodeName }));
        const cpuRaw = node.status?.capacity?.cpu;
        const cpus = cpuRaw === undefined ? undefined : cpuRaw.endsWith('m') ? Number(cpuRaw.slice(0, -1)) / 1000 : Number(cpuRaw);
        return new K8sNodeAgent(o, settings, apis, {
          uid: node.metadata?.uid,
          providerId: node.spec?.providerID,
          cpus: Number.isFinite(cpus) ? cpus : undefined,
          zone: node.metadata?.labels?.['topology.kubernetes.io/zone'],
        });
      } catch (err) {
        o.log.warn({ err: describeError(err), node: settings.nodeName, attempt }, 'cannot read this node from the API server yet; retrying');
        await o.clock.sleep(Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  /** Daemon hooks: put these into DaemonDeps; `providerEvents` (if any) are chained before ours. */
  hooks(providerEvents: ReconcilerEvents = {}): Pick<DaemonDeps, 'eventSink' | 'nodeName' | 'events'> {
    const node = this.settings.nodeName;
    const pe = providerEvents;
    return {
      eventSink: this.sink,
      nodeName: () => node,
      events: {
        ...pe,
        onActionError: (action, err) => {
          pe.onActionError?.(action, err);
          if (action.kind !== 'assign' && action.kind !== 'createInterface') return;
          const code = IpamError.is(err) ? err.code : 'INTERNAL';
          const cloudCode = CloudError.isCloud(err) ? err.cloudCode : code;
          const reason =
            err instanceof ConfigError && err.variable.startsWith('PodSubnetConfig')
              ? EVENT_REASONS.podSubnetConfigInvalid
              : code === 'CLOUD_SUBNET_FULL' || code === 'CLOUD_NO_PREFIX_BLOCK'
                ? EVENT_REASONS.subnetExhausted
                : EVENT_REASONS.poolGrowthFailed;
          void this.sink.emit({
            type: 'Warning',
            reason,
            message: `${action.kind === 'assign' ? 'adding addresses to an interface' : 'creating an interface'} failed: ${(err as Error).message}`,
            node,
            at: this.o.clock.now(),
            cloudCode,
          });
        },
        onGrowthBlocked: (reason, code, until) => {
          pe.onGrowthBlocked?.(reason, code, until);
          this.publisher?.poke();
        },
      },
    };
  }

  /** After daemon.init(), before the pool loop: identity check, Pod list, watch, reaper. */
  async attach(daemon: IpamDaemon): Promise<void> {
    this.daemon = daemon;
    this.checkIdentity(daemon.node);
    const { clock, log } = this.o;
    const s = this.settings;
    this.podWatch = new NodePodWatch({ apis: this.apis, nodeName: s.nodeName, clock, log, onChange: () => this.updateDemand() });
    await this.podWatch.start();
    this.reaper = new StaleAssignmentReaper({
      clock,
      log,
      list: () => this.podWatch!.list(),
      assignments: () => daemon.datastore.list(),
      release: async (a) => {
        const r = await daemon.handler.handle({ v: PROTOCOL_VERSION, op: 'del', network: a.network, containerId: a.containerId, ifName: a.ifName });
        return r.ok && 'released' in r && r.released === true;
      },
      intervalMs: s.reapIntervalMs,
      confirmMs: s.reapConfirmMs,
      onReleased: (a) =>
        void this.sink.emit({
          type: 'Normal',
          reason: EVENT_REASONS.staleAssignmentReleased,
          message: `released ${a.ip} of Pod ${a.pod.namespace ?? '?'}/${a.pod.name ?? '?'} (uid ${a.pod.uid}, container ${a.containerId.slice(0, 12)}): the Pod no longer exists`,
          node: s.nodeName,
          at: clock.now(),
        }),
    });
    this.reaper.start();
  }

  /** After the servers are up: Node publications and the conflist. */
  serve(daemon: IpamDaemon): void {
    const s = this.settings;
    this.publisher = new NodePublisher({
      apis: this.apis,
      clock: this.o.clock,
      nodeName: s.nodeName,
      host: daemon,
      maxPods: () => this.maxPods(daemon),
      sink: this.sink,
      intervalMs: s.publishIntervalMs,
      heartbeatMs: s.heartbeatMs,
      log: this.o.log,
    });
    this.publisher.start();
    if (s.writeConflist) this.conflistLoop = this.keepConflist(daemon);
  }

  maxPods(daemon: IpamDaemon): { maxPods: number; podAddresses: number } {
    const s = daemon.snapshot();
    return computeMaxPods({
      limits: daemon.poolLimits,
      attachedInterfaces: s.interfaces.length,
      blockSize: s.mode === 'prefix' ? 2 ** (32 - daemon.instanceLimits.prefixLength) : 1,
      customNetworking: this.settings.customNetworking,
      cpus: this.nodeMeta.cpus,
      ...(this.settings.maxPodsCeiling !== undefined ? { ceiling: this.settings.maxPodsCeiling } : {}),
    });
  }

  /** Stops the loops; on uninstall (DaemonSet gone) removes the conflist. */
  async stop(opts: { checkUninstall?: boolean } = {}): Promise<{ removedConflist: boolean }> {
    this.stopper.abort();
    await Promise.allSettled([this.podWatch?.stop(), this.reaper?.stop(), this.publisher?.stop(), this.conflistLoop]);
    let removed = false;
    if (opts.checkUninstall && this.settings.writeConflist) {
      const u = await checkUninstall(this.apis, this.settings.namespace, this.settings.podName);
      this.o.log.info(u, u.uninstalling ? 'uninstalling: removing the CNI config' : 'restart, not uninstall: keeping the CNI config');
      if (u.uninstalling) removed = removeConflist(this.settings.confDir);
    }
    return { removedConflist: removed };
  }

  private updateDemand(): void {
    const d = this.daemon;
    if (!d || !this.podWatch) return;
    d.setExpectedDemand(expectedDemand(this.podWatch.pods.values(), d.datastore.list()));
  }

  private checkIdentity(inv: NodeInventory): void {
    const pid = this.nodeMeta.providerId;
    if (!pid) {
      this.o.log.warn({ node: this.settings.nodeName, instanceId: inv.instanceId }, 'Node has no spec.providerID; cannot check it is this machine');
      return;
    }
    if (!providerIdMatches(pid, inv.instanceId)) {
      throw new ConfigError('MY_NODE_NAME', `Node ${this.settings.nodeName} has providerID ${pid}, but this machine is ${inv.instanceId}: ipamd would publish on the wrong Node`);
    }
  }

  /** Installs the conflist once ipamd serves, then checks every minute that it is still there. */
  private async keepConflist(daemon: IpamDaemon): Promise<void> {
    const { clock, log } = this.o;
    const { confDir, binDir } = this.settings;
    let lastWhy = '';
    let lastLimit = '';
    while (!this.stopper.signal.aborted) {
      let why = await this.notReadyReason(daemon, binDir);
      let content = '';
      let versions: { cniVersion: string; cniVersions: string[] } | undefined;
      let versionProblem = false;
      if (!why) {
        // Rendered each round: a replaced plugin binary may change the versions (probes are cached per binary).
        try {
          const v = await this.cniVersions.negotiate(this.conflist.chain, this.conflist.cniVersion);
          content = renderConflist(this.conflist, v);
          versions = { cniVersion: v.cniVersion, cniVersions: v.cniVersions };
          const limit = v.limitedBy.join(',');
          if (limit && limit !== lastLimit) {
            const o = { cniVersion: v.cniVersion, configured: this.conflist.cniVersion, limitedBy: v.limitedBy };
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
      this.conflistBlockedBy = why;
      if (why) {
        if (why !== lastWhy && !versionProblem) {
          log.warn({ why }, 'not writing the CNI config yet: the node stays NotReady until ipamd can serve Pods');
        }
        lastWhy = why;
      } else {
        lastWhy = '';
        try {
          if (installConflist(confDir, content)) {
            this.conflistInstalledAt = clock.now();
            log.info({ dir: confDir, ...versions }, 'CNI config installed');
            const before = configsBefore(confDir);
            if (before.length) log.warn({ before }, 'other CNI configs sort before ours; the runtime uses the first one, so Pods will not use vpc-ipam');
          }
        } catch (err) {
          log.error({ err: (err as Error).message, confDir }, 'cannot write the CNI config');
        }
      }
      await clock.sleep(this.conflistInstalledAt !== undefined && !why ? 60_000 : 1_000, this.stopper.signal).catch(() => {});
    }
  }

  /** Logs (error: someone must fix the install) and puts a Warning Event on the Node. */
  private reportVersionProblem(err: unknown, why: string): void {
    const supported = err instanceof NoCommonCniVersionError ? err.supported : undefined;
    const problem = err instanceof CniVersionError ? err.problem : 'internal';
    const fields = { why, problem, ...(supported ? { supported } : {}) };
    this.o.log.error(fields, 'not writing the CNI config: no CNI version every plugin can use (an old one is kept)');
    void this.sink.emit({
      type: 'Warning',
      reason: EVENT_REASONS.cniVersionMismatch,
      message: `not writing the CNI config: ${(err as Error).message}`.slice(0, 1000),
      node: this.settings.nodeName,
      at: this.o.clock.now(),
    });
  }

  private async notReadyReason(daemon: IpamDaemon, binDir: string): Promise<string | undefined> {
    const st = daemon.status();
    if (!daemon.ready) return 'ipamd is initialising';
    if (!st.ready) return st.reason ?? 'pool not ready';
    // Empty, short, and the first growth did not work (e.g. no PodSubnetConfig under custom networking).
    const snap = daemon.snapshot();
    const short = daemon.reconciler?.plan?.shortAddresses ?? 0;
    if (snap.total === 0 && short > 0) return `pool is empty and could not grow yet (${daemon.reconciler.plan?.reason ?? 'no plan'})`;
    const missing = missingBinaries(binDir, this.conflist);
    if (missing.length) return `plugin binaries missing in ${binDir}: ${missing.join(', ')}`;
    try {
      const r = await callIpamd(this.o.config.socketPath, { v: PROTOCOL_VERSION, op: 'hello' }, 5_000);
      if (!r.ok) return `ipamd socket answered ${r.error.code}`;
    } catch (err) {
      return `ipamd socket does not answer: ${(err as Error).message}`;
    }
    return undefined;
  }
}
