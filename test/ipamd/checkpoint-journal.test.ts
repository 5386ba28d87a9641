import { appendFileSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_VERSION, JsonFileCheckpointer, type CheckpointData } from '../../ipamd/datastore/checkpoint.js';
import { JournalCheckpointer, journalFileOf } from '../../ipamd/datastore/journal-checkpointer.js';
import { recordLine } from '../../ipamd/datastore/journal-format.js';
import type { Assignment } from '../../ipamd/datastore/types.js';

const entry = (i: number): Assignment => ({
  network: 'n',
  containerId: `c${i}`,
  ifName: 'eth0',
  ip: `10.0.0.${i}`,
  interfaceId: 'eni-0',
  blockCidr: `10.0.0.${i}/32`,
  pod: {},
  assignedAt: i,
});

const fileIn = () => path.join(mkdtempSync(path.join(tmpdir(), 'cpj-')), 'ipam.json');

/** A state the tests change the way the datastore does: assignments by key, cooldowns by address. */
class State {
  readonly assignments = new Map<string, Assignment>();
  readonly cooling = new Map<string, number>();
  add(i: number): void {
    this.assignments.set(`c${i}`, entry(i));
    this.cooling.delete(`10.0.0.${i}`);
  }
  release(i: number, until = 10_000): void {
    this.assignments.delete(`c${i}`);
    this.cooling.set(`10.0.0.${i}`, until);
  }
  read = (): CheckpointData => ({
    version: CHECKPOINT_VERSION,
    assignments: [...this.assignments.values()],
    cooling: [...this.cooling].map(([ip, until]) => ({ ip, until })),
  });
}

const sorted = (d: CheckpointData | undefined) => ({
  assignments: [...(d?.assignments ?? [])].sort((a, b) => a.ip.localeCompare(b.ip)),
  cooling: [...(d?.cooling ?? [])].sort((a, b) => a.ip.localeCompare(b.ip)),
});

