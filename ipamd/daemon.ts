/**
 * @module daemon
 * Wiring only: builds the datastore, allocator, reconciler and servers from a
 * config, a provider, a clock and a checkpointer, and runs them. The same
 * core (without servers) runs in the simulator on a virtual clock.
 *
 * Start order matters for "no lost state" (docs/troubleshooting.md, "Start-up"). init(), before the socket
 * serves: know the node (the node cache's copy of the cloud's last description, else the cloud), restore the
 * checkpoint over it (assignments the node does not show are kept as orphans, never dropped), write it back,
 * replay DELs the plugin spooled while we were down, repair host networking. Then the socket serves: a DEL or a
 * repeated ADD is answered from the checkpoint alone. startLoop(), in the background: read the cloud (no new
 * address is handed out before its view is applied: someone may have unassigned one while ipamd was down),
 * delete the interfaces an earlier run left detached, and fill the pool.
 */
import { ConfigError } from '../providers/errors.js';
import { Allocator, type GrowthState } from './allocator.js';
import type { PoolStatus } from '../cni/contract/protocol.js';
import { CloudCaller } from './cloud/cloud-caller.js';
import { LeakReclaimRunner } from './cloud/leak-reclaim.js';
import type { DaemonDeps } from './daemon-deps.js';
import { Datastore } from './datastore/datastore.js';
import { PersistenceHealth } from './datastore/persist-health.js';
import type { Assignment, PoolSnapshot } from './datastore/types.js';
import { HostInterfaceSync } from './netns/interface-sync.js';
import { NodeNetfilter } from './netns/netfilter.js';
import { NodeNetworkSync } from './netns/node-network.js';
import { DaemonMetrics } from './observability/metrics.js';
import { awsCniSources } from './observability/awscni-sources.js';
import { cloudCallCounts, poolStatus } from './observability/pool-status.js';
import { formatStatusLine } from './observability/status-line.js';
import { growthState, poolLimitsFor } from './pool/capacity.js';
import type { PoolPolicy } from './pool/policy.js';
import { createPoolPolicy } from './pool/policy-factory.js';
import { buildHandler, buildReconciler } from './daemon-build.js';
import { replayPendingReleases } from './api/pending-release.js';
import { DaemonServers } from './server/daemon-servers.js';
import { InitParts } from './daemon-parts.js';
import type { HttpPorts } from './server/endpoints.js';
import { NodeMonitor } from './monitor/node-monitor.js';
import { addressCount } from '../providers/net/cidr.js';
import { StartTimeline } from './start-timeline.js';
import { applyCloudView, cachedNodeFor, checkCachedNode, nodeForCache } from './start-node.js';

// What builds a daemon, importable with it.
export type { DaemonDeps } from './daemon-deps.js';

export class IpamDaemon extends InitParts {
  readonly datastore: Datastore;
  readonly metrics: DaemonMetrics;
  readonly caller: CloudCaller;
  readonly policy: PoolPolicy;
  /** Host links and route tables of secondary interfaces (netns/interface-sync.ts). */
  readonly hostLinks: HostInterfaceSync;
  /** Node-wide SNAT, NodePort return path and rp_filter (netns/node-network.ts); only with real plumbing. */
  readonly nodeNetwork: NodeNetworkSync | undefined;
  /** Interfaces this node left detached (cloud/leak-reclaim.ts). */
  readonly leaks: LeakReclaimRunner;
  /** The checkpointer as the daemon uses it: remembers whether the last write worked (readiness). */
  readonly persistence: PersistenceHealth;
  private initialised = false;
  /** The cloud's own view of the node is applied: only then are new addresses handed out. */
  private cloudRead = false;
  /** init() took the node from the node cache; startLoop() replaces it by the cloud's description. */
  private fromCache = false;
  private orphansAtStart: readonly Assignment[] = [];
  readonly timeline: StartTimeline;
  private expected = 0;
  private readonly loop = new AbortController();
  private loopDone: Promise<void> | undefined;
  private persistWatch: Promise<void> | undefined;
  private readonly servers: DaemonServers;
  /** The plugin socket accepts requests (readiness). */
  serving = false;

