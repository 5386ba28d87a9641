/**
 * The GCP SDK (seconds and ~150 MB to load) is loaded only by a daemon that
 * runs on GCP. Each daemon here is the real `vpc-ipamd` process, started
 * with a `--require` preload that writes the CommonJS module cache
 * (`require.cache`, where every file of the CJS-only Google packages lands,
 * however it was reached) to a file when the process exits. A gcp daemon
 * is the control: it must show the SDK, so an empty answer for the others
 * means "not loaded", not "not detected".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { getJson, kill, REPO, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';

const CTL = path.join(REPO, 'dist/ipamd/ctl/main.js');
const GOOGLE = /\/node_modules\/(@google-cloud\/compute|google-gax|google-auth-library)\//;
const dir = fs.mkdtempSync(path.join(tmpdir(), 'gcp-isolation-'));
const PRELOAD = path.join(dir, 'dump-modules.cjs');
fs.writeFileSync(
  PRELOAD,
  [
    "'use strict';",
    "const fs = require('node:fs');",
    "process.on('exit', () => fs.writeFileSync(process.env.MODULE_DUMP, JSON.stringify(Object.keys(require.cache))));",
  ].join('\n'),
);

const daemons: DaemonHandle[] = [];
const procs: ChildProcess[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) await kill(d, 'SIGKILL');
  for (const p of procs.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
});

/** `vpc-ipamctl emulate --provider p`; returns the variables it prints. */
async function emulate(p: string): Promise<Record<string, string>> {
  const proc = spawn(process.execPath, [CTL, 'emulate', '--provider', p, '--listen', '127.0.0.1:0', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(proc);
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    proc.once('exit', (code) => reject(new Error(`emulate --provider ${p} exited with ${code}`)));
  });
  const info = JSON.parse(line) as { env?: Record<string, string>; endpoint: string };
  if (info.env) return info.env;
  // The aws emulator prints its endpoint only; these are the variables its human output lists.
  return {
    VPC_IPAM_PROVIDER: p,
    AWS_EC2_ENDPOINT: info.endpoint,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: info.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'emulator',
  };
}

/** Runs a daemon until its pool has addresses, stops it, and returns the CommonJS files it had loaded. */
async function loadedModules(name: string, env: Record<string, string>): Promise<string[]> {
  const dump = path.join(dir, `${name}.json`);
  const h = await startDaemon({
    WARM_IP_TARGET: '2',
    ...env,
    NODE_OPTIONS: `--require ${PRELOAD}`,
    MODULE_DUMP: dump,
    VPC_IPAM_METRICS_ADDRESS: 'off',
  });
  daemons.push(h);
  for (;;) {
    const p = await getJson<{ total: number }>(h, '/v1/pool');
    if (p.total > 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(await kill(h, 'SIGTERM')).toBe(0);
  return JSON.parse(fs.readFileSync(dump, 'utf8')) as string[];
}

describe('the GCP SDK is loaded only on GCP', () => {
  it('a gcp daemon loads it (control)', async () => {
    const embedded = { VPC_IPAM_GCP_EMBEDDED_EMULATOR: 'true', VPC_IPAM_GCP_EMULATOR_OPERATION_MS: '50' };
    const mods = await loadedModules('gcp', { VPC_IPAM_PROVIDER: 'gcp', ...embedded });
    expect(mods.some((m) => m.includes('/node_modules/@google-cloud/compute/build/src/v1/instances_client.js'))).toBe(
      true,
    );
    expect(mods.some((m) => GOOGLE.test(m) && m.includes('google-gax'))).toBe(true);
    // Deep imports only: the package index (every Compute client) is never loaded.
    expect(mods.filter((m) => m.endsWith('/@google-cloud/compute/build/src/index.js'))).toEqual([]);
  });

  it('a sim daemon does not', async () => {
    const mods = await loadedModules('sim', { VPC_IPAM_PROVIDER: 'sim' });
    expect(mods.filter((m) => GOOGLE.test(m))).toEqual([]);
  });

  it('an aws daemon does not', async () => {
    const mods = await loadedModules('aws', await emulate('aws'));
    expect(mods.some((m) => m.includes('/node_modules/@aws-sdk/client-ec2/'))).toBe(true);
    expect(mods.filter((m) => GOOGLE.test(m))).toEqual([]);
  });

  it('an azure daemon does not', async () => {
    const mods = await loadedModules('azure', await emulate('azure'));
    expect(mods.filter((m) => GOOGLE.test(m))).toEqual([]);
  });
});
