/**
 * @module plugin process helpers (tests and benchmark)
 * Runs the plugin exactly as a runtime does: a fresh process, CNI_* in the
 * environment, the request configuration on stdin; and builds the artefacts
 * on demand (the bundle into a private temp dir; the SEA binary in place).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BINARY, buildBinary, buildBundle, DEFAULT_VARIANT, SHIM } from '../../cni/build/build.js';
import { buildShim, SHIM_SOURCE } from '../../cni/build/shim.js';

export const REPO = path.resolve(new URL('../..', import.meta.url).pathname);

export interface PluginRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when it is JSON. */
  json: Record<string, unknown> | undefined;
  ms: number;
}

/** argv for running the plugin: the SEA binary, or `node bundle.cjs`. */
export type PluginCommand = readonly string[];

/** Builds the bundle into a fresh temp dir (so concurrent test files never race on dist/). */
export async function bundledPlugin(): Promise<PluginCommand> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vpc-cni-bundle-'));
  const file = await buildBundle(path.join(dir, 'vpc-ipam.cjs'), true);
  return [process.execPath, file];
}

function newestSource(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestSource(p));
    else if (/\.(c|m)?ts$/.test(e.name)) t = Math.max(t, fs.statSync(p).mtimeMs);
  }
  return t;
}

/** The single executable (vpc-ipam-node), rebuilt when missing or older than cni/ or ipamd/netns/ sources. */
export async function seaPlugin(): Promise<PluginCommand> {
  const srcTime = Math.max(
    newestSource(path.join(REPO, 'cni')),
    newestSource(path.join(REPO, 'ipamd/netns')),
    newestSource(path.join(REPO, 'ipamd/api')),
  );
  if (!fs.existsSync(BINARY) || fs.statSync(BINARY).mtimeMs < srcTime) {
    const [, bundle] = await bundledPlugin();
    try {
      await buildBinary(DEFAULT_VARIANT, true, bundle);
    } finally {
      fs.rmSync(path.dirname(bundle!), { recursive: true, force: true });
    }
  }
  return [BINARY];
}

/**
 * The compiled shim (dist/cni/vpc-ipam, what a runtime execs), with the single executable beside it as its
 * fallback; each rebuilt when missing or stale.
 */
export async function shimPlugin(): Promise<PluginCommand> {
  await seaPlugin();
  if (!fs.existsSync(SHIM) || fs.statSync(SHIM).mtimeMs < fs.statSync(SHIM_SOURCE).mtimeMs) buildShim(SHIM, {}, true);
  return [SHIM];
}

/** The environment a runtime would give: CNI_* only, plus PATH; never NODE_OPTIONS. */
export function cniEnv(vars: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', CNI_PATH: '/usr/lib/cni' };
  for (const [k, v] of Object.entries(vars)) if (v !== undefined) env[k] = v;
  return env;
}

export function runPlugin(cmd: PluginCommand, env: NodeJS.ProcessEnv, stdin: string | object): Promise<PluginRun> {
  const input = typeof stdin === 'string' ? stdin : JSON.stringify(stdin);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd[0]!, cmd.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      let json: Record<string, unknown> | undefined;
      try {
        json = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code, stdout, stderr, json, ms: performance.now() - t0 });
    });
    child.stdin.end(input);
  });
}
