/**
 * @module monitor settings
 * The subnet monitor's variables, in the node daemon and in the cluster-wide
 * monitor (`vpc-ipamd monitor`), parsed once at start with the rest of the
 * configuration. Invalid values are errors naming the variable, like every
 * other setting.
 *
 * | Variable | Default | Meaning |
 * |---|---|---|
 * | VPC_IPAM_MONITOR_INTERVAL_SECONDS | 60 | seconds between two passes; 0 disables the in-node monitor |
 * | VPC_IPAM_MONITOR_WINDOW_SECONDS | 3600 | history the forecast fits over |
 * | VPC_IPAM_MONITOR_PACE_MS | 200 | pause between two Describe calls of one pass |
 * | VPC_IPAM_MONITOR_RESERVED | per provider | reserved addresses as `FIRST,LAST` (AWS/Azure 4,1; GCP 2,2) |
 * | VPC_IPAM_MONITOR_PREFIX_LENGTH | 28 | length of a delegable block |
 * | VPC_IPAM_MONITOR_SUBNETS | — | cluster mode: subnet ids to watch (comma-separated) |
 * | VPC_IPAM_MONITOR_SUBNET_TAGS | — | cluster mode: watch subnets with these tags (`k=v,k2=*`) |
 * | VPC_IPAM_MONITOR_VPC_ID | — | cluster mode: watch every subnet of this VPC |
 * | VPC_IPAM_MONITOR_METRICS_ADDRESS | :61680 | cluster mode: metrics and /v1/subnets listener |
 * | VPC_IPAM_MONITOR_INSTANCE_TYPE | — | cluster mode: type of new nodes, for headroom in nodes |
 * | VPC_IPAM_MONITOR_ENI_GC_INTERVAL_SECONDS | 300 | cluster mode on AWS: leaked-ENI sweep period; 0 = off (also |
 * | | | DISABLE_LEAKED_ENI_CLEANUP=true when this is unset) |
 * | VPC_IPAM_MONITOR_KUBERNETES | false | cluster mode: Lease election, node pools from NodeAddressPools |
 */
import { ConfigError } from '../../providers/errors.js';
import type { ProviderName, SubnetFilter } from '../../providers/types.js';
import { RESERVED_RULES, type ReservedRule } from '../monitor/subnet-space.js';
import { present, readBool, readInt, readListen, type Env } from './readers.js';

export interface MonitorSettings {
  /** 0 = off (in-node only). */
  intervalMs: number;
  windowMs: number;
  paceMs: number;
  reserved: ReservedRule;
  prefixLength: number;
}

export interface ClusterMonitorSettings extends MonitorSettings {
  subnetIds: string[];
  filter: SubnetFilter | undefined;
  listen: { host: string; port: number } | undefined;
  instanceType: string | undefined;
  /** Load the Kubernetes integration: Lease election + node pool usage. */
  kubernetes: boolean;
  /** VPC_IPAM_MONITOR_ENI_GC_INTERVAL_SECONDS in ms (AWS only); 0 = no leaked-ENI sweep. */
  eniGcIntervalMs: number;
  /** Who leads when there is no election (HOSTNAME, else `monitor`). */
  identity: string;
}

export function readReserved(env: Env, provider: ProviderName): ReservedRule {
  const name = 'VPC_IPAM_MONITOR_RESERVED';
  const raw = present(env, name);
  if (raw === undefined) return { ...RESERVED_RULES[provider] };
  const m = /^(\d{1,3}),(\d{1,3})$/.exec(raw);
  if (!m) throw new ConfigError(name, `expected FIRST,LAST (addresses the cloud reserves at each end), got "${raw}"`);
  return { first: Number(m[1]), last: Number(m[2]) };
}

export function parseMonitorSettings(env: Env, provider: ProviderName): MonitorSettings {
  const intervalS = readInt(env, 'VPC_IPAM_MONITOR_INTERVAL_SECONDS', 60, { min: 0, max: 86_400 });
  const windowS = readInt(env, 'VPC_IPAM_MONITOR_WINDOW_SECONDS', 3600, { min: 1, max: 7 * 86_400 });
  if (intervalS > 0 && windowS < intervalS * 2) {
    throw new ConfigError(
      'VPC_IPAM_MONITOR_WINDOW_SECONDS',
      `must cover at least two intervals (${intervalS * 2} s) to fit a trend, got ${windowS}`,
    );
  }
  return {
    intervalMs: intervalS * 1000,
    windowMs: windowS * 1000,
    paceMs: readInt(env, 'VPC_IPAM_MONITOR_PACE_MS', 200, { min: 0, max: 60_000 }),
    reserved: readReserved(env, provider),
    prefixLength: readInt(env, 'VPC_IPAM_MONITOR_PREFIX_LENGTH', 28, { min: 16, max: 32 }),
  };
}

function readTags(env: Env): Record<string, string> | undefined {
  const name = 'VPC_IPAM_MONITOR_SUBNET_TAGS';
  const raw = present(env, name);
  if (raw === undefined) return undefined;
  const tags: Record<string, string> = {};
  for (const part of raw.split(',')) {
    const eq = part.indexOf('=');
    const k = (eq < 0 ? part : part.slice(0, eq)).trim();
    if (!k) throw new ConfigError(name, `empty tag key in "${raw}" (expected key=value,key2=*)`);
    tags[k] = eq < 0 ? '*' : part.slice(eq + 1).trim();
  }
  return tags;
}

/**
 * The leaked-ENI sweep's period. DISABLE_LEAKED_ENI_CLEANUP=true (the AWS CNI's switch for its sweep) turns it off
 * unless VPC_IPAM_MONITOR_ENI_GC_INTERVAL_SECONDS is set, which wins as our own variables always do.
 */
function readEniGcIntervalMs(env: Env): number {
  const name = 'VPC_IPAM_MONITOR_ENI_GC_INTERVAL_SECONDS';
  const def = present(env, name) === undefined && readBool(env, 'DISABLE_LEAKED_ENI_CLEANUP', false) ? 0 : 300;
  return readInt(env, name, def, { min: 0, max: 86_400 }) * 1000;
}

export function parseClusterMonitorSettings(env: Env, provider: ProviderName): ClusterMonitorSettings {
  const base = parseMonitorSettings(env, provider);
  if (base.intervalMs === 0)
    throw new ConfigError('VPC_IPAM_MONITOR_INTERVAL_SECONDS', 'the cluster monitor needs an interval of at least 1 s');
  const ids = (present(env, 'VPC_IPAM_MONITOR_SUBNETS') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const tags = readTags(env);
  const vpcId = present(env, 'VPC_IPAM_MONITOR_VPC_ID');
  const filter: SubnetFilter | undefined =
    tags || vpcId ? { ...(tags ? { tags } : {}), ...(vpcId ? { vpcId } : {}) } : undefined;
  return {
    ...base,
    subnetIds: ids,
    filter,
    listen: readListen(env, 'VPC_IPAM_MONITOR_METRICS_ADDRESS', ':61680', false),
    instanceType: present(env, 'VPC_IPAM_MONITOR_INSTANCE_TYPE'),
    kubernetes: readBool(env, 'VPC_IPAM_MONITOR_KUBERNETES', false),
    eniGcIntervalMs: readEniGcIntervalMs(env),
    identity: env.HOSTNAME ?? 'monitor',
  };
}