  constructor(readonly d: DaemonDeps) {
    super();
    const c = d.config;
    this.datastore = new Datastore(c.prefixDelegation ? 'prefix' : 'ip', c.cooldownMs);
    this.persistence = new PersistenceHealth(d.checkpointer, d.clock);
    this.timeline = d.timeline ?? new StartTimeline(() => d.clock.now());
    // The one policy factory (also what the simulator replays); limits are read lazily, known after init().
    this.policy = createPoolPolicy(c, { limits: () => this.parts.poolLimits });
    this.metrics = new DaemonMetrics({
      snapshot: () => this.snapshot(),
      growthBlocked: () => this.parts.reconciler?.growthBlocked,
      orphaned: () => this.datastore.orphaned().length,
      shortAddresses: () => this.parts.reconciler?.plan?.shortAddresses ?? 0,
      awscni: c.awscniMetrics ? awsCniSources(this, () => this.parts.poolLimits) : undefined,
    });
    this.caller = new CloudCaller({
      clock: d.clock,
      concurrency: c.cloudConcurrency,
      maxAttempts: c.cloudMaxAttempts,
      random: d.random,
      observer: this.timeline.observe(this.metrics),
    });
    this.hostLinks = new HostInterfaceSync({
      plumber: d.plumber,
      mtu: c.interfaceMtu,
      log: d.log,
      clock: d.clock,
      // ADDs waiting for an address look again: this interface's addresses can be handed out now.
      onConfigured: () => this.parts.allocator?.notify(),
    });
    // Host networking is real only with the netlink plumber (address-only mode has no kernel state).
    this.nodeNetwork =
      c.hostInterfaces && d.plumber.setUpNodeRouting
        ? new NodeNetworkSync({
            plumber: d.plumber,
            netfilter: d.netfilter ?? new NodeNetfilter({ mode: c.hostNetwork.iptablesMode, log: d.log }),
            settings: c.hostNetwork,
            log: d.log,
            now: () => d.clock.now(),
            assigned: () => this.datastore.list(),
          })
        : undefined;
    this.leaks = new LeakReclaimRunner(d.provider, this.caller, d.log);
    this.servers = new DaemonServers(this, c);
  }

  /** Pods known to be coming that have no address yet (set by the Kubernetes Pod watch). */
  get expectedDemand(): number {
    return this.expected;
  }

