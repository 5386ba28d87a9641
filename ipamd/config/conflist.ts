/**
 * @module conflist settings
 * The VPC_IPAM_CNI_* and POD_MTU variables, and the AWS CNI's plugin ones (ipamd/config/aws-cni-settings.ts),
 * that shape the CNI conflist ipamd writes (ipamd/k8s/conflist.ts); invalid values name the variable.
 */
import * as path from 'node:path';
import { isSupported, SUPPORTED_VERSIONS } from '../../cni/contract/spec-versions.js';
import { ConfigError } from '../../providers/errors.js';
import { CHAINED_PLUGINS, type ConflistOptions } from '../k8s/conflist.js';
import { pluginLogFile, pluginLogLevel, podMtuSource, withBandwidth } from './aws-cni-settings.js';
import { pluginLogRotation } from './log-rotation.js';
import { vethPrefixSetting } from './host-network.js';
import { present, type Env } from './readers.js';

const LOG_LEVELS: readonly ConflistOptions['logLevel'][] = ['debug', 'info', 'warn', 'error', 'off'];

/** Reads the VPC_IPAM_CNI_* variables; the socket and ADD wait are the daemon's own settings. */
export function conflistOptionsFromEnv(env: Env, socketPath: string, addWaitMs: number): ConflistOptions {
  const { name: mtuVar, raw: mtuRaw } = podMtuSource(env);
  const mtu = Number(mtuRaw);
  if (!/^\d+$/.test(mtuRaw) || mtu < 576 || mtu > 9216)
    throw new ConfigError(mtuVar, `expected 576..9216, got "${mtuRaw}"`);
  const level = pluginLogLevel(env);
  const logLevel = level.raw as ConflistOptions['logLevel'];
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError(level.name, `expected debug, info, warn, error or off, got "${logLevel}"`);
  const cniVersion = present(env, 'VPC_IPAM_CNI_VERSION') ?? '1.0.0';
  if (!isSupported(cniVersion)) {
    const expected = SUPPORTED_VERSIONS.join(', ');
    throw new ConfigError('VPC_IPAM_CNI_VERSION', `expected one of ${expected}, got "${cniVersion}"`);
  }
  const chosen = (present(env, 'VPC_IPAM_CNI_CHAIN') ?? 'portmap')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== 'none');
  for (const c of chosen)
    if (!CHAINED_PLUGINS.includes(c))
      throw new ConfigError('VPC_IPAM_CNI_CHAIN', `unknown plugin "${c}" (known: ${CHAINED_PLUGINS.join(', ')}, none)`);
  const chain = withBandwidth(env, chosen);
  const { name: logVar, file: logFile } = pluginLogFile(env, '/var/log/vpc-ipam/plugin.log');
  if (logFile !== undefined && !path.isAbsolute(logFile))
    throw new ConfigError(logVar, `must be an absolute host path, got "${logFile}"`);
  const rotationSet = ['VPC_IPAM_CNI_LOG_MAX_SIZE_MB', 'VPC_IPAM_CNI_LOG_MAX_BACKUPS'].some((v) => present(env, v));
  const base = {
    socketPath,
    mtu,
    logLevel,
    cniVersion,
    chain,
    addWaitMs,
    ...vethPrefixSetting(env),
    ...(rotationSet ? { logRotation: pluginLogRotation(env) } : {}),
  };
  return Object.freeze(logFile === undefined ? base : { ...base, logFile });
}
