/**
 * The plugin's log rotation (cni/log-file.ts): rotated when opened past its size, backups kept, and safe with
 * many plugin processes appending and rotating at once (real processes over dist/, as the runtime starts them).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listBackups } from '../../cni/contract/log-backups.js';
import { createLogger } from '../../cni/log.js';
import { openLogFile, STALE_LOCK_MS } from '../../cni/log-file.js';
import { REPO } from '../helpers/daemon-process.js';

function scratch(): string {
  return path.join(fs.mkdtempSync(path.join(tmpdir(), 'plugin-log-')), 'plugin.log');
}

const NOW = Date.UTC(2026, 11, 3, 20, 0, 0);

function append(file: string, text: string, limits = { maxBytes: 100, maxBackups: 2 }, now = NOW): void {
  const fd = openLogFile(file, limits, { now: () => now, pid: 7 });
  fs.writeSync(fd, text);
  fs.closeSync(fd);
}

describe('openLogFile', () => {
  it('appends below the limit, rotates on the open that finds it full, and keeps maxBackups', () => {
    const file = scratch();
    append(file, 'a'.repeat(60));
    append(file, 'b'.repeat(60)); // opened at 60 bytes: appended, now 120
    expect(fs.readFileSync(file, 'utf8')).toHaveLength(120);
    expect(listBackups(file)).toEqual([]);
    append(file, 'c', undefined, NOW + 1); // opened at 120: rotated first
    expect(fs.readFileSync(file, 'utf8')).toBe('c');
    const [first] = listBackups(file);
    expect(path.basename(first!)).toBe('plugin-20261203T200000.001Z-7.log');
    expect(fs.readFileSync(first!, 'utf8')).toBe('a'.repeat(60) + 'b'.repeat(60));
    for (let i = 2; i <= 4; i++) {
      append(file, 'x'.repeat(100), undefined, NOW + i);
      append(file, 'y', undefined, NOW + i);
    }
    expect(listBackups(file).map((b) => path.basename(b))).toEqual([
      'plugin-20261203T200000.003Z-7.log',
      'plugin-20261203T200000.004Z-7.log',
    ]);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });

  it('two rotations in one millisecond keep both backups, in order', () => {
    const file = scratch();
    for (const text of ['first'.padEnd(100), 'second'.padEnd(100), 'third'])
      append(file, text, { maxBytes: 100, maxBackups: 5 }, NOW);
    expect(listBackups(file).map((b) => fs.readFileSync(b, 'utf8').trim())).toEqual(['first', 'second']);
  });

  it('while another process holds the lock, appends without rotating; a stale lock is cleared for the next', () => {
    const file = scratch();
    fs.writeFileSync(file, 'z'.repeat(200));
    fs.writeFileSync(`${file}.lock`, '');
    append(file, '1');
    expect(listBackups(file)).toEqual([]);
    expect(fs.statSync(file).size).toBe(201);
    // Left by a process killed while holding it: older than STALE_LOCK_MS on the lock's own clock.
    const lockTime = fs.statSync(`${file}.lock`).mtimeMs;
    append(file, '2', undefined, lockTime + STALE_LOCK_MS + 1);
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
    append(file, '3', undefined, lockTime + STALE_LOCK_MS + 2);
    expect(listBackups(file)).toHaveLength(1);
    expect(fs.readFileSync(file, 'utf8')).toBe('3');
  });

  it('a log file that cannot be opened goes to stderr after one line saying why', () => {
    const file = path.join(scratch(), 'missing-dir', 'plugin.log');
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => written.push(String(chunk)) > 0) as typeof process.stderr.write;
    try {
      const log = createLogger({ level: 'info', file });
      log.info('one');
      log.info('two');
    } finally {
      process.stderr.write = original;
    }
    expect(written[0]).toBe(`vpc-ipam: cannot write log file ${file} (ENOENT); logging to stderr\n`);
    expect(written.slice(1).map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['one', 'two']);
  });
});

/** One plugin process: `calls` CNI calls, each opening the log and appending `lines` lines, as cni/log.ts does. */
const WRITER = `
import * as fs from 'node:fs';
const { openLogFile } = await import(process.argv[1]);
const [file, id, calls, lines, maxBytes] = process.argv.slice(2);
for (let c = 0; c < Number(calls); c++) {
  const fd = openLogFile(file, { maxBytes: Number(maxBytes), maxBackups: 100000 });
  for (let l = 0; l < Number(lines); l++) fs.writeSync(fd, JSON.stringify({ id, c, l, pad: 'p'.repeat(40) }) + '\\n');
  fs.closeSync(fd);
}
`;

function runWriter(args: string[]): Promise<void> {
  const mod = path.join(REPO, 'dist/cni/log-file.js');
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', WRITER, mod, ...args], { stdio: 'pipe' });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited ${code}: ${err}`))));
  });
}

describe('concurrent plugin processes', () => {
  it('lose no line, split none, and rotate a full file once: every backup is over the limit', async () => {
    if (!fs.existsSync(path.join(REPO, 'dist/cni/log-file.js'))) throw new Error('run "npm run build" first');
    const file = scratch();
    const [writers, calls, lines, maxBytes] = [6, 150, 3, 4096];
    await Promise.all(
      Array.from({ length: writers }, (_, id) => runWriter([file, String(id), String(calls), String(lines), '4096'])),
    );
    const backups = listBackups(file);
    expect(backups.length).toBeGreaterThan(5);
    // A second rename of the same full file would have turned the fresh, nearly empty one into a backup.
    for (const b of backups) expect(fs.statSync(b).size).toBeGreaterThanOrEqual(maxBytes);
    const all = [...backups, file].flatMap((f) => fs.readFileSync(f, 'utf8').trimEnd().split('\n'));
    const keys = all.map((l) => {
      const o = JSON.parse(l) as { id: string; c: number; l: number };
      return `${o.id}/${o.c}/${o.l}`;
    });
    expect(keys).toHaveLength(writers * calls * lines);
    expect(new Set(keys).size).toBe(keys.length);
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });
});
