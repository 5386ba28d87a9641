/**
 * @module rotating log file
 * ipamd's log file, rotated by size as the AWS VPC CNI's lumberjack does it (MaxSize, MaxBackups, gzip):
 * once a line would take the file past `maxBytes`, the file is renamed to a timestamped backup
 * (cni/contract/log-backups.ts), a new one is opened, the backup is compressed in the background and the
 * oldest backups beyond `maxBackups` are removed.
 *
 * Writes are synchronous, one `write(2)` per line on an O_APPEND descriptor: a line is on disk (in the page
 * cache) when pino returns, so the last lines before a crash or `process.exit` are never lost in a buffer,
 * and no exit hook has to flush one (see logger.ts). Not a library: rotating-file-stream and pino-roll open
 * and write asynchronously, and pino-roll does not compress.
 */
import * as fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { backupName, listBackups, pruneBackups, type LogRotation } from '../../cni/contract/log-backups.js';

/** What pino needs of a destination. */
export interface LineSink {
  write(line: string): boolean;
}

export interface RotatingFileOptions extends LogRotation {
  now?: () => number;
  /** Told when a rotation or a compression fails; the log goes on (into the old file if it must). */
  onError?: (err: Error) => void;
}

/** 0640: the log names Pods and their addresses, like the loopback-only introspection does. */
const MODE = 0o640;

export class RotatingFile implements LineSink {
  private fd: number;
  private size: number;
  /** The last backup's time: the next is at least 1 ms later, so two rotations never share a backup name. */
  private lastRotation = 0;
  private readonly now: () => number;
  private readonly onError: (err: Error) => void;
  /** Compressions under way, so a test (or a shutdown) can wait for them. */
  private readonly pending = new Set<Promise<void>>();

  /** Opens (appends to) `file` synchronously: an unusable path throws here, at start, not at the first line. */
  constructor(
    readonly file: string,
    private readonly limits: RotatingFileOptions,
  ) {
    this.now = limits.now ?? Date.now;
    this.onError = limits.onError ?? ((err) => process.stderr.write(`vpc-ipamd: log rotation: ${err.message}\n`));
    this.fd = fs.openSync(file, 'a', MODE);
    this.size = fs.fstatSync(this.fd).size;
    // Backups left uncompressed by a process that stopped mid-compression.
    for (const b of listBackups(file)) if (!b.endsWith('.gz')) this.compress(b);
  }

  write(line: string): boolean {
    const bytes = Buffer.byteLength(line);
    // An empty file takes any line, however long: rotating it would only make an empty backup.
    if (this.size > 0 && this.size + bytes > this.limits.maxBytes) this.rotate();
    fs.writeSync(this.fd, line);
    this.size += bytes;
    return true;
  }

  /** Resolves once every compression started so far has finished. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  private rotate(): void {
    // Never the name of an earlier backup, this run's or (a restart loop) a previous one's: rename would replace it.
    const taken = (t: number) =>
      fs.existsSync(backupName(this.file, t)) || fs.existsSync(`${backupName(this.file, t)}.gz`);
    let t = Math.max(this.now(), this.lastRotation + 1);
    while (taken(t)) t++;
    this.lastRotation = t;
    const backup = backupName(this.file, t);
    let fresh: number;
    try {
      fs.renameSync(this.file, backup);
      fresh = fs.openSync(this.file, 'a', MODE);
    } catch (err) {
      // Keep appending to the descriptor we have (a full disk or a vanished directory is no reason to stop logging).
      this.onError(new Error(`cannot rotate ${this.file} to ${backup}: ${(err as Error).message}`));
      this.size = 0;
      return;
    }
    fs.closeSync(this.fd);
    this.fd = fresh;
    this.size = 0;
    this.compress(backup);
  }

  /** `x.log` → `x.log.gz` through a temp name that is not a backup name, then prunes. */
  private compress(backup: string): void {
    const tmp = `${backup}.gz.tmp`;
    const job = pipeline(fs.createReadStream(backup), createGzip(), fs.createWriteStream(tmp, { mode: MODE }))
      .then(() => {
        fs.renameSync(tmp, `${backup}.gz`);
        fs.unlinkSync(backup);
      })
      .catch((err: Error) => {
        fs.rmSync(tmp, { force: true });
        this.onError(new Error(`cannot compress ${backup}: ${err.message}`));
      })
      .finally(() => {
        pruneBackups(this.file, this.limits.maxBackups);
        this.pending.delete(job);
      });
    this.pending.add(job);
  }
}
