/**
 * @module Kubernetes node agent
 * Everything ipamd does with the API server when it runs as a DaemonSet Pod
 * (`MY_NODE_NAME` set), wired around an {@link IpamDaemon}:
 *
 * 1. `create`: one read of the Node and its PodSubnetConfig (their labels
 *    choose the Pod subnets of new interfaces), cached in the state dir
 *    (node-cache.ts). No retry loop: when the API server is down, ipamd
 *    starts from the cached Node and its checkpoint, and serves ADD and DEL.
 * 2. `podSubnets`: this node's PodSubnetConfig, the source the node's
 *    composition (ipamd/setup/pod-subnets.ts) hands to the provider's subnet
 *    choice; so the agent is created before the provider. It falls back to
 *    the last good Node and config on anything but a 404 (node-subnets.ts).
 *    `eniConfigs`: its AWS ENIConfig, the source after it under custom
 *    networking (node-eni-config.ts), over the same Node reads.
 *    `hooks()`: the Event sink, the node name, action-error Events, and with
 *    ANNOTATE_POD_IP the Pod address hook (pod-ip-annotation.ts).
 * 3. `attach(daemon)` after `init()`: checks the Node is this machine (when
 *    it is known), and starts the Pod list/watch (demand) in the background
 *    and the stale-assignment reaper, before the first pool tick.
 * 4. `serve(daemon)` after the servers are up: publishes the pool (its
 *    NodeAddressPool) and max Pods (on the Node), and
 *    installs the CNI conflist once ipamd answers on its socket. A Node not
 *    known at start is read in the background until the API server answers;
 *    only then is the identity checked and the reaper and publisher started
 *    (both act on "this node's" Pods and Node, so they must be ours).
 * 5. `stop()` on SIGTERM, before the daemon stops: ends the loops; removes the
 *    conflist only when the DaemonSet is being uninstalled (seen by the watch
 *    kept on it from start, daemonset-watch.ts, or read at stop).
 */
import * as path from 'node:path';
import { PROTOCOL_VERSION } from '../../cni/contract/protocol.js';
import type { DaemonConfig, KubernetesConfig } from '../config.js';
import type { K8sSettings } from '../config/kubernetes.js';
import type { PodAddressHook } from '../api/pod-address-hook.js';
import type { DaemonDeps, IpamDaemon } from '../daemon.js';
import type { Logger } from '../observability/logger.js';
import type { ReconcilerEvents } from '../pool/reconciler.js';
import type { NodeInventory } from '../../providers/types.js';
import { ConfigError } from '../../providers/errors.js';
import type { Clock } from '../util/clock.js';
import { actionErrorEvent } from './action-events.js';
import { createApis, describeError, loadKubeConfig, retryFloorMs, type K8sApis } from './client.js';
import { ConflistKeeper } from './conflist-keeper.js';
import { registerEventErrorMetric } from './event-metrics.js';
import { K8sEventSink } from './events.js';
import { EVENT_REASONS } from './names.js';
import { computeMaxPods, NodePublisher } from './node-publisher.js';
import { NODE_CACHE_FILE, NodeCache } from './node-cache.js';
import { eniConfigNodeKeys, NodeEniConfigs } from './node-eni-config.js';
import { NodeSubnets } from './node-subnets.js';
import { PodIpAnnotator } from './pod-ip-annotation.js';
import { expectedDemand } from './pod-demand.js';
import { NodePodWatch } from './pod-watch.js';
import { StaleAssignmentReaper } from './reaper.js';
import { watchOwnDaemonSet, type OwnDaemonSetWatch } from './daemonset-watch.js';
import { removeIfUninstalling } from './uninstall.js';
import { addressCount } from '../../providers/net/cidr.js';
import { awsConflistSwap } from '../adopt/aws-conflist.js';

