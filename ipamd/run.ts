/**
 * @module run
 * Builds and starts a daemon from an environment (the entry point and the dev
 * runner both use this), and the graceful-stop signal handling: SIGTERM stops
 * growth, lets in-flight requests and cloud calls finish, writes the
 * checkpoint, then exits.
 */
import * as path from 'node:path';
import { pendingReleaseDir } from './api/pending-release.js';
import { parseConfig, type DaemonConfig } from './config.js';
import { IpamDaemon } from './daemon.js';
import { JsonFileCheckpointer } from './datastore/checkpoint.js';
import { NoopPlumber, type PodNetworkPlumber } from './netns/plumber.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createProvider } from './provider-factory.js';
import { SystemClock } from './util/clock.js';
import { VERSION } from './version.js';
import type { K8sNodeAgent } from './k8s/agent.js';

export interface RunningDaemon {
  daemon: IpamDaemon;
  /** The Kubernetes integration, when MY_NODE_NAME is set. */
  k8s?: K8sNodeAgent;
  ports: { introspectionPort?: number; metricsPort?: number };
  stop(): Promise<void>;
}

async function createPlumber(config: DaemonConfig, log: Logger): Promise<PodNetworkPlumber> {
  // Only root can create veths and enter network namespaces; without it ipamd still hands out addresses.
  if (config.env.VPC_IPAM_PLUMBING === 'off' || process.getuid?.() !== 0) {
    log.warn('Pod network plumbing disabled (not root or VPC_IPAM_PLUMBING=off): ADD assigns addresses only');
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

/** Starts a daemon from an environment; used by main and by the dev runner. */
export async function startDaemon(env: NodeJS.ProcessEnv, log?: Logger): Promise<RunningDaemon> {
  const config = parseConfig(env);
  const logger = log ?? createLogger(config.logLevel, config.logFile);
  const clock = new SystemClock();
  const built = await createProvider(config, clock, logger);
  // Kubernetes integration only with MY_NODE_NAME; imported lazily so other runs never load the client (~700 ms).
  const k8s = config.env.MY_NODE_NAME
    ? await (await import('./k8s/agent.js')).K8sNodeAgent.create({ config, clock, log: logger, providerHooks: built.daemonHooks })
    : undefined;
  const daemon = new IpamDaemon({
    config,
    clock,
    provider: built.provider,
    checkpointer: new JsonFileCheckpointer(path.join(config.stateDir, 'ipam.json')),
    plumber: await createPlumber(config, logger),
    log: logger,
    version: VERSION,
    ...built.daemonHooks,
    ...k8s?.hooks(),
    pendingReleaseDir: pendingReleaseDir(config.socketPath),
  });
  await daemon.init();
  try {
    await k8s?.attach(daemon);
  } catch (err) {
    // e.g. the Node is another machine: release what init opened before giving up.
    await k8s?.stop();
    await daemon.stop().catch(() => {});
    await built.close?.();
    throw err;
  }
  await daemon.startLoop();
  const ports = await daemon.startServers();
  k8s?.serve(daemon);
  logger.info({ provider: config.provider, socket: config.socketPath, ...ports, node: daemon.node.instanceId }, 'ipamd ready');
  return {
    daemon,
    ...(k8s ? { k8s } : {}),
    ports,
    stop: async () => {
      // Kubernetes loops first, so nothing releases or publishes while the daemon winds down.
      await k8s?.stop({ checkUninstall: true });
      await daemon.stop();
      await built.close?.();
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

