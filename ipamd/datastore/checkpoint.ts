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
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CheckpointError } from '../../providers/errors.js';
import type { Assignment } from './types.js';

export const CHECKPOINT_VERSION = 'vpc-ipam/1';

export interface CheckpointData {
  version: typeof CHECKPOINT_VERSION;
  assignments: Assignment[];
  cooling: Array<{ ip: string; until: number }>;
}

export interface Checkpointer {
  /** Undefined when no checkpoint exists yet (a fresh node). Throws on a corrupt or foreign file. */
  load(): Promise<CheckpointData | undefined>;
  /** Resolves once `read()`'s state at call time (or later) is durable. */
  save(read: () => CheckpointData): Promise<void>;
}

export function parseCheckpoint(text: string, source: string): CheckpointData {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(`${source}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const d = data as Partial<CheckpointData>;
  if (d?.version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(`${source}: version ${JSON.stringify(d?.version)} is not ${CHECKPOINT_VERSION}; refusing to guess`);
  }
  if (!Array.isArray(d.assignments) || !Array.isArray(d.cooling)) {
    throw new CheckpointError(`${source}: missing assignments or cooling list`);
  }
  for (const a of d.assignments) {
    if (typeof a?.ip !== 'string' || typeof a.containerId !== 'string' || typeof a.network !== 'string' || typeof a.ifName !== 'string') {
      throw new CheckpointError(`${source}: malformed assignment ${JSON.stringify(a)}`);
    }
  }
  return d as CheckpointData;
}

export class JsonFileCheckpointer implements Checkpointer {
  private chain: Promise<void> = Promise.resolve();
  /** A write that has been queued but not started: later changes ride on it. */
  private pending: Promise<void> | undefined;
  private latest: (() => CheckpointData) | undefined;
  private seq = 0;

  constructor(readonly file: string) {}

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
    this.latest = read;
    if (this.pending) return this.pending;
    const p = this.chain.then(() => {
      this.pending = undefined;
      return this.write(this.latest!());
    });
    this.pending = p;
    this.chain = p.catch(() => {});
    return p;
  }

  private async write(data: CheckpointData): Promise<void> {
    const dir = path.dirname(this.file);
    const tmp = `${this.file}.tmp-${process.pid}-${this.seq++}`;
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