export interface K8sNodeAgentOptions {
  /** The daemon's settings it shares (state dir, socket) and its own (ipamd/config/kubernetes.ts). */
  config: Pick<DaemonConfig, 'stateDir' | 'socketPath' | 'adoption'>;
  kubernetes: KubernetesConfig;
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
  /** This node's PodSubnetConfig, read at every interface creation (last good copy on outages). */
  readonly podSubnets: NodeSubnets;
  /** This node's AWS ENIConfig (custom networking), read at every interface creation; also /v1/eni-configs. */
  readonly eniConfigs: NodeEniConfigs;
  /** ANNOTATE_POD_IP: the Pod's vpc.amazonaws.com/pod-ips annotation; undefined when off. */
  readonly podIpAnnotator: PodIpAnnotator | undefined;
  podWatch: NodePodWatch | undefined;
  reaper: StaleAssignmentReaper | undefined;
  publisher: NodePublisher | undefined;
  /** Writes the conflist once ipamd can serve Pods, and keeps it there. */
  private readonly conflist: ConflistKeeper;
  private readonly stopper = new AbortController();
  private conflistLoop: Promise<void> | undefined;
  /** Follows our DaemonSet from start: its deletion, seen while the token worked, decides the uninstall. */
  readonly ownDaemonSet: OwnDaemonSetWatch | undefined;
  private daemon: IpamDaemon | undefined;
  /** The background Node read of a start without one (attach → untilNodeKnown). */
  private online: Promise<void> | undefined;
  private serving = false;
  private identityChecked = false;
  /** Set when the Node, read after start, turned out to be another machine. */
  identityProblem: string | undefined;

  get conflistInstalledAt(): number | undefined {
    return this.conflist.installedAt;
  }

  /** Why the conflist is not written (yet), for introspection and tests; undefined once it is. */
  get conflistBlockedBy(): string | undefined {
    return this.conflist.blockedBy;
  }

  private constructor(
    private readonly o: K8sNodeAgentOptions,
    readonly settings: K8sSettings,
    readonly apis: K8sApis,
    podSubnets: NodeSubnets,
  ) {
    const s = settings;
    this.sink = new K8sEventSink({
      apis,
      clock: o.clock,
      namespace: s.namespace,
      instance: s.nodeName,
      log: o.log,
      minWriteIntervalMs: s.eventIntervalMs,
    });
    this.podSubnets = podSubnets;
    this.eniConfigs = new NodeEniConfigs({
      apis,
      nodeName: s.nodeName,
      keys: s.eniConfigKeys,
      customNetworking: s.customNetworking,
      readNode: () => podSubnets.readNode(),
      log: o.log,
    });
    this.podIpAnnotator = s.annotatePodIp ? new PodIpAnnotator({ apis, log: o.log }) : undefined;
    this.conflist = new ConflistKeeper({
      clock: o.clock,
      log: o.log,
      confDir: s.confDir,
      binDir: s.binDir,
      nodeName: s.nodeName,
      socketPath: o.config.socketPath,
      options: o.kubernetes.conflist,
      sink: this.sink,
      identityProblem: () => this.identityProblem,
      signal: this.stopper.signal,
      ...(o.config.adoption ? { afterInstall: awsConflistSwap(s.confDir, o.log) } : {}),
    });
    this.ownDaemonSet = watchOwnDaemonSet(s, { apis, clock: o.clock, log: o.log });
  }

  /** What ipamd knows of its Node: fresh, or the cached copy while the API server is down. */
  get nodeMeta(): { uid?: string; providerId?: string; cpus?: number; zone?: string } {
    return this.podSubnets.facts ?? {};
  }

  /** Builds the client (ConfigError on a bad kubeconfig) and tries the Node once; never waits for the API server. */
  static async create(o: K8sNodeAgentOptions): Promise<K8sNodeAgent> {
    const settings = o.kubernetes.settings;
    const apis = createApis(loadKubeConfig(o.kubernetes.connection), o.clock, settings.timeoutMs);
    const cache = new NodeCache(path.join(o.config.stateDir, NODE_CACHE_FILE), settings.nodeName, o.log);
    const podSubnets = new NodeSubnets({
      apis,
      nodeName: settings.nodeName,
      selectKey: settings.selectKey,
      alsoKeys: eniConfigNodeKeys(settings.eniConfigKeys),
      cache,
      log: o.log,
      now: () => o.clock.now(),
    });
    const got = await podSubnets.prime();
    if (got.node !== 'fresh') {
      const err = got.err === undefined ? undefined : describeError(got.err);
      const fields = { node: settings.nodeName, err, cache: cache.file };
      const why = {
        cached: 'API server not reachable at start: using the cached Node; serving from the checkpoint',
        unknown:
          'API server not reachable at start and no cached Node: serving from the checkpoint; ' +
          'new interfaces wait for the API server',
        'not-found':
          'this Node is not in the API server (deleted, or MY_NODE_NAME is wrong): serving from the checkpoint',
      }[got.node];
      o.log.warn(fields, `${why}; the Node and the Pod list are read in the background`);
    }
    return new K8sNodeAgent(o, settings, apis, podSubnets);
  }

