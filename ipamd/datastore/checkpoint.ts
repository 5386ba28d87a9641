/**
 * @module checkpoint
 * Assignments survive crashes: the datastore's assignments (and cooldowns,
 * which the AWS VPC CNI forgets on restart) are written as a versioned JSON
 * file by temp file + fsync + rename + directory fsync on every change. The
 * file is the truth after a SIGKILL: a change whose write failed is rolled
 * back by the caller and its ADD fails.
 *
 * Writes are group-committed: while one write is in flight, later changes
 * wait and are written together, so 50 concurrent ADDs cost a few fsyncs, not
 * fifty, and every caller still returns only after its change is on disk.
 *
 * This file format is also the daemon's snapshot; the daemon itself writes
 * through ./journal-checkpointer.ts (one appended record per change instead of
 * the whole file). The whole-file writer stays for tools, tests and benchmarks.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CheckpointError } from '../../providers/errors.js';
import { assertCheckpointConsistent, CHECKPOINT_VERSION } from './checkpoint-verify.js';
import { probeWritable, removeStaleTemps, tempName } from './checkpoint-temp.js';
import { GroupCommit } from './group-commit.js';
import type { Assignment } from './types.js';

export { CHECKPOINT_VERSION };

export interface CheckpointData {
  version: typeof CHECKPOINT_VERSION;
  assignments: Assignment[];
  cooling: Array<{ ip: string; until: number }>;
}

export interface Checkpointer {
  /**
   * Undefined when no checkpoint exists yet (a fresh node). Throws on a
   * corrupt, foreign or inconsistent file (checkpoint-verify.ts), naming it.
   */
  load(): Promise<CheckpointData | undefined>;
  /** Resolves once `read()`'s state at call time (or later) is durable. */
  save(read: () => CheckpointData): Promise<void>;
  /** Where the state lives (the file), for messages. */
  readonly location?: string;
  /** At start, before the first write: removes temp files crashed writes left; returns their names. */
  removeStaleTemps?(): Promise<string[]>;
  /** Proves a durable write works now; throws a CheckpointError naming the state directory. */
  probe?(): Promise<void>;
}

/** Decodes and verifies a checkpoint file's text (every inconsistency is named; see checkpoint-verify.ts). */
export function parseCheckpoint(text: string, source: string): CheckpointData {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(`${source}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  assertCheckpointConsistent(data, source);
  return data as CheckpointData;
}

export class JsonFileCheckpointer implements Checkpointer {
  private readonly queue = new GroupCommit<CheckpointData>((data) => this.write(data));
  private seq = 0;

  constructor(readonly file: string) {}

  get location(): string {
    return this.file;
  }

  removeStaleTemps(): Promise<string[]> {
    return removeStaleTemps(this.file);
  }

  probe(): Promise<void> {
    return probeWritable(this.file);
  }

  async load(): Promise<CheckpointData | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CheckpointError(`cannot read ${this.file}: ${(err as Error).message}`, { cause: err });
    }
    return parseCheckpoint(text, this.file);
  }

  save(read: () => CheckpointData): Promise<void> {
    return this.queue.save(read);
  }

  private async write(data: CheckpointData): Promise<void> {
    const dir = path.dirname(this.file);
    const tmp = tempName(this.file, process.pid, this.seq++);
    try {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      const fh = await fs.open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(JSON.stringify(data));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.rename(tmp, this.file);
      // The rename is only durable once the directory entry is.
      const dh = await fs.open(dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => {});
      throw new CheckpointError(`cannot write ${this.file}: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** For tests and the simulator: keeps the last saved state in memory; can be told to fail. */
export class MemoryCheckpointer implements Checkpointer {
  data: CheckpointData | undefined;
  writes = 0;
  private failures = 0;

  constructor(initial?: CheckpointData) {
    this.data = initial && structuredClone(initial);
  }

  failNextWrites(n: number): void {
    this.failures = n;
  }

  async load(): Promise<CheckpointData | undefined> {
    // The same refusal as for a file, so tests and the simulator restore only consistent state.
    if (this.data) assertCheckpointConsistent(this.data, 'checkpoint (memory)');
    return this.data && structuredClone(this.data);
  }

  async save(read: () => CheckpointData): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new CheckpointError('injected checkpoint write failure');
    }
    this.writes++;
    this.data = structuredClone(read());
  }
}
