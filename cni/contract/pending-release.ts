/**
 * @module pending releases
 * When ipamd is unreachable on DEL, the plugin tears down the host side itself
 * and leaves a note here so ipamd releases the address when it comes back:
 * `<dirname(ipamdSocket)>/pending-release/<network>__<containerId>__<ifName>.json`,
 * holding the {@link DelRequest} as JSON. ipamd replays these at start and on
 * every resync (`replayPendingReleases`, ipamd/api/pending-release.ts).
 *
 * The spool's format is part of the contract between the plugin (writer) and
 * ipamd (reader): both import this, so it holds no netlink and no ipamd internals.
 * Writes are atomic (temp file, fsync, rename, fsync dir), so a reader never
 * sees half a file; a crash leaves at most a `.tmp-*` file, which is ignored.
 */

import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { PROTOCOL_VERSION, type AttachmentKey, type DelRequest } from './protocol.js';
import { writeFileAtomicSync } from './atomic-file.js';

export const PENDING_DIR_NAME = 'pending-release';

/** The directory next to the socket: same root-only runtime directory, same lifetime. */
export function pendingReleaseDir(ipamdSocket: string): string {
  return path.join(path.dirname(ipamdSocket), PENDING_DIR_NAME);
}

function fnv1a(s: string): string {
  let h = 0xcbf29ce484222325n;
  for (const ch of s) {
    h ^= BigInt(ch.codePointAt(0)!);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

/**
 * The file for one attachment. The key parts are already validated (no `/`,
 * not `.`/`..`). Two cases get a hash suffix instead of the plain name: a
 * part containing `__` (the plain name would be ambiguous) and names too long
 * for a file system (255 bytes).
 */
export function pendingReleasePath(dir: string, key: AttachmentKey): string {
  for (const part of [key.network, key.containerId, key.ifName]) {
    if (!part || part.includes('/') || part === '.' || part === '..' || part.includes('\0')) {
      throw new Error(`pending release: unsafe key part ${JSON.stringify(part)}`);
    }
  }
  let base = `${key.network}__${key.containerId}__${key.ifName}`;
  const ambiguous = [key.network, key.containerId, key.ifName].some((p) => p.includes('__'));
  if (ambiguous || Buffer.byteLength(base) > 200) {
    base = `${base.slice(0, 160)}__h${fnv1a(JSON.stringify([key.network, key.containerId, key.ifName]))}`;
  }
  return path.join(dir, `${base}.json`);
}

/** Writes the note atomically; returns its path. Throws on I/O failure (the plugin reports code 5). */
export function writePendingRelease(dir: string, req: DelRequest): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = pendingReleasePath(dir, req);
  // Durable before the runtime hears "DEL done": the release must not be lost.
  writeFileAtomicSync(file, `${JSON.stringify(req)}\n`, 0o600);
  return file;
}

export interface PendingRelease {
  file: string;
  request: DelRequest;
}

export interface PendingReleaseScan {
  releases: PendingRelease[];
  /** Files that could not be read or are not a valid DelRequest: left in place for an operator. */
  invalid: Array<{ file: string; reason: string }>;
}

function isDelRequest(v: unknown): v is DelRequest {
  const r = v as Partial<DelRequest> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    r.op === 'del' &&
    typeof r.v === 'number' &&
    typeof r.network === 'string' &&
    typeof r.containerId === 'string' &&
    typeof r.ifName === 'string' &&
    (r.netns === undefined || (typeof r.netns === 'object' && r.netns !== null && typeof r.netns.path === 'string'))
  );
}

/**
 * Lists the pending releases in `dir` (a missing directory is an empty list).
 * Sorted by file name for a deterministic replay order. Temp files are skipped.
 */
export async function readPendingReleases(dir: string): Promise<PendingReleaseScan> {
  const scan: PendingReleaseScan = { releases: [], invalid: [] };
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return scan;
    throw err;
  }
  for (const name of names.sort()) {
    if (!name.endsWith('.json')) continue;
    const file = path.join(dir, name);
    try {
      const req: unknown = JSON.parse(await fsp.readFile(file, 'utf8'));
      if (!isDelRequest(req)) scan.invalid.push({ file, reason: 'not a DelRequest' });
      else scan.releases.push({ file, request: { ...req, v: PROTOCOL_VERSION } });
    } catch (err) {
      scan.invalid.push({ file, reason: (err as Error).message });
    }
  }
  return scan;
}

/** Call after ipamd has processed the release; a file already gone is fine. */
export async function removePendingRelease(file: string): Promise<void> {
  await fsp.rm(file, { force: true });
}
