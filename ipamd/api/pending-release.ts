/**
 * @module pending-release replay
 * ipamd's half of the spool the plugin writes when ipamd is down on DEL; the
 * file format, reader and writer are the contract's (cni/contract/pending-release.ts).
 * Kept here because the replay validates each note with the socket's parser
 * ({@link parseRequest}), which is the daemon's.
 */

import * as fsp from 'node:fs/promises';
import type { Request, Response } from '../../cni/contract/protocol.js';
import { readPendingReleases, removePendingRelease } from '../../cni/contract/pending-release.js';
import { parseRequest } from './validate.js';

// The daemon's start-up (ipamd/run.ts) finds the spool next to its socket through here.
export { pendingReleaseDir } from '../../cni/contract/pending-release.js';

/**
 * Replays every pending release through `handle` (the daemon's API handler,
 * which validates the request again), removing each file once it succeeded.
 * Invalid files are moved aside (`.bad`) for an operator rather than retried forever.
 */
export async function replayPendingReleases(
  dir: string,
  handle: (req: Request) => Promise<Response>,
  log?: { warn(o: object, m?: string): void },
): Promise<number> {
  const scan = await readPendingReleases(dir);
  for (const bad of scan.invalid) {
    log?.warn(bad, 'unreadable pending release moved aside');
    await fsp.rename(bad.file, `${bad.file}.bad`).catch(() => {});
  }
  let done = 0;
  for (const { file, request } of scan.releases) {
    let res: Response;
    try {
      res = await handle(parseRequest(JSON.stringify(request)));
    } catch (err) {
      log?.warn({ file, err: (err as Error).message }, 'invalid pending release moved aside');
      await fsp.rename(file, `${file}.bad`).catch(() => {});
      continue;
    }
    if (!res.ok) {
      log?.warn({ file, error: res.error }, 'pending release failed; will retry');
      continue;
    }
    await removePendingRelease(file);
    done++;
  }
  return done;
}
