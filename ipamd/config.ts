/**
 * @module config
 * Parses, validates and freezes the daemon's settings once, at start. The
 * AWS VPC CNI variables keep their names and meaning so users can move over;
 * unlike the AWS CNI, an invalid value is an error naming the variable, never
 * a silent default. Only entry points pass `process.env` here.
 */
import { Address4 } from 'ip-address';
import { readBool, readInt, present, type Env } from '../providers/env-settings.js';
import { ConfigError } from '../providers/errors.js';
import type { ProviderName } from '../providers/types.js';
import { DEFAULT_SOCKET_PATH } from '../cni/contract/protocol.js';

/** `azure-batch`: Azure CNS batch/threshold sizing (AZURE_IP_BATCH_SIZE…), see ipamd/pool/azure-batch-policy.ts. */
export type PoolPolicyName = 'static' | 'adaptive' | 'azure-batch';

export interface WarmTargets {
  /** Free addresses to keep, as a multiple of one interface's capacity (secondary-IP mode only). */
  warmInterfaces: number;
  /** Free addresses to keep; > 0 switches to IP-target mode. */
  warmIps: number;
  /** Floor on total addresses held; > 0 switches to IP-target mode. */
  minimumIps: number;
  /** Free (unused) prefixes to keep in prefix mode. */
  warmPrefixes: number;
  /**
   * Interfaces to keep attached even when they hold no addresses (default 0). Set by the adaptive policy: an
   * empty interface costs one subnet address, attaching a new one costs seconds of Pod wait.
   */
  keepInterfaces?: number;
}

export interface AdaptiveSettings {
  /** Lowest warm IP target the adaptive policy will choose. */
  floor: number;
  /** Highest warm IP target it will choose. */
  ceiling: number;
}

/** The AWS VPC CNI's host-networking variables (pkg/networkutils/network.go), same names and defaults. */
export interface HostNetworkSettings {
  /**
   * AWS_VPC_K8S_CNI_EXTERNALSNAT: true = no SNAT here; Pods on secondary interfaces route everything by their table.
   */
  externalSnat: boolean;
  /** AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: destinations (besides the VPC) that keep the Pod's own source. */
  excludeSnatCidrs: string[];
  /** AWS_VPC_K8S_CNI_RANDOMIZESNAT: prng = --random-fully, hashrandom = --random, none. */
  randomizeSnat: 'prng' | 'hashrandom' | 'none';
  /** AWS_VPC_CNI_NODE_PORT_SUPPORT: connmark + fwmark so NodePort replies leave by the primary interface. */
  nodePortSupport: boolean;
  /** AWS_VPC_K8S_CNI_CONNMARK: mark and mask (default 0x80; kube-proxy uses 0xc000, Calico 0xffff0000). */
  connmark: number;
  /** VPC_IPAM_IPTABLES_MODE: auto (what the host uses, as kube-proxy decides), nft or legacy. */
  iptablesMode: 'auto' | 'nft' | 'legacy';
}

export interface DaemonConfig {
  provider: ProviderName;
  stateDir: string;
  socketPath: string;
  /** host:port on loopback, or undefined when disabled. */
  introspection: { host: string; port: number } | undefined;
  metrics: { host: string; port: number } | undefined;
  prefixDelegation: boolean;
  /** Fall back to secondary IPs when no /28 can be had (AWS CNI has no fallback). */
  prefixFallbackToIps: boolean;
  targets: WarmTargets;
  policy: PoolPolicyName;
  adaptive: AdaptiveSettings;
  /** Upper bound on interfaces; undefined = instance limit. */
  maxInterfaces: number | undefined;
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
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /** `stdout`, `stderr`, or a file path. */
  logFile: string;
  sim: { instanceType: string; subnetCidr: string; seed: number };
  /** Everything else the providers read (AWS_*, AZURE_*, GCP_*, cluster settings), untouched. */
  env: Readonly<Record<string, string | undefined>>;
}

// The readers are the providers' too (providers/env-settings.ts); re-exported for ipamd's own schemas.
export { readBool, readInt };

