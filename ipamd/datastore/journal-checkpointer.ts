/**
 * @module journal checkpointer
 * The daemon's {@link Checkpointer}: the snapshot `ipam.json` (the JsonFileCheckpointer's format, unchanged, so
 * a node upgraded in place loads its old file and `vpc-ipamctl checkpoint` still reads it) plus an append-only
 * journal beside it (./journal-format.ts). A change costs one appended line and one fdatasync instead of
 * rewriting the whole file (temp + fsync + rename + directory fsync); the promise is the same: `save` resolves
 * only once the state it read is on disk, and a SIGKILL at any moment loses nothing that was acknowledged.
 *
 * Group commit as before (./group-commit.ts): while one append is in flight later saves wait and share the
 * next one, so N concurrent requests cost about two fdatasyncs, not N.
 *
 * Compaction (a new snapshot by temp + fsync + rename + directory fsync, then a new journal naming it, made
 * the same way) runs at this instance's first write, after a failed write (whose half-written tail must never
 * be followed by good records), and when the journal has grown past max(`compactBytes`, 2 × the snapshot):
 * replay at start stays bounded by the state's size, and the snapshot's rewrite is amortised over many changes.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CheckpointError } from '../../providers/errors.js';
import type { CheckpointData, Checkpointer } from './checkpoint.js';
import { probeWritable, removeStaleTemps, tempName } from './checkpoint-temp.js';
import { assertCheckpointConsistent } from './checkpoint-verify.js';
import { GroupCommit } from './group-commit.js';
import {
  diffState,
  durableStateOf,
  headerLine,
  parseJournal,
  recordLine,
  replay,
  snapshotHash,
  type DurableState,
} from './journal-format.js';

export const DEFAULT_COMPACT_BYTES = 64 * 1024;

export interface JournalCheckpointerOptions {
  /** The journal is compacted once it is larger than this and than twice the snapshot (default 64 KiB). */
  compactBytes?: number;
}

