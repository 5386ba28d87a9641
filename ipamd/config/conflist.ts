/**
 * @module conflist settings
 * The VPC_IPAM_CNI_* and POD_MTU variables that shape the CNI conflist ipamd writes (ipamd/k8s/conflist.ts);
 * invalid values name the variable.
 */
import * as path from 'node:path';
import { isSupported, SUPPORTED_VERSIONS } from '../../cni/contract/spec-versions.js';
import { ConfigError } from '../../providers/errors.js';
import { CHAINED_PLUGINS, type ConflistOptions } from '../k8s/conflist.js';
import { present, type Env } from './readers.js';

const LOG_LEVELS: readonly ConflistOptions['logLevel'][] = ['debug', 'info', 'warn', 'error', 'off'];

/** Reads the VPC_IPAM_CNI_* variables; the socket and ADD wait are the daemon's own settings. */
export function conflistOptionsFromEnv(env: Env, socketPath: string, addWaitMs: number): ConflistOptions {
  const mtuRaw = present(env, 'POD_MTU') ?? '9001';
  const mtu = Number(mtuRaw);
  if (!/^\d+$/.test(mtuRaw) || mtu < 576 || mtu > 9216)
    throw new ConfigError('POD_MTU', `expected 576..9216, got "${mtuRaw}"`);
  const logLevel = (present(env, 'VPC_IPAM_CNI_LOG_LEVEL') ?? 'info') as ConflistOptions['logLevel'];
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError('VPC_IPAM_CNI_LOG_LEVEL', `expected debug, info, warn, error or off, got "${logLevel}"`);
  const cniVersion = present(env, 'VPC_IPAM_CNI_VERSION') ?? '1.0.0';
  if (!isSupported(cniVersion)) {
    const expected = SUPPORTED_VERSIONS.join(', ');
    throw new ConfigError('VPC_IPAM_CNI_VERSION', `expected one of ${expected}, got "${cniVersion}"`);
  }
  const chain = (present(env, 'VPC_IPAM_CNI_CHAIN') ?? 'portmap')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== 'none');
  for (const c of chain)
    if (!CHAINED_PLUGINS.includes(c))
      throw new ConfigError('VPC_IPAM_CNI_CHAIN', `unknown plugin "${c}" (known: ${CHAINED_PLUGINS.join(', ')}, none)`);
  const logFile = present(env, 'VPC_IPAM_CNI_LOG_FILE') ?? '/var/log/vpc-ipam/plugin.log';
  if (!path.isAbsolute(logFile))
    throw new ConfigError('VPC_IPAM_CNI_LOG_FILE', `must be an absolute host path, got "${logFile}"`);
  return Object.freeze({ socketPath, mtu, logFile, logLevel, cniVersion, chain, addWaitMs });
}
