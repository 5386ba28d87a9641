/**
 * The environment is read once (issue 15): eslint.config.mjs refuses `process.env` outside the entry points,
 * and an environment type (`NodeJS.ProcessEnv`, the `Env` of providers/env-settings.ts) outside the
 * configuration modules. These lint small sources as if they sat at a path of the tree, with the real config.
 */
import * as path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/daemon-process.js';

const eslint = new ESLint({ cwd: REPO });

async function findings(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(REPO, filePath) });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

const READS_ENV = 'export const socket = process.env.VPC_IPAM_SOCKET;\n';
const DESTRUCTURES_ENV = 'const { env } = process;\nexport const socket = env.VPC_IPAM_SOCKET;\n';
const TAKES_PROCESS_ENV = 'export function socketOf(e: NodeJS.ProcessEnv): string | undefined {\n  return e.X;\n}\n';
const TAKES_ENV =
  "import type { Env } from '../../providers/env-settings.js';\n" +
  'export function socketOf(e: Env): string | undefined {\n  return e.X;\n}\n';

describe('the environment is read once', () => {
  it('refuses process.env in a component, read or destructured', async () => {
    expect(await findings('ipamd/pool/fixture.ts', READS_ENV)).toEqual([
      expect.stringMatching(/^no-restricted-properties: .*only entry points read process\.env/),
    ]);
    expect(await findings('providers/aws/fixture.ts', DESTRUCTURES_ENV)).toEqual([
      expect.stringMatching(/^no-restricted-properties: /),
    ]);
  });

  it('refuses an environment type outside the configuration modules', async () => {
    expect(await findings('ipamd/k8s/fixture.ts', TAKES_PROCESS_ENV)).toEqual([
      expect.stringMatching(/^no-restricted-syntax: an environment is parsed once/),
    ]);
    expect(await findings('ipamd/setup/fixture.ts', TAKES_ENV)).toEqual([
      expect.stringMatching(/^no-restricted-syntax: an environment is parsed once/),
    ]);
  });

  it('lets the entry points read it and the configuration modules parse it', async () => {
    expect(await findings('ipamd/main.ts', READS_ENV)).toEqual([]);
    expect(await findings('ipamd/config/fixture.ts', TAKES_ENV)).toEqual([]);
    expect(await findings('ipamd/config/fixture.ts', READS_ENV)).toEqual([
      expect.stringMatching(/^no-restricted-properties: /),
    ]);
  });
});
