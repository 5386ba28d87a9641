/**
 * The sources are formatted as Prettier formats them (.prettierrc.json: 120 columns), so a diff shows what
 * changed and not how someone's editor wraps lines. `npx prettier --write '**\/*.{ts,mts,cts,mjs,cjs}'` fixes it.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/daemon-process.js';

const run = promisify(execFile);
const PRETTIER = path.join(REPO, 'node_modules/.bin/prettier');

describe('formatting', () => {
  it('every TypeScript and JavaScript source is as Prettier writes it', async () => {
    const args = ['--check', '--cache', '--log-level', 'warn', '**/*.{ts,mts,cts,mjs,cjs}'];
    const out = await run(PRETTIER, args, { cwd: REPO }).then(
      () => '',
      (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`.trim() || 'failed',
    );
    expect(out, 'files Prettier would change').toBe('');
  });
});
