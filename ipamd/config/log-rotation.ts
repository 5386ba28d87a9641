/**
 * @module log rotation settings
 * How large a log file grows before it is rotated, and how many backups stay: VPC_IPAM_LOG_MAX_SIZE_MB and
 * VPC_IPAM_LOG_MAX_BACKUPS for ipamd's file log, VPC_IPAM_CNI_LOG_MAX_SIZE_MB and VPC_IPAM_CNI_LOG_MAX_BACKUPS for
 * the plugin's (carried in the conflist). Documented in docs/configuration.md ("Logs").
 */
import { DEFAULT_PLUGIN_LOG_ROTATION, MEBIBYTE, type LogRotation } from '../../cni/contract/log-backups.js';
import { readInt, type Env } from './readers.js';

/** ipamd: lumberjack's MaxSize and MaxBackups in the AWS VPC CNI (pkg/utils/logger/zaplogger.go), 100 MB, 5. */
export const DEFAULT_LOG_ROTATION: LogRotation = Object.freeze({ maxBytes: 100 * MEBIBYTE, maxBackups: 5 });

function read(env: Env, prefix: string, def: LogRotation): LogRotation {
  const mb = readInt(env, `${prefix}_MAX_SIZE_MB`, def.maxBytes / MEBIBYTE, { min: 1, max: 10_240 });
  const maxBackups = readInt(env, `${prefix}_MAX_BACKUPS`, def.maxBackups, { min: 1, max: 100 });
  return Object.freeze({ maxBytes: mb * MEBIBYTE, maxBackups });
}

export const ipamdLogRotation = (env: Env): LogRotation => read(env, 'VPC_IPAM_LOG', DEFAULT_LOG_ROTATION);

export const pluginLogRotation = (env: Env): LogRotation => read(env, 'VPC_IPAM_CNI_LOG', DEFAULT_PLUGIN_LOG_ROTATION);