  /**
   * Tells the pool that `n` Pods bound to this node will ask for an address
   * soon, so it grows before their ADDs arrive (see pool/demand.ts). Wakes the
   * pool loop when demand rises. Not an integer >= 0: RangeError, no change.
   */
  setExpectedDemand(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`expected demand must be an integer >= 0, got ${n}`);
    const rose = n > this.expected;
    this.expected = n;
    if (rose) this.parts.reconciler?.trigger();
  }

  get ready(): boolean {
    return this.initialised;
  }

  snapshot(): PoolSnapshot {
    return this.datastore.snapshot(this.d.clock.now(), this.parts.allocator?.waiting ?? 0);
  }

  /** The node as the cloud describes it now, and its limits (two cloud calls). */
  private async describe(): Promise<void> {
    const { provider } = this.d;
    this.parts.node = await this.caller.call('describeNode', () => provider.describeNode());
    this.parts.instanceLimits = await this.caller.call('getLimits', () => provider.getLimits(this.node.instanceType));
  }

  /**
   * Knows the node (node cache, else the cloud), restores the checkpoint, prepares the pool and host networking:
   * what the socket needs to answer correctly. No servers, no loop; with the node cache, no cloud call either.
   */
  async init(): Promise<void> {
    const { config: c, clock, log } = this.d;
    const cached = cachedNodeFor(this.d);
    if (cached) {
      this.parts.node = cached.node;
      this.parts.instanceLimits = cached.limits;
      this.fromCache = true;
    } else {
      await this.describe();
      this.cloudRead = true;
    }
    this.timeline.mark('node');
    const L = this.instanceLimits;
    if (c.prefixDelegation && !L.supportsPrefixes) {
      throw new ConfigError(
        'ENABLE_PREFIX_DELEGATION',
        `instance type ${L.instanceType} cannot take delegated prefixes (Nitro instances only)`,
      );
    }
    // A cloud that has only prefix blocks (GCP alias ranges) runs in prefix mode whatever the variable says.
    this.datastore.mode = c.prefixDelegation || !L.supportsIps ? 'prefix' : 'ip';
    this.datastore.defaultPrefixSize = addressCount(4, L.prefixLength);
    this.parts.poolLimits = poolLimitsFor(c, L);
    this.parts.monitor = new NodeMonitor(this);
    const now = clock.now();
    // Before the cloud is read, no address is handed out that no Pod holds (docs/troubleshooting.md, "Start-up").
    // New-ENI window: a secondary interface's addresses go to Pods only once its link, table and rule exist.
    const linked = (nic: { id: string; deviceIndex: number }) => nic.deviceIndex === 0 || this.hostLinks.ready(nic.id);
    this.datastore.handOutFrom = (nic) => this.cloudRead && (!this.nodeNetwork || linked(nic));
    for (const nic of this.node.interfaces) this.datastore.upsertInterface(nic, now, this.d.isUsable?.(nic) ?? true);
    // Before the first write: crashed writes' temp files go, and a real write proves the state dir works.
    const swept = await this.persistence.prepare();
    if (swept.length) log.info({ removed: swept }, 'removed temp files of interrupted checkpoint writes');
    const cp = await this.persistence.load();
    if (cp) {
      const r = this.datastore.restore(cp.assignments, cp.cooling, now);
      log.info(r, 'checkpoint restored');
      if (r.orphaned > 0) {
        log.warn(
          { orphaned: this.datastore.orphaned().map((a) => a.ip) },
          'checkpointed addresses not found on this node; kept until their Pods are deleted',
        );
      }
    }
    this.orphansAtStart = this.datastore.orphaned();
    this.timeline.mark('checkpoint');
    // aws-node's Pods, before the first write and before anything is served (a refusal stops the start).
    await this.d.adoption?.adopt(this.datastore, this.node);
    this.parts.allocator = new Allocator({
      datastore: this.datastore,
      checkpointer: this.persistence,
      clock,
      addWaitMs: c.addWaitMs,
      trigger: () => this.reconciler.trigger(),
      growth: () => this.growthState(),
      onAdd: (t) => this.policy.observeAdd?.(t),
      onDel: (t) => this.policy.observeDel?.(t),
      onAddLatency: (ms, waited) => this.metrics.observeAdd(ms, waited),
      log,
    });
    // A state dir that takes no write makes ipamd not ready (status, /healthz) rather than crash-loop.
    await this.allocator
      .persist()
      .catch((err) => log.error({ err }, 'cannot write the checkpoint; not ready until a write succeeds'));
    this.parts.reconciler = buildReconciler(this);
    this.parts.handler = buildHandler(this);
    await this.replaySpool();
    // Interfaces attached before this start (never rejects; an absent link is retried shortly).
    await this.syncHostLinks();
    // Before the socket serves: SNAT and the NodePort path exist before the first Pod (never rejects).
    await this.nodeNetwork?.ensure(this.node);
    await this.d.adoption?.hostNetworkReady(this.nodeNetwork?.state().problems ?? ['no host networking']);
    // A changed SNAT setting or VPC CIDR list since the last run reaches the restored Pods' rules.
    await this.handler.repairPodRules();
    if (this.cloudRead) this.saveNodeCache();
    this.initialised = true;
  }

  /** After a start from the node cache: the cloud's description replaces it (start-node.ts applyCloudView). */
  private async readCloud(): Promise<void> {
    if (!this.fromCache) return;
    const cached = { node: this.node, limits: this.instanceLimits };
    await this.describe();
    checkCachedNode(this.d, cached, { node: this.node, limits: this.instanceLimits });
    this.fromCache = false;
    await applyCloudView(this, cached.node, this.orphansAtStart);
    this.orphansAtStart = [];
  }

  /** Writes the node cache when what it holds changed (a hint: a failed write is only logged). */
  saveNodeCache(): void {
    try {
      this.d.nodeCache?.save({ node: nodeForCache(this.node, this.datastore), limits: this.instanceLimits });
    } catch (err) {
      // A hint only: without it the next start reads the cloud first.
      this.d.log.warn({ err, file: this.d.nodeCache?.location }, 'cannot write the node cache');
    }
  }

  /** A CIDR block added to the VPC (seen at a resync): SNAT and the Pods' rules follow (daemon-events.ts). */
  setVpcCidrs(cidrs: readonly string[]): void {
    this.parts.node = { ...this.node, vpcCidrs: [...cidrs] };
  }

  /** Brings host links and route tables in line with the datastore's interfaces. Never rejects. */
  syncHostLinks(): Promise<void> {
    // The sim cloud's MACs belong to no real link; never let them match a host link by accident.
    if (!this.d.config.hostInterfaces) return Promise.resolve();
    return this.hostLinks.sync(this.datastore.interfaceList());
  }

  private replaying: Promise<void> | undefined;

  /** Replays DELs the plugin spooled while ipamd was unreachable (never two replays at once). */
  replaySpool(): Promise<void> {
    const dir = this.d.pendingReleaseDir;
    if (!dir || !this.handler) return Promise.resolve();
    this.replaying ??= replayPendingReleases(dir, (req) => this.handler.handle(this.metrics.counted(req)), this.d.log)
      .then((n) => {
        if (n > 0) this.d.log.info({ replayed: n }, 'replayed DELs spooled by the plugin while ipamd was unreachable');
      })
      .finally(() => (this.replaying = undefined));
    return this.replaying;
  }

  /**
   * The start's cloud part, then the pool loop in the background: reads the cloud (after a start from the node
   * cache), sweeps interfaces a crash left detached, opens hand-out, and the first tick fills the pool. Rejects
   * only when the cloud cannot be read or is another node than the cache's (the start fails).
   */
  startLoop(): Promise<void> {
    this.starting ??= this.finishStart();
    return this.starting;
  }

  private starting: Promise<void> | undefined;
  private async finishStart(): Promise<void> {
    await this.readCloud();
    this.cloudRead = true;
    this.timeline.mark('cloud');
    this.saveNodeCache();
    this.allocator.notify(); // ADDs waiting for an address look again: hand-out is open
    // Before the pool grows, so a leak's addresses are back in the subnet first.
    await this.leaks.run(true);
    await this.reconciler.tick().catch((err) => this.d.log.error({ err }, 'first pool tick failed'));
    this.timeline.mark('filled');
    this.saveNodeCache();
    if (this.loop.signal.aborted) return; // stopped during the first fill
    this.loopDone = this.reconciler.run(this.loop.signal);
    this.persistWatch = this.persistence.watch(() => this.allocator.persist(), this.loop.signal);
  }

  /**
   * The loopback HTTP endpoints (introspection, metrics). Started before init() by run.ts, so liveness and
   * metrics answer during a long first pool fill; idempotent.
   */
  async startHttp(): Promise<HttpPorts> {
    return this.servers.openHttp();
  }

  /** The plugin socket (and the HTTP endpoints, when not started yet); after init() and startLoop(). */
  async startServers(): Promise<HttpPorts> {
    await this.servers.openSocket({
      handle: (req) => this.handler.handle(this.metrics.counted(req)),
      onBadRequest: (msg) => {
        this.metrics.error('BAD_REQUEST');
        this.d.log.warn({ msg }, 'bad request on the socket');
      },
    });
    this.serving = true;
    const out = await this.startHttp();
    // The monitor's only readers are /metrics and /v1/subnets, so it samples only when they exist.
    this.parts.monitor?.start();
    return out;
  }

  /** Liveness: what a restart would fix. The event loop answers (or no probe gets here), the netlink worker too. */
  async liveness(): Promise<string | undefined> {
    return this.d.plumber.alive?.();
  }

  /** Graceful stop: no new growth, finish in-flight requests and calls, write the checkpoint. */
  async stop(): Promise<void> {
    this.parts.reconciler?.pauseGrowth();
    this.parts.allocator?.notify(); // ADDs waiting for growth that will not come give up before the socket closes
    this.serving = false;
    await this.servers.closeSocket();
    this.loop.abort();
    await this.starting?.catch(() => {}); // a cloud read or first fill in flight finishes first
    await this.loopDone?.catch(() => {});
    await this.persistWatch;
    await this.parts.monitor?.stop();
    if (this.allocator)
      await this.allocator.persist().catch((err) => this.d.log.error({ err }, 'final checkpoint failed'));
    await this.servers.closeHttp();
    this.hostLinks.stop();
    await this.hostLinks.idle();
    await this.nodeNetwork?.idle();
    await this.leaks.idle();
    await this.d.plumber.close().catch(() => {});
    await this.d.provider.close?.();
  }

  status(): PoolStatus {
    const snapshot = this.snapshot();
    const growth = this.growthState();
    return poolStatus({ initialised: this.initialised, persistProblem: this.persistence.problem, snapshot, growth });
  }

  /** One short line; counts and reason from one snapshot (observability/status-line.ts). */
  statusLine(): string {
    const calls = Object.values(this.callCounts()).reduce((a, b) => a + b, 0);
    const snapshot = this.snapshot();
    return formatStatusLine({
      snapshot,
      why: this.parts.reconciler?.preview(snapshot)?.summary,
      policy: this.policy.name === 'static' ? undefined : this.policy.name,
      cloudCalls: calls,
      growthBlocked: this.parts.reconciler?.growthBlocked !== undefined,
      expected: this.expected,
    });
  }

  /** Cloud call attempts by operation, from the metrics registry. */
  callCounts(): Record<string, number> {
    return cloudCallCounts(this.metrics.registry);
  }

  private growthState(): GrowthState {
    // Until the cloud is read, an ADD that finds no address waits for it (hand-out opens then), within its wait.
    if (!this.cloudRead && !this.parts.reconciler?.stopping) return { canGrow: true, reason: 'reading the cloud' };
    return growthState({
      snapshot: this.snapshot(),
      limits: this.poolLimits,
      growthBlocked: this.parts.reconciler?.growthBlocked,
      stopping: this.parts.reconciler?.stopping ?? false,
      linkPending: (i) => {
        const nic = this.datastore.interfaceById(i.id);
        return nic !== undefined && !this.datastore.handOutFrom(nic);
      },
    });
  }
}
