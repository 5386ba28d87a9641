/**
 * @module AWS VPC CNI mappings
 * The `honoured-here` variables of ipamd/config/aws-cni-compat.ts, mapped onto our own settings. Our own variable
 * always wins when both are set (VPC_IPAM_LOG_LEVEL over AWS_VPC_K8S_CNI_LOGLEVEL, …): a DaemonSet moved over from
 * aws-node keeps its meaning, and a vpc-ipam setting is never overridden by a leftover AWS one.
 */
import * as path from 'node:path';
import { ConfigError } from '../../providers/errors.js';
import { present, readBool, readInt, type Env } from './readers.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

const AWS_LEVELS: Readonly<Record<string, LogLevel>> = {
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  error: 'error',
  fatal: 'fatal',
};

/** AWS_VPC_K8S_CNI_LOGLEVEL (DEBUG, INFO, WARN, ERROR, FATAL, any case) as our level; undefined when unset. */
export function awsLogLevel(env: Env): LogLevel | undefined {
  const raw = present(env, 'AWS_VPC_K8S_CNI_LOGLEVEL');
  if (raw === undefined) return undefined;
  const level = AWS_LEVELS[raw.toLowerCase()];
  if (!level)
    throw new ConfigError('AWS_VPC_K8S_CNI_LOGLEVEL', `expected DEBUG, INFO, WARN, ERROR or FATAL, got "${raw}"`);
  return level;
}

/** AWS_VPC_K8S_CNI_LOG_FILE: `stdout`, `stderr` or a file path, as VPC_IPAM_LOG_FILE takes them. */
export function awsLogFile(env: Env): string | undefined {
  return present(env, 'AWS_VPC_K8S_CNI_LOG_FILE');
}

/** DISABLE_METRICS / DISABLE_INTROSPECTION: true turns the listener off, whatever its address says. */
export function disabledByAws(env: Env, name: 'DISABLE_METRICS' | 'DISABLE_INTROSPECTION'): boolean {
  return readBool(env, name, false);
}

/** The MTU the AWS CNI sets on its interfaces: VPC_IPAM_INTERFACE_MTU, else AWS_VPC_ENI_MTU, else 9001. */
export function interfaceMtu(env: Env): number {
  const name = present(env, 'VPC_IPAM_INTERFACE_MTU') === undefined ? 'AWS_VPC_ENI_MTU' : 'VPC_IPAM_INTERFACE_MTU';
  // AWS_VPC_ENI_MTU's range: 576 is the IPv4 minimum, 9001 the VPC jumbo-frame maximum.
  return readInt(env, name, 9001, { min: 576, max: 9001 });
}

/** POD_MTU, defaulting (as in the AWS CNI) to AWS_VPC_ENI_MTU: the variable to read and its text. */
export function podMtuSource(env: Env): { name: string; raw: string } {
  const own = present(env, 'POD_MTU');
  if (own !== undefined) return { name: 'POD_MTU', raw: own };
  return { name: 'AWS_VPC_ENI_MTU', raw: present(env, 'AWS_VPC_ENI_MTU') ?? '9001' };
}

/**
 * The plugin's log file: VPC_IPAM_CNI_LOG_FILE, else AWS_VPC_K8S_PLUGIN_LOG_FILE (`stderr`, or set empty, is
 * stderr: undefined; `stdout` is refused as by the AWS CNI, stdout carries the CNI result), else ours.
 */
export function pluginLogFile(env: Env, def: string): { name: string; file: string | undefined } {
  const own = present(env, 'VPC_IPAM_CNI_LOG_FILE');
  if (own !== undefined) return { name: 'VPC_IPAM_CNI_LOG_FILE', file: own };
  const name = 'AWS_VPC_K8S_PLUGIN_LOG_FILE';
  const raw = env[name];
  if (raw === undefined) return { name, file: def };
  const v = raw.trim();
  if (v === '' || v === 'stderr') return { name, file: undefined };
  if (v === 'stdout') throw new ConfigError(name, 'stdout carries the CNI result: use stderr or a file path');
  if (!path.isAbsolute(v)) throw new ConfigError(name, `must be stderr or an absolute host path, got "${v}"`);
  return { name, file: v };
}

type PluginLevel = 'debug' | 'info' | 'warn' | 'error' | 'off';

/** VPC_IPAM_CNI_LOG_LEVEL, else AWS_VPC_K8S_PLUGIN_LOG_LEVEL (any case; FATAL logs errors only), else info. */
export function pluginLogLevel(env: Env): { name: string; raw: string } {
  const own = present(env, 'VPC_IPAM_CNI_LOG_LEVEL');
  if (own !== undefined) return { name: 'VPC_IPAM_CNI_LOG_LEVEL', raw: own };
  const name = 'AWS_VPC_K8S_PLUGIN_LOG_LEVEL';
  const raw = present(env, name);
  if (raw === undefined) return { name, raw: 'info' };
  const levels: Readonly<Record<string, PluginLevel>> = { ...AWS_LEVELS, fatal: 'error', trace: 'debug' };
  const level = levels[raw.toLowerCase()];
  if (!level) throw new ConfigError(name, `expected DEBUG, INFO, WARN, ERROR or FATAL, got "${raw}"`);
  return { name, raw: level };
}

/** ENABLE_BANDWIDTH_PLUGIN=true chains the bandwidth plugin after the others (as the AWS CNI appends it). */
export function withBandwidth(env: Env, chain: string[]): string[] {
  if (!readBool(env, 'ENABLE_BANDWIDTH_PLUGIN', false) || chain.includes('bandwidth')) return chain;
  return [...chain, 'bandwidth'];
}
