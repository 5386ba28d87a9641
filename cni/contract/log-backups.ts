/**
 * @module log backups
 * How a rotated log file is named and how old ones are dropped, shared by ipamd's log (ipamd/observability/
 * rotating-file.ts), the plugin's (cni/log-file.ts) and the support bundle, which collects them.
 *
 * Named like lumberjack's (the AWS VPC CNI's rotation): `ipamd.log` becomes `ipamd-<UTC time>.log`, then
 * `ipamd-<UTC time>.log.gz` once compressed. A time in the name, not a shifting `.1`, `.2`: a rotation is one
 * rename that never touches another backup, so two processes rotating one file never rename each other's
 * backups, and the names sort by age.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The limits of one log file and its backups. */
export interface LogRotation {
  /** Rotate once the file has reached this many bytes. */
  maxBytes: number;
  /** Backups kept (compressed or not); the oldest beyond this are removed. */
  maxBackups: number;
}

export const MEBIBYTE = 1024 * 1024;

/**
 * The plugin's defaults (conflist `logMaxSizeMB`, `logMaxBackups`; ipamd writes them from
 * VPC_IPAM_CNI_LOG_MAX_SIZE_MB / _MAX_BACKUPS). 10 MB: its backups stay uncompressed (gzip inside a CNI ADD
 * would cost the Pod start seconds), so a smaller file keeps its share of /var/log near ipamd's compressed one.
 */
export const DEFAULT_PLUGIN_LOG_ROTATION: LogRotation = Object.freeze({ maxBytes: 10 * MEBIBYTE, maxBackups: 5 });

function split(file: string): { dir: string; stem: string; ext: string } {
  const ext = path.extname(file);
  return { dir: path.dirname(file), stem: path.basename(file, ext), ext };
}

/** `20261203T201000.123Z`: fixed width, so names sort by time; no `:` (tar and some file systems dislike it). */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '');
}

/** The backup name for `file` rotated at `nowMs`; `tag` (a pid) keeps two rotations in one millisecond apart. */
export function backupName(file: string, nowMs: number, tag?: string | number): string {
  const { dir, stem, ext } = split(file);
  return path.join(dir, `${stem}-${stamp(nowMs)}${tag === undefined ? '' : `-${tag}`}${ext}`);
}

/** The backups of `file` present now, oldest first, compressed (`.gz`) or not. */
export function listBackups(file: string): string[] {
  const { dir, stem, ext } = split(file);
  const prefix = `${stem}-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const stampLength = stamp(0).length;
  return names
    .filter((n) => {
      if (!n.startsWith(prefix)) return false;
      const rest = n.slice(prefix.length);
      // A backup's stem continues with a time: `ipamd-debug.log` is another log, not a backup.
      if (!/^\d{8}T\d{6}\.\d{3}Z/.test(rest)) return false;
      const tail = rest.slice(stampLength).replace(/^-\d+/, '');
      return tail === ext || tail === `${ext}.gz`;
    })
    .sort()
    .map((n) => path.join(dir, n));
}

/** Removes the oldest backups of `file` beyond `keep`; a file already gone (another process pruned it) is fine. */
export function pruneBackups(file: string, keep: number): void {
  const all = listBackups(file);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) {
    try {
      fs.unlinkSync(old);
    } catch {
      // Removed meanwhile by another rotation, or not ours to remove: the next rotation tries again.
    }
  }
}
