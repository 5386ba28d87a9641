/**
 * @module logger
 * JSON logs through pino, to stdout, stderr or a file rotated by size (./rotating-file.ts). The DaemonSet
 * logs to /var/log/vpc-ipam/ipamd.log on the host; the default (`npm start` aside, which picks a file of its
 * own) is stdout, so a local run or a test never writes to /var/log.
 */
import * as path from 'node:path';
import { pino, type Logger } from 'pino';
import type { LogRotation } from '../../cni/contract/log-backups.js';
import { ConfigError } from '../../providers/errors.js';
import { DEFAULT_LOG_ROTATION } from '../config/log-rotation.js';
import { ensureDirSync } from '../util/ensure-dir.js';
import { RotatingFile, type LineSink } from './rotating-file.js';

export type { Logger };

/**
 * A file log is opened here, synchronously, and written synchronously (./rotating-file.ts): a path handed to
 * pino would be opened asynchronously, and a process that exits before that open completes (every
 * CONFIG_INVALID start) died in pino's exit hook with "sonic boom is not ready yet" and a stack trace instead
 * of its one-line error. It also turns an unusable path into an error naming `variable` instead of a crash later.
 */
export function createLogger(
  level: string,
  file: string,
  variable = 'VPC_IPAM_LOG_FILE',
  rotation: LogRotation = DEFAULT_LOG_ROTATION,
): Logger {
  const options = { level, base: { component: 'ipamd' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (file === 'stdout' || file === 'stderr') {
    return pino(options, pino.destination({ dest: file === 'stdout' ? 1 : 2, sync: false }));
  }
  ensureDirSync(path.dirname(file), variable, 0o755);
  let sink: LineSink;
  try {
    sink = new RotatingFile(file, rotation);
  } catch (err) {
    throw new ConfigError(variable, `cannot open log file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  return pino(options, sink);
}

/** A logger that drops everything (simulator, unit tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
