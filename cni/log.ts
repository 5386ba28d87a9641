/**
 * @module plugin logging
 * One JSON object per line to `logFile` (appended, 0600) or to stderr, never
 * stdout (stdout carries the CNI result). Hand-rolled rather than pino: the
 * plugin is a short-lived process and pino's import alone costs ~40 ms.
 */

import * as fs from 'node:fs';
import type { LogLevel } from './config.js';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, off: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Fields added to every later line (command, container, network). */
  bind(fields: Record<string, unknown>): void;
}

export interface LoggerOptions {
  level: LogLevel;
  file?: string;
  /** Injected for tests; defaults to stderr when no file is set. */
  write?: (line: string) => void;
  now?: () => number;
}

export function createLogger(o: LoggerOptions): Logger {
  const min = RANK[o.level];
  const bound: Record<string, unknown> = {};
  let write = o.write;
  if (!write) {
    if (o.file) {
      const file = o.file;
      write = (line) => {
        try {
          fs.appendFileSync(file, line, { mode: 0o600 });
        } catch {
          // A broken log file must not fail the CNI call; fall back to stderr.
          process.stderr.write(line);
        }
      };
    } else write = (line) => process.stderr.write(line);
  }
  const sink = write;
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
  };
}

/** Used before the configuration (and so the log settings) is known: warnings and errors to stderr. */
export const bootstrapLogger = (): Logger => createLogger({ level: 'warn' });
