/**
 * @module config
 * The one reading of the environment: parses, validates and freezes every setting ipamd has, once, at start,
 * into a typed {@link DaemonConfig}. Components take their part of it, never the environment: only the entry
 * points (ipamd/main.ts, ipamd/ctl/main.ts, ipamd/dev-start.ts) pass `process.env` here, and eslint.config.mjs
 * keeps it that way. The schemas are one per concern in ipamd/config/, plus each provider's own in providers/.
 *
 * The AWS VPC CNI variables keep their names and meaning so users can move over; unlike the AWS CNI, an invalid
 * value is an error naming the variable, never a silent default, and it is found here, before any cloud call.
 */
import { ConfigError } from '../providers/errors.js';
import type { ProviderName } from '../providers/types.js';
import { DEFAULT_SOCKET_PATH } from '../cni/contract/protocol.js';
import type { ConflistOptions } from './k8s/conflist.js';
import { parseAdoption, type AdoptionSettings } from './config/adoption.js';
import { checkAwsCniVariables } from './config/aws-cni-compat.js';
import { awsLogFile, awsLogLevel, disabledByAws, interfaceMtu } from './config/aws-cni-settings.js';
import { ipamdLogRotation } from './config/log-rotation.js';
import type { LogRotation } from '../cni/contract/log-backups.js';
import { conflistOptionsFromEnv } from './config/conflist.js';
import { parseHostNetwork, type HostNetworkSettings } from './config/host-network.js';
import { readIntrospectionAddress, type IntrospectionAddress } from './config/introspection-address.js';
import { parseKubeConnection, type KubeConnection } from './config/kube-connection.js';
import { parseK8sSettings, type K8sSettings } from './config/kubernetes.js';
import { parseMonitorSettings, type MonitorSettings } from './config/monitor.js';
import { readCustomNetworking, type CustomNetworking } from './config/pod-subnets.js';
import { parsePoolSettings, type PoolSettings } from './config/pool.js';
import { parseProviderSettings, type ProviderSettings } from './config/providers.js';
import { readSocketPath } from './config/socket-path.js';
import { present, readBool, readCidr, readEnum, readInt, readListen, type Env } from './config/readers.js';

export type { HostNetworkSettings } from './config/host-network.js';
export type { AdaptiveSettings, PoolPolicyName, WarmTargets } from './config/pool.js';
export { parseHostNetwork };

/** The Kubernetes integration's settings, present when MY_NODE_NAME is set. */
export interface KubernetesConfig {
  settings: K8sSettings;
  connection: KubeConnection;
  conflist: ConflistOptions;
}

export interface DaemonConfig extends PoolSettings {
  provider: ProviderName;
  /** The selected provider's own settings (and its embedded emulator's). */
  providerSettings: ProviderSettings;
  stateDir: string;
  socketPath: string;
  /** host:port on loopback, a Unix socket (`unix:<path>`), or undefined when disabled. */
  introspection: IntrospectionAddress | undefined;
  metrics: { host: string; port: number } | undefined;
  /** VPC_IPAM_AWSCNI_METRICS: also serve the AWS VPC CNI's `awscni_*` families (observability/awscni-metrics.ts). */
  awscniMetrics: boolean;
  cooldownMs: number;
  addWaitMs: number;
  /** Pool check period; growth is also triggered immediately by demand. */
  reconcileIntervalMs: number;
  /** Full re-read of the node from the cloud. */
  resyncIntervalMs: number;
  /** Minimum time between two shrink actions (hysteresis, AWS uses 30 s). */
  shrinkIntervalMs: number;
  /** How long growth pauses after subnet-full / no-prefix errors. */
  subnetFullBackoffMs: number;
  cloudConcurrency: number;
  cloudMaxAttempts: number;
  /** MTU ipamd sets on the host links of secondary interfaces (the AWS CNI's AWS_VPC_ENI_MTU). */
  interfaceMtu: number;
  /**
   * Configure the node's host networking: links, route tables and rules of secondary interfaces, SNAT and the
   * NodePort return path (off by default on the sim cloud, whose MACs are not real; needs Pod plumbing).
   */
  hostInterfaces: boolean;
  hostNetwork: HostNetworkSettings;
  /** VPC_IPAM_PLUMBING: `on` (root required), `off`, or undefined (on when root). */
  plumbing: 'on' | 'off' | undefined;
  /** Custom networking, for the subnet choice and the Kubernetes integration alike. */
  customNetworking: CustomNetworking;
  /** The in-node subnet monitor. */
  monitor: MonitorSettings;
  kubernetes: KubernetesConfig | undefined;
  /** VPC_IPAM_ADOPT_AWS_NODE: in-place migration from aws-node (ipamd/adopt/); undefined when off. */
  adoption?: AdoptionSettings;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /** `stdout`, `stderr`, or a file path. */
  logFile: string;
  /** The variable that chose logFile (VPC_IPAM_LOG_FILE, or AWS_VPC_K8S_CNI_LOG_FILE), named when it cannot open. */
  logFileVariable?: string;
  /** VPC_IPAM_LOG_MAX_SIZE_MB / VPC_IPAM_LOG_MAX_BACKUPS: when logFile is a file, its rotation. */
  logRotation: LogRotation;
  sim: { instanceType: string; subnetCidr: string; seed: number };
}

export { readBool, readInt, readListen };

