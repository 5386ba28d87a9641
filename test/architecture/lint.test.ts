/**
 * typescript-eslint's recommended rules hold over every source (eslint.config.mjs): unused code, `any`, throws
 * that drop their cause, control characters in regexes and the like are fixed, not silenced.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/daemon-process.js';

const run = promisify(execFile);
const ESLINT = path.join(REPO, 'node_modules/.bin/eslint');

describe('lint', () => {
  it('eslint finds nothing', async () => {
    const out = await run(ESLINT, ['--max-warnings', '0', '.'], { cwd: REPO, maxBuffer: 16 * 1024 * 1024 }).then(
      () => '',
      (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`.trim() || 'failed',
    );
    expect(out, 'eslint findings').toBe('');
  });
});