function readEnum<T extends string>(env: Env, name: string, values: readonly T[], def: T): T {
  const raw = present(env, name);
  if (raw === undefined) return def;
  if (!(values as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `expected one of ${values.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return Address4.isValid(host) && new Address4(host).isInSubnet(new Address4('127.0.0.0/8'));
}

/** Parses `host:port` or `:port`. Loopback-only listeners reject any other host. */
export function readListen(env: Env, name: string, def: string, loopbackOnly: boolean) {
  const raw = present(env, name) ?? def;
  if (raw.toLowerCase() === 'off') return undefined;
  const m = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(raw);
  if (!m) throw new ConfigError(name, `expected host:port, :port or off, got "${raw}"`);
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '') || (loopbackOnly ? '127.0.0.1' : '0.0.0.0');
  const port = Number(m[2]);
  if (port > 65535) throw new ConfigError(name, `port ${port} is out of range`);
  if (loopbackOnly && !isLoopback(host)) {
    throw new ConfigError(
      name,
      `must bind to loopback (127.0.0.0/8 or ::1), got "${host}": introspection exposes Pod data`,
    );
  }
  return { host, port };
}

function readCidr(env: Env, name: string, def: string): string {
  const raw = present(env, name) ?? def;
  if (!Address4.isValid(raw) || !raw.includes('/')) throw new ConfigError(name, `expected an IPv4 CIDR, got "${raw}"`);
  const a = new Address4(raw);
  if (a.startAddress().address !== a.addressMinusSuffix) {
    throw new ConfigError(
      name,
      `${raw} is not a network address (did you mean ${a.startAddress().address}/${a.subnetMask}?)`,
    );
  }
  return raw;
}

/** A comma list of IPv4 network CIDRs (empty entries ignored), each checked like {@link readCidr}. */
function readCidrList(env: Env, name: string): string[] {
  const raw = present(env, name);
  if (raw === undefined) return [];
  const out: string[] = [];
  for (const part of raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    out.push(readCidr({ [name]: part }, name, part));
  }
  return [...new Set(out)];
}

/** Decimal or 0x-hex, as Go's strconv.ParseInt(v, 0, 64) reads it; a non-zero 32-bit mark. */
function readMark(env: Env, name: string, def: number): number {
  const raw = present(env, name);
  if (raw === undefined) return def;
  const n = /^0x[0-9a-f]{1,8}$/i.test(raw) ? parseInt(raw.slice(2), 16) : /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 0xffffffff) {
    throw new ConfigError(name, `expected a non-zero 32-bit mark (decimal or 0x hex), got "${raw}"`);
  }
  return n;
}

export function parseHostNetwork(env: Env): HostNetworkSettings {
  return Object.freeze({
    externalSnat: readBool(env, 'AWS_VPC_K8S_CNI_EXTERNALSNAT', false),
    excludeSnatCidrs: readCidrList(env, 'AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS'),
    randomizeSnat: readEnum(env, 'AWS_VPC_K8S_CNI_RANDOMIZESNAT', ['prng', 'hashrandom', 'none'] as const, 'prng'),
    nodePortSupport: readBool(env, 'AWS_VPC_CNI_NODE_PORT_SUPPORT', true),
    connmark: readMark(env, 'AWS_VPC_K8S_CNI_CONNMARK', 0x80),
    iptablesMode: readEnum(env, 'VPC_IPAM_IPTABLES_MODE', ['auto', 'nft', 'legacy'] as const, 'auto'),
  });
}

function defaultPolicy(env: Env, t: WarmTargets): PoolPolicyName {
  const azure = present(env, 'VPC_IPAM_PROVIDER') === 'azure';
  return azure && t.warmIps === 0 && t.minimumIps === 0 ? 'azure-batch' : 'static';
}

export function parseConfig(env: Env): DaemonConfig {
  const prefixDelegation = readBool(env, 'ENABLE_PREFIX_DELEGATION', false);
  const targets: WarmTargets = {
    warmInterfaces: readInt(env, 'WARM_ENI_TARGET', 1, { min: 0, max: 100 }),
    warmIps: readInt(env, 'WARM_IP_TARGET', 0, { min: 0, max: 4096 }),
    minimumIps: readInt(env, 'MINIMUM_IP_TARGET', 0, { min: 0, max: 4096 }),
    // The AWS manifest sets 1; code default 0 would leave PD with no warm pool at all.
    warmPrefixes: readInt(env, 'WARM_PREFIX_TARGET', 1, { min: 0, max: 1000 }),
  };
  if (prefixDelegation && targets.warmIps === 0 && targets.minimumIps === 0 && targets.warmPrefixes === 0) {
    throw new ConfigError(
      'WARM_PREFIX_TARGET',
      'with ENABLE_PREFIX_DELEGATION=true at least one of WARM_PREFIX_TARGET, WARM_IP_TARGET or MINIMUM_IP_TARGET ' +
        'must be > 0',
    );
  }
  const maxEni = readInt(env, 'MAX_ENI', -1, { min: -1, max: 100 });
  if (maxEni === 0) throw new ConfigError('MAX_ENI', 'must be -1 (instance limit) or at least 1');
  const adaptive: AdaptiveSettings = {
    floor: readInt(env, 'WARM_POOL_FLOOR', 1, { min: 0, max: 4096 }),
    ceiling: readInt(env, 'WARM_POOL_CEILING', 64, { min: 1, max: 4096 }),
  };
  if (adaptive.floor > adaptive.ceiling) {
    throw new ConfigError('WARM_POOL_FLOOR', `floor ${adaptive.floor} is above WARM_POOL_CEILING ${adaptive.ceiling}`);
  }
  const stateDir = present(env, 'VPC_IPAM_STATE_DIR') ?? '/run/vpc-ipam';
  return Object.freeze({
    provider: readEnum(env, 'VPC_IPAM_PROVIDER', ['sim', 'aws', 'azure', 'gcp'] as const, 'sim'),
    stateDir,
    socketPath: present(env, 'VPC_IPAM_SOCKET') ?? DEFAULT_SOCKET_PATH,
    introspection: readListen(env, 'INTROSPECTION_BIND_ADDRESS', '127.0.0.1:61679', true),
    metrics: readListen(env, 'VPC_IPAM_METRICS_ADDRESS', ':61678', false),
    prefixDelegation,
    prefixFallbackToIps: readBool(env, 'PREFIX_FALLBACK_TO_IPS', false),
    targets: Object.freeze(targets),
    // Azure NICs hold 256 addresses and cannot be added at run time: WARM_ENI_TARGET's "one interface of
    // free addresses" would take 255 per node, so Azure defaults to its own batch sizing unless IP targets are set.
    policy: readEnum(
      env,
      'WARM_POOL_POLICY',
      ['static', 'adaptive', 'azure-batch'] as const,
      defaultPolicy(env, targets),
    ),
    adaptive: Object.freeze(adaptive),
    maxInterfaces: maxEni > 0 ? maxEni : undefined,
    cooldownMs: readInt(env, 'IP_COOLDOWN_PERIOD', 30, { min: 0, max: 3600 }) * 1000,
    addWaitMs: readInt(env, 'VPC_IPAM_ADD_WAIT_SECONDS', 30, { min: 0, max: 300 }) * 1000,
    reconcileIntervalMs: readInt(env, 'VPC_IPAM_RECONCILE_INTERVAL_SECONDS', 5, { min: 1, max: 600 }) * 1000,
    resyncIntervalMs: readInt(env, 'VPC_IPAM_RESYNC_INTERVAL_SECONDS', 60, { min: 5, max: 3600 }) * 1000,
    shrinkIntervalMs: readInt(env, 'VPC_IPAM_SHRINK_INTERVAL_SECONDS', 30, { min: 0, max: 3600 }) * 1000,
    subnetFullBackoffMs: readInt(env, 'VPC_IPAM_SUBNET_FULL_BACKOFF_SECONDS', 120, { min: 1, max: 3600 }) * 1000,
    cloudConcurrency: readInt(env, 'VPC_IPAM_CLOUD_CONCURRENCY', 2, { min: 1, max: 16 }),
    cloudMaxAttempts: readInt(env, 'VPC_IPAM_CLOUD_MAX_ATTEMPTS', 6, { min: 1, max: 20 }),
    // AWS_VPC_ENI_MTU's range: 576 is the IPv4 minimum, 9001 the VPC jumbo-frame maximum.
    interfaceMtu: readInt(env, 'VPC_IPAM_INTERFACE_MTU', 9001, { min: 576, max: 9001 }),
    hostInterfaces: readBool(
      env,
      'VPC_IPAM_HOST_INTERFACES',
      present(env, 'VPC_IPAM_PROVIDER') !== undefined && present(env, 'VPC_IPAM_PROVIDER') !== 'sim',
    ),
    hostNetwork: parseHostNetwork(env),
    logLevel: readEnum(
      env,
      'VPC_IPAM_LOG_LEVEL',
      ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const,
      'info',
    ),
    logFile: present(env, 'VPC_IPAM_LOG_FILE') ?? 'stdout',
    sim: Object.freeze({
      instanceType: present(env, 'VPC_IPAM_SIM_INSTANCE_TYPE') ?? 'm5.large',
      subnetCidr: readCidr(env, 'VPC_IPAM_SIM_SUBNET_CIDR', '10.0.0.0/24'),
      seed: readInt(env, 'VPC_IPAM_SIM_SEED', 1, { min: 0 }),
    }),
    env: Object.freeze({ ...env }),
  });
}

/** The settings an operator sees at /v1/config: everything but the raw environment. */
export function publicConfig(c: DaemonConfig): Omit<DaemonConfig, 'env'> {
  const { env: _env, ...rest } = c;
  return rest;
}
