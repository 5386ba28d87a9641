/**
 * @module ensure-dir
 * `mkdir -p` for the daemon's own paths (state dir, socket dir, log file
 * dir), with errors that name the variable to change.
 *
 * Not `fs.mkdir(…, { recursive: true })`: on Node 20 it never returns for a
 * path under /proc (`/proc/nope` answers ENOENT, which the recursive walk
 * takes as "parent missing" and retries forever), so a typo in
 * VPC_IPAM_SOCKET hung the daemon silently. This walk visits each level once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../providers/errors.js';

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
}

const HINTS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a parent is a file, not a directory',
  ENOENT: 'refused by the file system; /proc and /sys take no new directories',
  ENAMETOOLONG: 'path too long',
};

function refuse(variable: string, what: string, err: unknown): never {
  const code = codeOf(err);
  throw new ConfigError(variable, `${what}: ${code}${HINTS[code] ? ` (${HINTS[code]})` : ''}`);
}

/** Creates `dir` and its missing parents (new ones with `mode`); a ConfigError naming `variable` when it cannot. */
export function ensureDirSync(dir: string, variable: string, mode = 0o700): void {
  const target = path.resolve(dir);
  const missing: string[] = [];
  for (let cur = target; ; cur = path.dirname(cur)) {
    let st: fs.Stats;
    try {
      st = fs.statSync(cur);
    } catch (err) {
      const parent = path.dirname(cur);
      if (codeOf(err) !== 'ENOENT' || parent === cur) refuse(variable, `cannot use directory ${target}`, err);
      missing.push(cur);
      continue;
    }
    if (!st.isDirectory()) {
      throw new ConfigError(variable, `cannot use directory ${target}: ${cur} is a file, not a directory (ENOTDIR)`);
    }
    break;
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d, { mode });
    } catch (err) {
      // Another process (a second daemon, a test) may create it at the same moment.
      if (codeOf(err) === 'EEXIST' && fs.statSync(d).isDirectory()) continue;
      refuse(variable, `cannot create directory ${d}`, err);
    }
  }
}