  /** What the daemon takes from Kubernetes: where its events go, the node's name, a reconciler subscriber. */
  hooks(): Required<Pick<DaemonDeps, 'eventSink' | 'nodeName'>> & {
    subscriber: ReconcilerEvents;
    podAddresses?: PodAddressHook;
  } {
    const node = this.settings.nodeName;
    return {
      ...(this.podIpAnnotator ? { podAddresses: this.podIpAnnotator } : {}),
      eventSink: this.sink,
      nodeName: () => node,
      subscriber: {
        onActionError: (action, err) => {
          const e = actionErrorEvent(action, err, node, this.o.clock.now());
          if (e) void this.sink.emit(e);
        },
        // The pool can no longer grow: publish it now rather than at the next interval.
        onGrowthBlocked: () => this.publisher?.poke(),
      },
    };
  }

  /** After daemon.init(), before the pool loop: identity check (Node known), Pod list/watch, reaper. */
  async attach(daemon: IpamDaemon): Promise<void> {
    this.daemon = daemon;
    registerEventErrorMetric(daemon.metrics.registry, this.sink);
    const { clock, log } = this.o;
    const s = this.settings;
    const known = this.podSubnets.facts !== undefined;
    // Known (fresh or cached): a Node that is another machine stops the start, as it always did.
    if (known) this.checkIdentity(daemon.node);
    this.podWatch = new NodePodWatch({
      apis: this.apis,
      nodeName: s.nodeName,
      clock,
      log,
      onChange: () => this.updateDemand(),
    });
    // In the background: a Pod list that cannot be had must not keep the socket from serving.
    this.podWatch.startInBackground();
    if (known) this.verified(daemon);
    else this.online = this.untilNodeKnown(daemon);
  }

  /** After the servers are up: Node publications (once the Node is verified) and the conflist. */
  serve(daemon: IpamDaemon): void {
    this.serving = true;
    if (this.identityChecked) this.startPublisher(daemon);
    if (this.settings.writeConflist) this.conflistLoop = this.conflist.run(daemon);
  }

  /** The Node is this machine: start what acts on "this node's" Pods and Node object. */
  private verified(daemon: IpamDaemon): void {
    this.identityChecked = true;
    this.startReaper(daemon);
    if (this.serving) this.startPublisher(daemon);
  }

  /** Started without a Node (API server down, no cache): read it until the API server answers, then verify. */
  private async untilNodeKnown(daemon: IpamDaemon): Promise<void> {
    const { clock, log } = this.o;
    for (let attempt = 0; this.podSubnets.facts === undefined && !this.stopper.signal.aborted; attempt++) {
      try {
        await this.podSubnets.readNode();
      } catch (err) {
        const fields = { err: describeError(err), node: this.settings.nodeName, attempt };
        const what = 'cannot read this Node yet: no publication and no stale-assignment reaping until then';
        if (attempt % 10 === 0) log.warn(fields, what);
        // Never sooner than the server's Retry-After (NodeUnknownError carries the API error as its cause).
        const backoff = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
        const ms = Math.max(retryFloorMs((err as Error).cause ?? err), backoff);
        await clock.sleep(ms, this.stopper.signal).catch(() => {});
      }
    }
    if (this.stopper.signal.aborted) return;
    try {
      this.checkIdentity(daemon.node);
    } catch (err) {
      // Too late to refuse the start: serve the checkpoint, but never act on another machine's Node or Pods.
      this.identityProblem = (err as Error).message;
      const what = 'this Node is another machine: not publishing, not reaping, not writing the CNI config';
      log.error({ err: this.identityProblem }, what);
      return;
    }
    log.info({ node: this.settings.nodeName }, 'Node read: publishing and stale-assignment reaping start');
    this.verified(daemon);
  }

