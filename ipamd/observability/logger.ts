/**
 * @module logger
 * JSON logs through pino. Production logs go to stdout (the kubelet collects
 * them); the dev runner sends them to a file so the terminal shows the status line.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, file: string): Logger {
  const dest = file === 'stdout' ? 1 : file === 'stderr' ? 2 : file;
  return pino(
    { level, base: { component: 'ipamd' }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest, sync: false, mkdir: true }),
  );
}

/** A logger that drops everything (simulator, unit tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
