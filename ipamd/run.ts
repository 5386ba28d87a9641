/**
 * @module run
 * Starts a daemon from its parsed configuration (the entry point and the dev
 * runner both use this; the node itself is put together by compose-node.ts),
 * and the graceful-stop signal handling: SIGTERM stops
 * growth, lets in-flight requests and cloud calls finish, writes the
 * checkpoint, then exits.
 */
import * as path from 'node:path';
import { ConfigError } from '../providers/errors.js';
import { pendingReleaseDir } from './api/pending-release.js';
import { composeNode, type ComposedNode } from './compose-node.js';
import type { DaemonConfig } from './config.js';
import { IpamDaemon } from './daemon.js';
import { JsonFileCheckpointer } from './datastore/checkpoint.js';
import { NoopPlumber, type PodNetworkPlumber } from './netns/plumber.js';
import { createLogger, type Logger } from './observability/logger.js';
import { SystemClock } from './util/clock.js';
import { prepareSocketPath } from './server/socket-server.js';
import { ensureDirSync } from './util/ensure-dir.js';
import { VERSION } from './version.js';
import type { K8sNodeAgent } from './k8s/agent.js';

export interface RunningDaemon {
  daemon: IpamDaemon;
  /** The Kubernetes integration, when MY_NODE_NAME is set. */
  k8s?: K8sNodeAgent;
  ports: { introspectionPort?: number; metricsPort?: number };
  stop(): Promise<void>;
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
export async function startDaemon(config: DaemonConfig, log?: Logger): Promise<RunningDaemon> {
  checkPlumbingAllowed(config); // before the cloud is touched
  // Local paths first, before any cloud call: a path ipamd cannot use stops it now, naming the variable.
  ensureDirSync(config.stateDir, 'VPC_IPAM_STATE_DIR');
  // A second daemon on this node stops here, before it reads the cloud or writes the checkpoint the first one owns.
  await prepareSocketPath(config.socketPath, 'VPC_IPAM_SOCKET');
  const logger = log ?? createLogger(config.logLevel, config.logFile, config.logFileVariable, config.logRotation);
  const clock = new SystemClock();
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
      checkpointer: new JsonFileCheckpointer(path.join(config.stateDir, 'ipam.json')),
      plumber,
      version: VERSION,
      pendingReleaseDir: pendingReleaseDir(config.socketPath),
      ...(k8s ? { kubernetes: k8s } : {}),
    });
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
  // Probes and metrics answer from now on, through a first pool fill that may take minutes (docs/install.md).
  await daemon.startHttp().catch(abandon);
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
  await daemon.startLoop();
  const ports = await daemon.startServers().catch(async (err: unknown) => {
    // A socket or port that cannot be had (EADDRINUSE…): stop what runs, so the process can exit with the error.
    await k8s?.stop();
    await daemon.stop().catch(() => {});
    await node.close();
    throw err;
  });
  k8s?.serve(daemon);
  daemon.metrics.started(process.uptime(), k8s !== undefined);
  logger.info(
    { provider: config.provider, socket: config.socketPath, ...ports, node: daemon.node.instanceId },
    'ipamd ready',
  );
  return {
    daemon,
    ...(k8s ? { k8s } : {}),
    ports,
    stop: async () => {
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
    },
  };
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
