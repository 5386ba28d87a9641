/**
 * @module atomic file
 * The one recipe for files that must never be seen half-written (sim cloud
 * state, the plugin's pending releases, the CNI conflist): write a temp file
 * in the same directory, fsync it, rename it over the target, fsync the
 * directory. A crash leaves the old file or the new one, never a torn one.
 * Synchronous on purpose: callers use it where nothing may interleave.
 * (The daemon's checkpoint has its own async, group-committed writer.)
 * In the contract because the plugin's pending-release writer needs it and every layer may import the contract;
 * node:fs only.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Atomically replaces `file` with `content` (mode applies to the new file). Throws on I/O failure. */
export function writeFileAtomicSync(file: string, content: string, mode = 0o600): void {
  // A dot-prefixed temp name: readers that scan the directory (CNI conf dir, spool) skip it.
  const tmp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}`);
  try {
    const fd = openSync(tmp, 'w', mode);
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDirSync(dirname(file));
}

/** Makes a rename or unlink durable. Some filesystems refuse fsync on a directory; that only weakens durability. */
export function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // EISDIR/EINVAL/EPERM on some platforms: the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
