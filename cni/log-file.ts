/**
 * @module plugin log file
 * The plugin's log file, rotated by size when it is opened. Many plugin processes run at once (one per CNI
 * call), each appending a few lines, so rotation must be safe between them:
 *
 * - every process appends with O_APPEND, one `write(2)` per line, so lines from several processes never
 *   overwrite each other, and a line written to a file another process has just renamed lands in that backup,
 *   not nowhere;
 * - only the holder of `<file>.lock` (created with O_EXCL, removed at once) renames, and only if the file at the
 *   path is still over the limit when it holds the lock: two processes that both saw a full file rotate it once,
 *   and the fresh file the first one started is never taken for a full one;
 * - a process that finds the lock held appends to what it opened; the holder is about to rotate.
 *
 * A lock older than {@link STALE_LOCK_MS} was left by a process killed while holding it: it is removed, and the
 * next process rotates. Backups are not compressed here (see DEFAULT_PLUGIN_LOG_ROTATION).
 */
import * as fs from 'node:fs';
import { backupName, pruneBackups, type LogRotation } from './contract/log-backups.js';

/** Holding the lock takes a stat, a rename and a directory listing: far below this, even on a busy node. */
export const STALE_LOCK_MS = 10_000;

/** 0600: the plugin's log names Pods, containers and their addresses. */
const MODE = 0o600;

export interface RotateOptions {
  now?: () => number;
  pid?: number;
}

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

/**
 * A backup name no file has: the same process may rotate twice in one millisecond, and rename(2) would replace
 * the first backup. A millisecond later instead keeps names in time order; checked under the lock, so no other
 * process takes the name meanwhile.
 */
function freeBackupName(file: string, now: number, pid: number): string {
  for (let t = now; ; t++) {
    const name = backupName(file, t, pid);
    if (!fs.existsSync(name)) return name;
  }
}

/** Renames `file` to a backup if it is still over the limit; true when this process did it. */
function rotateLocked(file: string, limits: LogRotation, now: number, pid: number): boolean {
  const lock = `${file}.lock`;
  let lockFd: number;
  try {
    lockFd = fs.openSync(lock, 'wx', MODE);
  } catch (err) {
    if (errCode(err) !== 'EEXIST') return false;
    try {
      if (now - fs.statSync(lock).mtimeMs > STALE_LOCK_MS) fs.unlinkSync(lock);
    } catch {
      // Released meanwhile: the holder rotated.
    }
    return false;
  }
  try {
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      return false; // renamed already, and no line written since
    }
    if (size < limits.maxBytes) return false;
    fs.renameSync(file, freeBackupName(file, now, pid));
    pruneBackups(file, limits.maxBackups);
    return true;
  } finally {
    fs.closeSync(lockFd);
    fs.rmSync(lock, { force: true });
  }
}

/**
 * Opens `file` for appending (creating it 0600), first rotating it when it has reached `limits.maxBytes`.
 * Throws what `open(2)` threw when the file cannot be opened; a failed rotation is not an error (the line is
 * appended to the full file).
 */
export function openLogFile(file: string, limits: LogRotation | undefined, o: RotateOptions = {}): number {
  const fd = fs.openSync(file, 'a', MODE);
  if (!limits || fs.fstatSync(fd).size < limits.maxBytes) return fd;
  let rotated = false;
  try {
    rotated = rotateLocked(file, limits, (o.now ?? Date.now)(), o.pid ?? process.pid);
  } catch {
    // A read-only or vanished directory: keep appending to the file we have.
  }
  if (!rotated) return fd;
  fs.closeSync(fd);
  return fs.openSync(file, 'a', MODE);
}
