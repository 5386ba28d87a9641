/**
 * @module plugin logging
 * One JSON object per line to `logFile` (appended, 0600, rotated by size when opened: ./log-file.ts) or to
 * stderr, never stdout (stdout carries the CNI result). Hand-rolled rather than pino: the plugin is a
 * short-lived process and pino's import alone costs ~40 ms.
 */

import * as fs from 'node:fs';
import type { LogRotation } from './contract/log-backups.js';
import type { LogLevel } from './config.js';
import { openLogFile } from './log-file.js';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, off: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Fields added to every later line (command, container, network). */
  bind(fields: Record<string, unknown>): void;
  /** Closes the log file, if one was opened: ipamd runs the plugin many times in one process (plugin-host.ts). */
  close(): void;
}

export interface LoggerOptions {
  level: LogLevel;
  file?: string;
  /** The file's size limit and backups; none: never rotated. */
  rotation?: LogRotation;
  /** Injected for tests; defaults to stderr when no file is set. */
  write?: (line: string) => void;
  now?: () => number;
}

export function createLogger(o: LoggerOptions): Logger {
  const min = RANK[o.level];
  const bound: Record<string, unknown> = {};
  const file = !o.write && o.file ? fileWriter(o.file, o.rotation) : undefined;
  const sink = o.write ?? file?.write ?? ((line: string) => process.stderr.write(line));
  const now = o.now ?? (() => performance.timeOrigin + performance.now());
  const log = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[level] < min) return;
    sink(
      `${JSON.stringify({
        time: new Date(now()).toISOString(),
        level,
        plugin: 'vpc-ipam',
        pid: process.pid,
        msg,
        ...bound,
        ...fields,
      })}\n`,
    );
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    bind: (f) => Object.assign(bound, f),
    close: () => file?.close(),
  };
}

/**
 * Appends to `file`, opened at the first line. A file that cannot be opened or written must not fail the CNI
 * call: the lines go to stderr (the runtime's log) after one line saying why, so a missing /var/log/vpc-ipam
 * (created by install-cni) is visible instead of a silently empty log.
 */
function fileWriter(file: string, rotation: LogRotation | undefined): { write(line: string): void; close(): void } {
  let fd: number | undefined;
  let broken = false;
  const close = () => {
    if (fd !== undefined) fs.closeSync(fd);
    fd = undefined;
  };
  const write = (line: string) => {
    if (!broken) {
      try {
        fd ??= openLogFile(file, rotation);
        fs.writeSync(fd, line);
        return;
      } catch (err) {
        broken = true;
        const why = (err as NodeJS.ErrnoException).code ?? String(err);
        process.stderr.write(`vpc-ipam: cannot write log file ${file} (${why}); logging to stderr\n`);
      }
    }
    process.stderr.write(line);
  };
  return { write, close };
}

/** Used before the configuration (and so the log settings) is known: warnings and errors to stderr. */
export const bootstrapLogger = (): Logger => createLogger({ level: 'warn' });