function readPlumbing(env: Env): DaemonConfig['plumbing'] {
  const raw = present(env, 'VPC_IPAM_PLUMBING');
  if (raw === undefined) return undefined;
  if (raw !== 'on' && raw !== 'off') throw new ConfigError('VPC_IPAM_PLUMBING', `expected on or off, got "${raw}"`);
  return raw;
}

/** Only with MY_NODE_NAME: a daemon outside Kubernetes never reads (nor is refused for) these variables. */
function parseKubernetes(env: Env, socketPath: string, addWaitMs: number): KubernetesConfig | undefined {
  if (!env.MY_NODE_NAME) return undefined;
  const settings = parseK8sSettings(env);
  const connection = parseKubeConnection(env);
  return Object.freeze({ settings, connection, conflist: conflistOptionsFromEnv(env, socketPath, addWaitMs) });
}

/** VPC_IPAM_ADD_WAIT_SECONDS, in ms: how long ipamd may hold an ADD waiting for the pool (the CLI waits it out). */
export function readAddWaitMs(env: Env): number {
  return readInt(env, 'VPC_IPAM_ADD_WAIT_SECONDS', 30, { min: 0, max: 300 }) * 1000;
}

export function parseConfig(env: Env): DaemonConfig {
  // First: an AWS VPC CNI variable we cannot honour stops the start before anything else is read or called.
  checkAwsCniVariables(env);
  const pool = parsePoolSettings(env);
  const provider = readEnum(env, 'VPC_IPAM_PROVIDER', ['sim', 'aws', 'azure', 'gcp'] as const, 'sim');
  const socketPath = readSocketPath(env) ?? DEFAULT_SOCKET_PATH;
  const addWaitMs = readAddWaitMs(env);
  const seconds = (name: string, def: number, min: number, max: number) => readInt(env, name, def, { min, max }) * 1000;
  return Object.freeze({
    ...pool,
    provider,
    providerSettings: parseProviderSettings(env, provider),
    stateDir: present(env, 'VPC_IPAM_STATE_DIR') ?? '/run/vpc-ipam',
    socketPath,
    introspection: disabledByAws(env, 'DISABLE_INTROSPECTION') ? undefined : readIntrospectionAddress(env),
    metrics: disabledByAws(env, 'DISABLE_METRICS')
      ? undefined
      : readListen(env, 'VPC_IPAM_METRICS_ADDRESS', ':61678', false),
    awscniMetrics: readBool(env, 'VPC_IPAM_AWSCNI_METRICS', false),
    cooldownMs: seconds('IP_COOLDOWN_PERIOD', 30, 0, 3600),
    addWaitMs,
    reconcileIntervalMs: seconds('VPC_IPAM_RECONCILE_INTERVAL_SECONDS', 5, 1, 600),
    resyncIntervalMs: seconds('VPC_IPAM_RESYNC_INTERVAL_SECONDS', 60, 5, 3600),
    shrinkIntervalMs: seconds('VPC_IPAM_SHRINK_INTERVAL_SECONDS', 30, 0, 3600),
    subnetFullBackoffMs: seconds('VPC_IPAM_SUBNET_FULL_BACKOFF_SECONDS', 120, 1, 3600),
    cloudConcurrency: readInt(env, 'VPC_IPAM_CLOUD_CONCURRENCY', 2, { min: 1, max: 16 }),
    cloudMaxAttempts: readInt(env, 'VPC_IPAM_CLOUD_MAX_ATTEMPTS', 6, { min: 1, max: 20 }),
    interfaceMtu: interfaceMtu(env),
    hostInterfaces: readBool(env, 'VPC_IPAM_HOST_INTERFACES', provider !== 'sim'),
    hostNetwork: parseHostNetwork(env),
    plumbing: readPlumbing(env),
    customNetworking: readCustomNetworking(env),
    monitor: Object.freeze(parseMonitorSettings(env, provider)),
    kubernetes: parseKubernetes(env, socketPath, addWaitMs),
    adoption: parseAdoption(env, provider),
    logLevel: readEnum(
      env,
      'VPC_IPAM_LOG_LEVEL',
      ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const,
      awsLogLevel(env) ?? 'info',
    ),
    logFile: present(env, 'VPC_IPAM_LOG_FILE') ?? awsLogFile(env) ?? 'stdout',
    logFileVariable:
      present(env, 'VPC_IPAM_LOG_FILE') === undefined && awsLogFile(env) !== undefined
        ? 'AWS_VPC_K8S_CNI_LOG_FILE'
        : 'VPC_IPAM_LOG_FILE',
    logRotation: ipamdLogRotation(env),
    sim: Object.freeze({
      instanceType: present(env, 'VPC_IPAM_SIM_INSTANCE_TYPE') ?? 'm5.large',
      subnetCidr: readCidr(env, 'VPC_IPAM_SIM_SUBNET_CIDR', '10.0.0.0/24'),
      seed: readInt(env, 'VPC_IPAM_SIM_SEED', 1, { min: 0 }),
    }),
  });
}

const REDACTED = '(set, not shown)';

/** The settings an operator sees at /v1/config: all of them, with credentials replaced by a placeholder. */
export function publicConfig(c: DaemonConfig): DaemonConfig {
  const p = c.providerSettings;
  if (p.name !== 'gcp' || p.settings.accessToken === undefined) return c;
  return { ...c, providerSettings: { ...p, settings: { ...p.settings, accessToken: REDACTED } } };
}
