/**
 * @module checkpoint temp files
 * The checkpoint's temp files (`ipam.json.tmp-<pid>-<seq>` while a write is
 * in flight, `ipam.json.tmp-<pid>-probe` for the start-up write probe): how
 * they are named, the probe itself, and the sweep of the ones a SIGKILL left
 * behind (about 0.4 per kill; on the default tmpfs they cost RAM).
 *
 * The sweep runs once at start, before the first write, and removes only
 * regular files of exactly our pattern, beside our checkpoint, that no live
 * writer can own: ours from an earlier life (containers reuse PIDs, so the
 * same PID is the common case), those of a process that no longer exists,
 * and any older than {@link STALE_AGE_MS} (a write lasts milliseconds). A
 * fresh file of another live process is left: two daemons on one state dir
 * is an operator error the socket refuses, but it should not fail a write.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CheckpointError } from '../../providers/errors.js';

export const STALE_AGE_MS = 10 * 60_000;

export function tempName(file: string, pid: number, seq: number | 'probe'): string {
  return `${file}.tmp-${pid}-${seq}`;
}

function pattern(file: string): RegExp {
  const base = path.basename(file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${base}\\.tmp-(\\d{1,10})-(\\d{1,16}|probe)$`);
}

function processExists(pid: number): boolean {
  // pid 0 and negatives address process groups: never signal those.
  if (!Number.isSafeInteger(pid) || pid < 1) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes stale temp files of `file`; returns the names removed. A missing directory is a fresh node. */
export async function removeStaleTemps(file: string, now = Date.now(), self = process.pid): Promise<string[]> {
  const dir = path.dirname(file);
  const re = pattern(file);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CheckpointError(`cannot list state directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = re.exec(name);
    if (!m) continue;
    const full = path.join(dir, name);
    const st = await fs.lstat(full).catch(() => undefined);
    if (!st?.isFile()) continue;
    const pid = Number(m[1]);
    const stale = pid === self || !processExists(pid) || now - st.mtimeMs > STALE_AGE_MS;
    if (!stale) continue;
    try {
      await fs.unlink(full);
      removed.push(name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new CheckpointError(`cannot remove stale ${full}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  return removed;
}

/**
 * Proves the state directory takes a durable write now: create, write, fsync,
 * unlink a probe file. Throws a CheckpointError naming the directory.
 */
export async function probeWritable(file: string, pid = process.pid): Promise<void> {
  const dir = path.dirname(file);
  const probe = tempName(file, pid, 'probe');
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const fh = await fs.open(probe, 'w', 0o600);
    try {
      await fh.writeFile('probe\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.unlink(probe);
  } catch (err) {
    await fs.rm(probe, { force: true }).catch(() => {});
    throw new CheckpointError(`state directory ${dir} is not writable: ${(err as Error).message}`, { cause: err });
  }
}
