/**
 * Test and bench helper: a cloud emulator as its own process (`vpc-ipamctl emulate --provider p`), so its
 * work is not counted in the daemon's, and the `export K=V` variables it prints to point ipamd at it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { REPO } from './daemon-process.js';

const CTL = path.join(REPO, 'dist/ipamd/ctl/main.js');

export interface EmulatorProcess {
  proc: ChildProcess;
  /** The variables the emulator printed (endpoints, credentials, node names). */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** `args`: more `vpc-ipamctl emulate` flags (--latency-scale, --subnet…). Resolves once it serves. */
export async function startEmulator(provider: string, args: readonly string[] = []): Promise<EmulatorProcess> {
  const proc = spawn(process.execPath, [CTL, 'emulate', '--provider', provider, '--listen', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const text = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('Ctrl-C stops it.')) resolve(out);
    });
    proc.stderr!.on('data', (d) => (err += d));
    proc.once('exit', (code) => reject(new Error(`emulate --provider ${provider} exited with ${code}: ${err}`)));
  });
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*export\s+(.*)$/.exec(line);
    if (!m) continue;
    for (const tok of m[1]!.split(/\s+/)) {
      const eq = tok.indexOf('=');
      if (eq > 0) env[tok.slice(0, eq)] = tok.slice(eq + 1);
    }
  }
  const close = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  };
  return { proc, env, close };
}
