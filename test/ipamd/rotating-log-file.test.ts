/**
 * ipamd's log file rotation (ipamd/observability/rotating-file.ts), on a scratch directory: the size limit,
 * the timestamped gzip backups and how many are kept, and backups a stopped process left uncompressed.
 */
import { gunzipSync } from 'node:zlib';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listBackups } from '../../cni/contract/log-backups.js';
import { createLogger } from '../../ipamd/observability/logger.js';
import { RotatingFile } from '../../ipamd/observability/rotating-file.js';

function scratch(): string {
  return path.join(fs.mkdtempSync(path.join(tmpdir(), 'ipamd-log-')), 'ipamd.log');
}

/** A clock that moves one second per reading, so every rotation gets its own backup name. */
function ticking(start = Date.UTC(2026, 11, 3, 20, 0, 0)): () => number {
  let t = start;
  return () => (t += 1000);
}

const line = (i: number) => `${JSON.stringify({ i, msg: 'x'.repeat(80) })}\n`;

describe('RotatingFile', () => {
  it('keeps the file under its limit and compresses each full file into a timestamped backup', async () => {
    const file = scratch();
    const f = new RotatingFile(file, { maxBytes: 1000, maxBackups: 10, now: ticking() });
    for (let i = 0; i < 40; i++) f.write(line(i));
    await f.settled();
    f.close();
    expect(fs.statSync(file).size).toBeLessThanOrEqual(1000);
    const backups = listBackups(file);
    expect(backups.length).toBeGreaterThan(1);
    expect(backups.every((b) => /ipamd-20261203T\d{6}\.\d{3}Z\.log\.gz$/.test(b))).toBe(true);
    // Every line is in exactly one place, in order: backups oldest first, then the live file.
    const text = [...backups.map((b) => gunzipSync(fs.readFileSync(b)).toString()), fs.readFileSync(file, 'utf8')];
    for (const t of text.slice(0, -1)) expect(Buffer.byteLength(t)).toBeLessThanOrEqual(1000);
    const seen = text
      .join('')
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { i: number }).i);
    expect(seen).toEqual([...Array(40).keys()]);
    expect(fs.readdirSync(path.dirname(file)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('keeps maxBackups backups, dropping the oldest', async () => {
    const file = scratch();
    const f = new RotatingFile(file, { maxBytes: 200, maxBackups: 3, now: ticking() });
    for (let i = 0; i < 30; i++) {
      f.write(line(i));
      await f.settled(); // one rotation at a time, so the count is exact
    }
    f.close();
    const backups = listBackups(file);
    expect(backups).toHaveLength(3);
    // The newest survive: the last backup ends just before the live file's first line.
    const live = JSON.parse(fs.readFileSync(file, 'utf8').split('\n')[0]!) as { i: number };
    const last = gunzipSync(fs.readFileSync(backups[2]!)).toString().trimEnd().split('\n').pop()!;
    expect((JSON.parse(last) as { i: number }).i).toBe(live.i - 1);
  });

  it('a line longer than the limit is written whole, never split or dropped', async () => {
    const file = scratch();
    const f = new RotatingFile(file, { maxBytes: 50, maxBackups: 2, now: ticking() });
    f.write(line(1));
    f.write(line(2));
    await f.settled();
    f.close();
    expect(fs.readFileSync(file, 'utf8')).toBe(line(2));
    expect(gunzipSync(fs.readFileSync(listBackups(file)[0]!)).toString()).toBe(line(1));
  });

  it('appends to an existing file, counting its size, and compresses backups left uncompressed', async () => {
    const file = scratch();
    fs.writeFileSync(file, 'a'.repeat(150) + '\n');
    const leftover = path.join(path.dirname(file), 'ipamd-20261201T000000.000Z.log');
    fs.writeFileSync(leftover, 'old\n');
    const f = new RotatingFile(file, { maxBytes: 200, maxBackups: 5, now: ticking() });
    f.write(line(1)); // 151 + 90 > 200: the existing content is rotated out first
    await f.settled();
    f.close();
    expect(fs.existsSync(leftover)).toBe(false);
    expect(gunzipSync(fs.readFileSync(`${leftover}.gz`)).toString()).toBe('old\n');
    expect(listBackups(file)).toHaveLength(2);
    expect(fs.readFileSync(file, 'utf8')).toBe(line(1));
  });

  it('createLogger writes pino lines to the rotating file', async () => {
    const file = scratch();
    const log = createLogger('info', file, 'VPC_IPAM_LOG_FILE', { maxBytes: 300, maxBackups: 2 });
    for (let i = 0; i < 10; i++) log.info({ i }, 'tick');
    const live = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(JSON.parse(live.at(-1)!)).toMatchObject({ i: 9, msg: 'tick', component: 'ipamd' });
    expect(fs.statSync(file).size).toBeLessThanOrEqual(300);
  });
});