  private startReaper(daemon: IpamDaemon): void {
    const { clock, log } = this.o;
    const s = this.settings;
    this.reaper = new StaleAssignmentReaper({
      clock,
      log,
      // Routine passes from the watch cache (NotOlderThan what our watch has seen); a consistent read before a release.
      list: ({ consistent }) => this.podWatch!.list(consistent ? {} : { notOlderThan: this.podWatch!.resourceVersion }),
      assignments: () => daemon.datastore.list(),
      release: async (a) => {
        const r = await daemon.handler.handle({
          v: PROTOCOL_VERSION,
          op: 'del',
          network: a.network,
          containerId: a.containerId,
          ifName: a.ifName,
        });
        return r.ok && 'released' in r && r.released === true;
      },
      intervalMs: s.reapIntervalMs,
      confirmMs: s.reapConfirmMs,
      onReleased: (a) =>
        void this.sink.emit({
          type: 'Normal',
          reason: EVENT_REASONS.staleAssignmentReleased,
          message:
            `released ${a.ip} of Pod ${a.pod.namespace ?? '?'}/${a.pod.name ?? '?'} (uid ${a.pod.uid}, ` +
            `container ${a.containerId.slice(0, 12)}): the Pod is gone (deleted, or Succeeded/Failed)`,
          node: s.nodeName,
          at: clock.now(),
        }),
    });
    this.reaper.start();
  }

  private startPublisher(daemon: IpamDaemon): void {
    if (this.publisher) return;
    const s = this.settings;
    this.publisher = new NodePublisher({
      apis: this.apis,
      clock: this.o.clock,
      nodeName: s.nodeName,
      host: daemon,
      maxPods: () => this.maxPods(daemon),
      sink: this.sink,
      // A fresh read: the Node may have been replaced under the same name since start (its old uid is gone).
      nodeUid: async () => (await this.podSubnets.readNode()).uid,
      intervalMs: s.publishIntervalMs,
      heartbeatMs: s.heartbeatMs,
      log: this.o.log,
    });
    this.publisher.start();
  }

  maxPods(daemon: IpamDaemon): { maxPods: number; podAddresses: number } {
    const s = daemon.snapshot();
    return computeMaxPods({
      limits: daemon.poolLimits,
      attachedInterfaces: s.interfaces.length,
      blockSize: s.mode === 'prefix' ? addressCount(4, daemon.instanceLimits.prefixLength) : 1,
      customNetworking: this.settings.customNetworking,
      cpus: this.nodeMeta.cpus,
      ...(this.settings.maxPodsCeiling !== undefined ? { ceiling: this.settings.maxPodsCeiling } : {}),
    });
  }

  /** Stops the loops; on uninstall (DaemonSet gone) removes the conflist. */
  async stop(opts: { checkUninstall?: boolean } = {}): Promise<{ removedConflist: boolean; uninstalling: boolean }> {
    this.stopper.abort();
    await this.online;
    await Promise.allSettled([this.podWatch?.stop(), this.reaper?.stop(), this.publisher?.stop(), this.conflistLoop]);
    const check = opts.checkUninstall && this.settings.writeConflist;
    const u = check ? await removeIfUninstalling(this.ownDaemonSet, this.apis, this.settings, this.o.log) : undefined;
    await this.ownDaemonSet?.stop();
    return { removedConflist: u?.removed ?? false, uninstalling: u?.uninstalling ?? false };
  }

  private updateDemand(): void {
    const d = this.daemon;
    if (!d || !this.podWatch) return;
    d.setExpectedDemand(expectedDemand(this.podWatch.pods.values(), d.datastore.list()));
  }

  private checkIdentity(inv: NodeInventory): void {
    const pid = this.nodeMeta.providerId;
    if (!pid) {
      this.o.log.warn(
        { node: this.settings.nodeName, instanceId: inv.instanceId },
        'Node has no spec.providerID; cannot check it is this machine',
      );
      return;
    }
    if (!providerIdMatches(pid, inv.instanceId)) {
      throw new ConfigError(
        'MY_NODE_NAME',
        `Node ${this.settings.nodeName} has providerID ${pid}, but this machine is ${inv.instanceId}: ` +
          'ipamd would publish on the wrong Node',
      );
    }
  }
}