export function journalFileOf(snapshotFile: string): string {
  return `${snapshotFile}.journal`;
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CheckpointError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Snapshot + journal as one state, not yet verified, and the name to give it in messages; undefined on a
 * fresh node. `vpc-ipamctl checkpoint` inspects this (what ipamd would restore), not the snapshot alone.
 */
export async function readJournaled(file: string, attempt = 0): Promise<{ data: unknown; source: string } | undefined> {
  const journal = journalFileOf(file);
  const text = await readOptional(file);
  if (text === undefined) return undefined; // a journal without its snapshot extends nothing
  let snapshot: CheckpointData;
  try {
    snapshot = JSON.parse(text) as CheckpointData;
  } catch (err) {
    throw new CheckpointError(`${file}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const jtext = await readOptional(journal);
  const parsed = jtext === undefined ? undefined : parseJournal(jtext, snapshotHash(text), journal);
  // A journal naming another snapshot: a compaction's leftover, or (read beside a running ipamd) one that
  // happened between the two reads; then the snapshot has changed, and the pair is read again.
  if (jtext !== undefined && !parsed?.applies && attempt < 3 && (await readOptional(file)) !== text) {
    return readJournaled(file, attempt + 1);
  }
  if (!parsed?.applies || parsed.records.length === 0) return { data: snapshot, source: file };
  assertCheckpointConsistent(snapshot, file); // the lists must be there before records are applied to them
  const source = `${file} with ${parsed.records.length} journal record(s) of ${journal}`;
  return { data: replay(snapshot, parsed.records), source };
}

/** Reads snapshot + journal into one state, verified (checkpoint-verify.ts); undefined on a fresh node. */
export async function loadJournaled(file: string): Promise<CheckpointData | undefined> {
  const r = await readJournaled(file);
  if (!r) return undefined;
  assertCheckpointConsistent(r.data, r.source);
  return r.data as CheckpointData;
}

export class JournalCheckpointer implements Checkpointer {
  readonly journal: string;
  /** Data and directory syncs issued so far (fsync + fdatasync): what a benchmark divides by its requests. */
  syncs = 0;
  /** Compactions done so far (the first write of an instance is one). */
  compactions = 0;
  private readonly queue = new GroupCommit<CheckpointData>((data) => this.write(data));
  private seq = 0;
  /** What snapshot + journal hold; undefined until the first compaction (or after a failed write). */
  private durable: DurableState | undefined;
  private fh: fs.FileHandle | undefined;
  private next = 1;
  private journalBytes = 0;
  private snapshotBytes = 0;
  private snapshotId: string | undefined;
  private readonly compactBytes: number;

  constructor(
    readonly file: string,
    opts: JournalCheckpointerOptions = {},
  ) {
    this.journal = journalFileOf(file);
    this.compactBytes = opts.compactBytes ?? DEFAULT_COMPACT_BYTES;
  }

  get location(): string {
    return this.file;
  }

  async removeStaleTemps(): Promise<string[]> {
    return [...(await removeStaleTemps(this.file)), ...(await removeStaleTemps(this.journal))];
  }

  probe(): Promise<void> {
    return probeWritable(this.file);
  }

  load(): Promise<CheckpointData | undefined> {
    return loadJournaled(this.file);
  }

  save(read: () => CheckpointData): Promise<void> {
    return this.queue.save(read);
  }

  /** Closes the journal (shutdown, tests); a later save reopens it by compacting. */
  async close(): Promise<void> {
    await this.queue.idle();
    await this.dropJournal();
  }

  private async write(data: CheckpointData): Promise<void> {
    if (!this.durable || !this.fh || !(await this.snapshotIsOurs())) return this.compact(data);
    const { record, state } = diffState(this.durable, data, this.next);
    // Nothing new (start-up, shutdown, the health retry): fold the journal in, so that after a clean stop
    // ipam.json alone is the whole state (what an older version or an operator's tool reads).
    if (!record) return this.next > 1 ? this.compact(data) : undefined;
    const text = recordLine(record);
    try {
      await this.fh.write(text);
      await this.fh.datasync();
      this.syncs++;
    } catch (err) {
      // The tail may be half written: the next write starts a new snapshot and journal instead of appending.
      await this.dropJournal();
      throw new CheckpointError(`cannot append to ${this.journal}: ${(err as Error).message}`, { cause: err });
    }
    this.durable = state;
    this.next++;
    this.journalBytes += Buffer.byteLength(text);
    if (this.journalBytes > Math.max(this.compactBytes, 2 * this.snapshotBytes)) {
      // Queued after this group's callers are answered: the next group waits for the rewrite, not this one.
      this.queue.then(() => this.compact(this.queue.read() ?? data));
    }
  }

  /**
   * Whether ipam.json is still the snapshot our journal names (same file): records appended to a journal
   * whose snapshot was replaced or removed would be ignored at load, so such a write compacts instead
   * (and fails, naming the file, when it cannot).
   */
  private async snapshotIsOurs(): Promise<boolean> {
    const st = await fs.stat(this.file).catch(() => undefined);
    // The inode and its change time: a freed inode number is reused at once (ext4), the ctime is not.
    return !!st?.isFile() && `${st.ino}/${st.ctimeMs}` === this.snapshotId;
  }

  private async dropJournal(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    this.durable = undefined;
    await fh?.close().catch(() => {});
  }

  /** New snapshot, then a new journal naming it; each made durable before the next step (see journal-format.ts). */
  private async compact(data: CheckpointData): Promise<void> {
    await this.dropJournal();
    const dir = path.dirname(this.file);
    const text = JSON.stringify(data);
    const header = headerLine(snapshotHash(text));
    const snapTmp = tempName(this.file, process.pid, this.seq++);
    const journalTmp = tempName(this.journal, process.pid, this.seq++);
    try {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      await this.writeSynced(snapTmp, text);
      await this.writeSynced(journalTmp, header);
      await fs.rename(snapTmp, this.file);
      // The snapshot's rename must be durable before the new journal's: the other order could pair the old
      // snapshot with a journal that names the new one, and the old journal's records would be ignored.
      await this.syncDir(dir);
      await fs.rename(journalTmp, this.journal);
      await this.syncDir(dir);
      this.fh = await fs.open(this.journal, 'a');
    } catch (err) {
      await fs.rm(snapTmp, { force: true }).catch(() => {});
      await fs.rm(journalTmp, { force: true }).catch(() => {});
      throw new CheckpointError(`cannot write ${this.file}: ${(err as Error).message}`, { cause: err });
    }
    const st = await fs.stat(this.file).catch(() => undefined);
    this.snapshotId = st && `${st.ino}/${st.ctimeMs}`;
    this.durable = durableStateOf(data);
    this.next = 1;
    this.journalBytes = Buffer.byteLength(header);
    this.snapshotBytes = Buffer.byteLength(text);
    this.compactions++;
  }

  private async writeSynced(file: string, text: string): Promise<void> {
    const fh = await fs.open(file, 'w', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
      this.syncs++;
    } finally {
      await fh.close();
    }
  }

  private async syncDir(dir: string): Promise<void> {
    const dh = await fs.open(dir, 'r');
    try {
      await dh.sync();
      this.syncs++;
    } finally {
      await dh.close();
    }
  }
}
