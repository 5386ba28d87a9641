/**
 * @module run
 * Starts a daemon from its parsed configuration (the entry point and the dev
 * runner both use this; the node itself is put together by compose-node.ts),
 * and the graceful-stop signal handling. The start is in two parts
 * (docs/troubleshooting.md, "Start-up"): what the socket needs to answer
 * correctly, then the socket serves (ready), then in the background the cloud
 * read and the first fill; a failure there stops the process as a failed
 * start would. SIGTERM stops
 * growth, lets in-flight requests and cloud calls finish, writes the
 * checkpoint, then exits.
 */
import * as path from 'node:path';
import { ConfigError, IpamError } from '../providers/errors.js';
import { pendingReleaseDir } from './api/pending-release.js';
import { composeNode, type ComposedNode } from './compose-node.js';
import type { DaemonConfig } from './config.js';
import { IpamDaemon } from './daemon.js';
import { JournalCheckpointer } from './datastore/journal-checkpointer.js';
import { NoopPlumber, type PodNetworkPlumber } from './netns/plumber.js';
import { createLogger, type Logger } from './observability/logger.js';
import { SystemClock } from './util/clock.js';
import { prepareSocketPath } from './server/socket-server.js';
import { ensureDirSync } from './util/ensure-dir.js';
import { VERSION } from './version.js';
import type { K8sNodeAgent } from './k8s/agent.js';
import { NodeCacheFile } from './cloud-node-cache.js';
import type { BuiltProvider } from './setup/types.js';
import { StartTimeline } from './start-timeline.js';

export interface RunningDaemon {
  daemon: IpamDaemon;
  /** The Kubernetes integration, when MY_NODE_NAME is set. */
  k8s?: K8sNodeAgent;
  ports: { introspectionPort?: number; metricsPort?: number };
  /** The start's background part (cloud read, first fill): resolves after the first fill. */
  started: Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** A provider built by the caller (tests: a cloud whose calls they hold); default: from the configuration. */
  provider?: BuiltProvider;
  /**
   * The background part of the start failed (the cloud cannot be read, or is another node than the node
   * cache's): default, the process says so on stderr as a failed start does, stops and exits 1.
   */
  onFatal?: (err: unknown, stop: () => Promise<void>) => void;
}

function exitOnFatal(err: unknown, stop: () => Promise<void>): void {
  const msg = IpamError.is(err) ? `${err.code}: ${err.message}` : ((err as Error).stack ?? String(err));
  process.stderr.write(`vpc-ipamd: cannot start: ${msg}\n`);
  void stop()
    .catch(() => {})
    .finally(() => process.exit(1));
}

/** VPC_IPAM_PLUMBING=on promises Pod networking, which only root can do: refuse now rather than run without it. */
function checkPlumbingAllowed(config: DaemonConfig): void {
  const uid = process.getuid?.();
  if (config.plumbing === 'on' && uid !== 0) {
    throw new ConfigError('VPC_IPAM_PLUMBING', `on needs root; running as uid ${uid}`);
  }
}

async function createPlumber(config: DaemonConfig, log: Logger): Promise<PodNetworkPlumber> {
  const uid = process.getuid?.();
  if (config.plumbing === 'off') {
    log.warn('Pod network plumbing off (VPC_IPAM_PLUMBING=off): ADD assigns addresses only');
    return new NoopPlumber();
  }
  // Only root can create veths and enter network namespaces; without it ipamd still hands out addresses.
  if (uid !== 0) {
    log.warn({ uid }, `Pod network plumbing off: not running as root (uid ${uid}): ADD assigns addresses only`);
    return new NoopPlumber();
  }
  try {
    const mod = await import('./netns/netlink-plumber.js');
    return await mod.createNetlinkPlumber({ log });
  } catch (err) {
    log.error({ err }, 'netlink plumbing unavailable; falling back to address-only mode');
    return new NoopPlumber();
  }
}

