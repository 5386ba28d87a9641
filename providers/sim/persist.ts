/**
 * @module sim persistence
 * Saves a {@link SimCloud} to a file and loads it back, so the simulated
 * cloud outlives a daemon restart: the cloud is "outside" the daemon, and a
 * restarted daemon must find the interfaces and addresses it had before.
 *
 * Writes are atomic (temp file, fsync, rename, fsync of the directory), the
 * same recipe as the VPC CNI's checkpoint `JSONFile`: a crash leaves either
 * the old file or the new one, never a torn one.
 *
 * Writes are synchronous on purpose. The daemon saves from `onMutate`, after
 * every mutation; a synchronous write cannot interleave with the next
 * mutation, so the file always holds a state the cloud really passed
 * through, in order, with no write queue to manage. A sim state is small
 * (tens of KB), so the blocking is negligible next to simulated latencies.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../../cni/contract/atomic-file.js';
import { CheckpointError } from '../errors.js';
import { SimCloud, type SimCloudOptions } from './cloud.js';

/** Atomically writes the cloud's state to `path`. Throws CheckpointError on any I/O failure. */
export function saveSimCloud(cloud: SimCloud, path: string): void {
  try {
    writeFileAtomicSync(path, JSON.stringify(cloud.toJSON()));
  } catch (err) {
    throw new CheckpointError(`cannot save sim cloud to ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Loads a cloud saved by {@link saveSimCloud}. Returns undefined when the
 * file does not exist (first start); throws CheckpointError when it exists
 * but cannot be read or is not a valid state.
 */
export function loadSimCloud(path: string, opts: Omit<SimCloudOptions, 'seed'> = {}): SimCloud | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CheckpointError(`cannot read sim cloud ${path}: ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(`sim cloud ${path} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  return SimCloud.fromJSON(raw, opts);
}

/** Loads the cloud at `path`, or builds a new one with `init` (and saves it) when there is none. */
export function openSimCloud(path: string, init: () => SimCloud, opts: Omit<SimCloudOptions, 'seed'> = {}): SimCloud {
  const loaded = loadSimCloud(path, opts);
  if (loaded) return loaded;
  const cloud = init();
  saveSimCloud(cloud, path);
  return cloud;
}
