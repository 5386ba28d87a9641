/**
 * @module logger
 * JSON logs through pino. Production logs go to stdout (the kubelet collects
 * them); the dev runner sends them to a file so the terminal shows the status line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pino, type Logger } from 'pino';
import { ConfigError } from '../../providers/errors.js';
import { ensureDirSync } from '../util/ensure-dir.js';

export type { Logger };

/**
 * A file log is opened here, synchronously, and handed to pino as a descriptor: a path would be opened
 * asynchronously, and a process that exits before that open completes (every CONFIG_INVALID start) died in
 * pino's exit hook with "sonic boom is not ready yet" and a stack trace instead of its one-line error.
 * It also turns an unusable path into an error naming `variable` instead of a crash later.
 */
export function createLogger(level: string, file: string, variable = 'VPC_IPAM_LOG_FILE'): Logger {
  let fd: number;
  if (file === 'stdout') fd = 1;
  else if (file === 'stderr') fd = 2;
  else {
    ensureDirSync(path.dirname(file), variable, 0o755);
    try {
      // 0640: the log names Pods and their addresses, like the loopback-only introspection does.
      fd = fs.openSync(file, 'a', 0o640);
    } catch (err) {
      throw new ConfigError(variable, `cannot open log file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
  }
  return pino(
    { level, base: { component: 'ipamd' }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: fd, sync: false }),
  );
}

/** A logger that drops everything (simulator, unit tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