/** Starts a daemon from its configuration (parseConfig); used by main and by the dev runner. */
export async function startDaemon(config: DaemonConfig, log?: Logger, opts: StartOptions = {}): Promise<RunningDaemon> {
  const clock = new SystemClock();
  const timeline = new StartTimeline(() => clock.now());
  // Node's own start and the module loading come before this line: the timeline says how long they took.
  timeline.mark('process', clock.now() - process.uptime() * 1000);
  timeline.mark('config');
  checkPlumbingAllowed(config); // before the cloud is touched
  // Local paths first, before any cloud call: a path ipamd cannot use stops it now, naming the variable.
  ensureDirSync(config.stateDir, 'VPC_IPAM_STATE_DIR');
  // A second daemon on this node stops here, before it reads the cloud or writes the checkpoint the first one owns.
  await prepareSocketPath(config.socketPath, 'VPC_IPAM_SOCKET');
  const logger = log ?? createLogger(config.logLevel, config.logFile, config.logFileVariable, config.logRotation);
  // Kubernetes integration only with MY_NODE_NAME; imported lazily so other runs never load the client (~700 ms).
  // Before the provider: the node's PodSubnetConfig is one of the sources its subnet choice is built from.
  const kubernetes = config.kubernetes;
  const k8s = kubernetes
    ? await (await import('./k8s/agent.js')).K8sNodeAgent.create({ config, kubernetes, clock, log: logger })
    : undefined;
  let node: ComposedNode;
  let daemon: IpamDaemon;
  const plumber = await createPlumber(config, logger);
  try {
    node = await composeNode({
      config,
      clock,
      log: logger,
      checkpointer: new JournalCheckpointer(path.join(config.stateDir, 'ipam.json')),
      plumber,
      version: VERSION,
      pendingReleaseDir: pendingReleaseDir(config.socketPath),
      nodeCache: new NodeCacheFile(path.join(config.stateDir, 'node-cache.json')),
      timeline,
      ...(opts.provider ? { provider: opts.provider } : {}),
      ...(k8s ? { kubernetes: k8s } : {}),
    });
    timeline.mark('provider');
  } catch (err) {
    await k8s?.stop();
    await plumber.close().catch(() => {});
    throw err;
  }
  try {
    daemon = new IpamDaemon(node.deps);
  } catch (err) {
    await k8s?.stop();
    await plumber.close().catch(() => {});
    await node.provider.close?.();
    await node.close();
    throw err;
  }
  const abandon = async (err: unknown): Promise<never> => {
    await k8s?.stop();
    await daemon.stop().catch(() => {});
    await node.close();
    throw err;
  };
  // Liveness and metrics answer from now on; readiness once the socket serves (docs/troubleshooting.md).
  await daemon.startHttp().catch(abandon);
  // Node known, checkpoint restored, host networking repaired: with the node cache, no cloud call yet.
  await daemon.metrics.nodeInit(() => daemon.init()).catch(abandon);
  try {
    await k8s?.attach(daemon);
  } catch (err) {
    // e.g. the Node is another machine: release what init opened before giving up.
    await k8s?.stop();
    await daemon.stop().catch(() => {});
    await node.close();
    throw err;
  }
  const ports = await daemon.startServers().catch(async (err: unknown) => {
    // A socket or port that cannot be had (EADDRINUSE…): stop what runs, so the process can exit with the error.
    await k8s?.stop();
    await daemon.stop().catch(() => {});
    await node.close();
    throw err;
  });
  timeline.mark('serving');
  k8s?.serve(daemon);
  daemon.metrics.started(process.uptime(), k8s !== undefined);
  const sinceProcessMs = timeline.view().sinceProcessMs;
  logger.info(
    { provider: config.provider, socket: config.socketPath, ...ports, node: daemon.node.instanceId, sinceProcessMs },
    'ipamd ready',
  );
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopAll());
  // In the background: the cloud read (after a start from the node cache) and the first fill.
  const started = daemon.startLoop().then(() => {
    logger.info({ sinceProcessMs: timeline.view().sinceProcessMs }, 'cloud read and first pool fill done');
  });
  started.catch((err: unknown) => {
    if (stopping) return; // a stop during the cloud read: not a failed start
    logger.error({ err }, 'start failed after serving: the cloud could not be read');
    (opts.onFatal ?? exitOnFatal)(err, stop);
  });
  async function stopAll(): Promise<void> {
    // Kubernetes loops first, so nothing releases or publishes while the daemon winds down.
    const k = await k8s?.stop({ checkUninstall: true });
    // On every uninstall, also when the conflist was gone already (removed by hand, or by a stop that died after).
    if (k?.uninstalling && daemon.nodeNetwork) {
      // Uninstall: no Pod will be wired by us again; the node-wide SNAT and NodePort rules go too.
      const removed = await daemon.nodeNetwork.remove().catch((err: Error) => [`failed: ${err.message}`]);
      logger.info({ removed }, 'uninstalling: removed the node-wide host networking rules');
    }
    await daemon.stop();
    await node.close();
  }
  return { daemon, ...(k8s ? { k8s } : {}), ports, started, stop };
}

export function installSignalHandlers(stop: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const onSignal = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ sig }, 'stopping: no new growth, finishing in-flight work, writing checkpoint');
    stop().then(
      () => {
        log.flush?.();
        process.exit(0);
      },
      (err) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}
