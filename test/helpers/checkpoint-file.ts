/**
 * Test helper: what a daemon's checkpoint holds on disk, read the way ipamd restores it (the snapshot
 * ipam.json with its journal's records, ipamd/datastore/journal-checkpointer.ts), not verified, so the
 * caller's own checks judge any inconsistency. Reading ipam.json alone misses the changes since the last
 * compaction.
 */
import { readJournaled } from '../../ipamd/datastore/journal-checkpointer.js';

export async function checkpointAssignments<T = { containerId: string; ip: string }>(file: string): Promise<T[]> {
  const r = await readJournaled(file);
  if (!r) throw new Error(`no checkpoint at ${file}`);
  return (r.data as { assignments: T[] }).assignments;
}