describe('JournalCheckpointer', () => {
  it('compacts at its first write, then appends one record per change; a reload replays them', async () => {
    const file = fileIn();
    const cp = new JournalCheckpointer(file);
    const s = new State();
    expect(await cp.load()).toBeUndefined();
    s.add(1);
    await cp.save(s.read);
    expect(cp.compactions).toBe(1);
    const snapshot = readFileSync(file, 'utf8');
    s.add(2);
    await cp.save(s.read);
    s.release(1);
    await cp.save(s.read);
    expect(readFileSync(file, 'utf8')).toBe(snapshot); // the snapshot is not rewritten per change
    const lines = readFileSync(journalFileOf(file), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(3); // header + two records
    expect(sorted(await new JournalCheckpointer(file).load())).toEqual(sorted(s.read()));
    // The release stays a release: the address is cooling, not assigned again.
    expect((await cp.load())!.assignments.map((a) => a.ip)).toEqual(['10.0.0.2']);
    // A save with nothing new (shutdown) folds the journal in: ipam.json alone is then the whole state.
    await cp.save(s.read);
    expect(cp.compactions).toBe(2);
    expect(sorted(await new JsonFileCheckpointer(file).load())).toEqual(sorted(s.read()));
    await cp.close();
  });

  it('a snapshot replaced under it (an operator, a mount) is never extended: the write rewrites it', async () => {
    const file = fileIn();
    const cp = new JournalCheckpointer(file);
    const s = new State();
    s.add(1);
    await cp.save(s.read);
    writeFileSync(`${file}.other`, readFileSync(file));
    renameSync(`${file}.other`, file); // same content, another inode: the journal would no longer apply
    s.add(2);
    await cp.save(s.read);
    expect(cp.compactions).toBe(2);
    expect(sorted(await cp.load())).toEqual(sorted(s.read()));
    await cp.close();
  });

  it('group-commits: 50 concurrent saves cost at most two fdatasyncs, and each sees its change on disk', async () => {
    const file = fileIn();
    const cp = new JournalCheckpointer(file);
    const s = new State();
    await cp.save(s.read);
    const before = cp.syncs;
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        s.add(i + 1);
        return cp.save(s.read).then(async () => {
          const now = await new JournalCheckpointer(file).load();
          expect(now!.assignments.some((a) => a.containerId === `c${i + 1}`)).toBe(true);
        });
      }),
    );
    expect(cp.syncs - before).toBeLessThanOrEqual(2);
    expect(cp.compactions).toBe(1);
    await cp.close();
  });

  it('ignores a torn last record (its write never returned), with or without its newline', async () => {
    const file = fileIn();
    const cp = new JournalCheckpointer(file);
    const s = new State();
    s.add(1);
    await cp.save(s.read);
    s.add(2);
    await cp.save(s.read);
    await cp.close();
    const good = sorted(s.read());
    appendFileSync(journalFileOf(file), recordLine({ n: 2, s: [entry(3)] }).slice(0, 30));
    expect(sorted(await cp.load())).toEqual(good);
    writeFileSync(journalFileOf(file), readFileSync(journalFileOf(file), 'utf8').replace(/[^\n]*$/, 'zz\n'));
    expect(sorted(await cp.load())).toEqual(good);
    // Writing again after such a load starts a fresh snapshot and journal: nothing is appended after the tear.
    const again = new JournalCheckpointer(file);
    s.add(4);
    await again.save(s.read);
    expect(again.compactions).toBe(1);
    expect(sorted(await again.load())).toEqual(sorted(s.read()));
    await again.close();
  });

  it('a damaged record followed by a good one fails the load, naming the file, the record and its offset', async () => {
    const file = fileIn();
    const cp = new JournalCheckpointer(file);
    const s = new State();
    for (let i = 1; i <= 3; i++) {
      s.add(i);
      await cp.save(s.read);
    }
    await cp.close();
    const j = journalFileOf(file);
    const lines = readFileSync(j, 'utf8').split('\n');
    lines[1] = lines[1]!.replace('10.0.0.2', '10.0.0.9'); // checksum no longer matches
    writeFileSync(j, lines.join('\n'));
    const err = await cp.load().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.name).toBe('CheckpointError');
    expect(err?.message).toContain(j);
    expect(err?.message).toMatch(/record 1 \(byte offset \d+\) is corrupt: checksum mismatch/);
  });

  it('compacts once the journal outgrows its bound, and a crash between the two renames loses nothing', async () => {
    const file = fileIn();
    const cp = new JournalCheckpointer(file, { compactBytes: 1024 });
    const s = new State();
    for (let i = 1; i <= 40; i++) {
      s.add(i);
      if (i % 3 === 0) s.release(i - 1);
      await cp.save(s.read);
    }
    expect(cp.compactions).toBeGreaterThan(2);
    expect(readFileSync(journalFileOf(file), 'utf8').length).toBeLessThan(4096);
    expect(sorted(await cp.load())).toEqual(sorted(s.read()));
    // A compaction's new snapshot is in place but its journal is not: the old journal names the old snapshot.
    await cp.close();
    const oldJournal = readFileSync(journalFileOf(file), 'utf8');
    s.add(50);
    await new JournalCheckpointer(file).save(s.read); // compacts: a new snapshot and journal
    writeFileSync(journalFileOf(file), oldJournal);
    expect(sorted(await cp.load())).toEqual(sorted(s.read()));
  });

  it('loads a whole-file checkpoint written by the previous version, and that format stays its snapshot', async () => {
    const file = fileIn();
    const s = new State();
    s.add(1);
    s.release(2);
    await new JsonFileCheckpointer(file).save(s.read);
    const cp = new JournalCheckpointer(file);
    expect(sorted(await cp.load())).toEqual(sorted(s.read()));
    s.add(3);
    await cp.save(s.read);
    // The snapshot is still a file the old reader (and vpc-ipamctl checkpoint) accepts.
    expect((await new JsonFileCheckpointer(file).load())!.version).toBe(CHECKPOINT_VERSION);
    await cp.close();
  });

  it('refuses a journal whose replay gives one address two holders (checkpoint-verify.ts)', async () => {
    const file = fileIn();
    const cp = new JournalCheckpointer(file);
    const s = new State();
    s.add(1);
    await cp.save(s.read);
    await cp.close();
    appendFileSync(journalFileOf(file), recordLine({ n: 1, s: [{ ...entry(2), ip: '10.0.0.1' }] }));
    await expect(cp.load()).rejects.toThrow(/journal record\(s\)[\s\S]*10\.0\.0\.1/);
  });
});
