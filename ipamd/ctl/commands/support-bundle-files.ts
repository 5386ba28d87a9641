/**
 * @module support bundle files
 * The node's vpc-ipam files: the state directory (checkpoint, cached Node, the plugin's DEL spool) and the
 * recent logs under the log directory (each live log and its newest backup, decompressed, the last
 * {@link LOG_TAIL_BYTES} of each). Everything is redacted (./support-bundle-redact.ts). Paths under a
 * `secrets` directory (the service-account token's) are never opened, whatever a flag says.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { listBackups } from '../../../cni/contract/log-backups.js';
import { Collected, reason } from './support-bundle-entries.js';
import { redactText } from './support-bundle-redact.js';

/** Enough for the hours before a problem at ipamd's debug level; a bundle stays small enough to attach. */
export const LOG_TAIL_BYTES = 8 * 1024 * 1024;
const MAX_STATE_FILE = 16 * 1024 * 1024;

/** `/var/run/secrets/kubernetes.io/serviceaccount/token` and anything like it. */
export function isSecretPath(p: string): boolean {
  return path
    .resolve(p)
    .split(path.sep)
    .some((part) => part === 'secrets' || part === 'serviceaccount');
}

function tail(buf: Buffer, max: number): Buffer {
  if (buf.length <= max) return buf;
  const cut = buf.subarray(buf.length - max);
  // Start at a whole line.
  const nl = cut.indexOf(0x0a);
  return nl >= 0 ? cut.subarray(nl + 1) : cut;
}

function readTail(file: string, max: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, max + 4096);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    return tail(buf, max);
  } finally {
    fs.closeSync(fd);
  }
}

/** Regular files of `dir` and of its subdirectories one level down (pending-release/), never sockets. */
function stateFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isFile()) out.push(p);
    else if (e.isDirectory())
      for (const f of fs.readdirSync(p, { withFileTypes: true })) if (f.isFile()) out.push(path.join(p, f.name));
  }
  return out.sort();
}

export function collectState(c: Collected, stateDir: string): void {
  if (isSecretPath(stateDir)) return c.missing(`state dir ${stateDir}`, 'a secrets path: not read');
  let files: string[];
  try {
    files = stateFiles(stateDir);
  } catch (err) {
    return c.missing(`state dir ${stateDir}`, reason(err));
  }
  if (!files.length) c.missing(`state dir ${stateDir}`, 'empty: no checkpoint yet');
  for (const f of files) {
    const name = `state/${path.relative(stateDir, f)}`;
    try {
      const st = fs.statSync(f);
      if (st.size > MAX_STATE_FILE) {
        c.missing(f, `${st.size} bytes: larger than ${MAX_STATE_FILE}, left out`);
        continue;
      }
      c.file(name, redactText(fs.readFileSync(f, 'utf8')), f);
    } catch (err) {
      c.missing(f, reason(err));
    }
  }
}

export function collectLogs(c: Collected, logDir: string): void {
  if (isSecretPath(logDir)) return c.missing(`log dir ${logDir}`, 'a secrets path: not read');
  let logs: string[];
  try {
    logs = fs
      .readdirSync(logDir)
      .filter((n) => /^[A-Za-z0-9_.-]+\.log$/.test(n))
      .map((n) => path.join(logDir, n))
      .filter((p) => fs.statSync(p).isFile() && !/-\d{8}T\d{6}\.\d{3}Z(?:-\d+)?\.log$/.test(p));
  } catch (err) {
    return c.missing(`log dir ${logDir}`, reason(err));
  }
  if (!logs.length) c.missing(`log dir ${logDir}`, 'no log files');
  for (const live of logs.sort()) {
    try {
      c.file(`logs/${path.basename(live)}`, redactText(readTail(live, LOG_TAIL_BYTES).toString('utf8')), live);
    } catch (err) {
      c.missing(live, reason(err));
    }
    const newest = listBackups(live).at(-1);
    if (!newest) continue;
    try {
      const raw = fs.readFileSync(newest);
      const text = tail(newest.endsWith('.gz') ? gunzipSync(raw) : raw, LOG_TAIL_BYTES).toString('utf8');
      c.file(`logs/${path.basename(newest).replace(/\.gz$/, '')}`, redactText(text), newest);
    } catch (err) {
      c.missing(newest, reason(err));
    }
  }
}
