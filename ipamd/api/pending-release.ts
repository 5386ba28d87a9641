/**
 * @module pending releases
 * When ipamd is down (restarting, upgrading), the CNI plugin still tears the
 * Pod's veth down and must not wedge Pod deletion, so it spools the DEL as a
 * file here and exits 0. ipamd replays the spool at start. File names are
 * built only from validated key parts, so nothing from outside reaches a path
 * unchecked.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { DelRequest, Request, Response } from './protocol.js';
import { PROTOCOL_VERSION } from './protocol.js';
import { parseRequest } from './validate.js';

export const PENDING_RELEASE_DIRNAME = 'pending-release';

/** Spool directory next to the socket: `/run/vpc-ipam/pending-release`. */
export function pendingReleaseDir(socketPath: string): string {
  return path.join(path.dirname(socketPath), PENDING_RELEASE_DIRNAME);
}

export function pendingReleaseFile(dir: string, req: Pick<DelRequest, 'network' | 'containerId' | 'ifName'>): string {
  return path.join(dir, `${req.network}__${req.containerId}__${req.ifName}.json`);
}

/** Atomically spools a DEL (temp file + rename). The caller validated the key. */
export async function spoolPendingRelease(dir: string, req: Omit<DelRequest, 'v' | 'op'>): Promise<string> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = pendingReleaseFile(dir, req);
  const tmp = `${file}.tmp-${process.pid}`;
  const body: DelRequest = { v: PROTOCOL_VERSION, op: 'del', network: req.network, containerId: req.containerId, ifName: req.ifName };
  await fs.writeFile(tmp, JSON.stringify(body) + '\n', { mode: 0o600 });
  await fs.rename(tmp, file);
  return file;
}

/**
 * Replays every spooled DEL through `handle`, removing each file once it
 * succeeded. Unparseable files are moved aside (`.bad`) rather than retried forever.
 */
export async function replayPendingReleases(
  dir: string,
  handle: (req: Request) => Promise<Response>,
  log?: { warn(o: object, m?: string): void },
): Promise<number> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return 0;
  }
  let done = 0;
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const file = path.join(dir, name);
    try {
      const req = parseRequest((await fs.readFile(file, 'utf8')).trim());
      if (req.op !== 'del') throw new Error(`spooled request is ${req.op}, not del`);
      const res = await handle(req);
      if (!res.ok) {
        log?.warn({ file, error: res.error }, 'spooled DEL failed; will retry at next start');
        continue;
      }
      await fs.rm(file, { force: true });
      done++;
    } catch (err) {
      log?.warn({ file, err: (err as Error).message }, 'unreadable spooled DEL moved aside');
      await fs.rename(file, `${file}.bad`).catch(() => {});
    }
  }
  return done;
}
