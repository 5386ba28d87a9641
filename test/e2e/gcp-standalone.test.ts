/**
 * `vpc-ipamctl emulate --provider gcp`: the GCE emulator as its own process,
 * and a daemon configured only from what it prints; its state file keeps
 * nic0's alias ranges across an emulator restart. Flags the GCE emulator
 * cannot honour are refused, not ignored.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { getJson, kill, REPO, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';
import { until } from '../helpers/eventually.js';

const CTL = path.join(REPO, 'dist/ipamd/ctl/main.js');
const daemons: DaemonHandle[] = [];
const procs: ChildProcess[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) await kill(d, 'SIGKILL');
  for (const p of procs.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
});

async function emulate(args: string[]): Promise<{
  proc: ChildProcess;
  info: { provider: string; endpoint: string; instanceId: string; env: Record<string, string> };
}> {
  const proc = spawn(
    process.execPath,
    [CTL, 'emulate', '--provider', 'gcp', '--json', '--operation-ms', '20', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  procs.push(proc);
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    proc.once('exit', (code) => reject(new Error(`emulate exited with ${code}`)));
  });
  return { proc, info: JSON.parse(line) };
}

/** Polls `read` until `holds` (the deadline only guards a hang, under the test's own timeout). */
const ranges = async (h: DaemonHandle) =>
  (await getJson<{ interfaces: Array<{ blocks: Array<{ cidr: string }> }> }>(h, '/v1/nics')).interfaces
    .flatMap((i) => i.blocks.map((b) => b.cidr))
    .sort();

describe('GCE without a cloud', () => {
  it(
    'vpc-ipamctl emulate --provider gcp serves a daemon configured from its --json output, and keeps ' + 'state',
    async () => {
      const state = path.join(mkdtempSync(path.join(tmpdir(), 'gce-emulate-')), 'cloud.json');
      let { proc, info } = await emulate(['--listen', '127.0.0.1:0', '--pod-subnet', '10.60.0.0/20', '--state', state]);
      expect(info).toMatchObject({ provider: 'gcp', instanceId: 'gke-node-1' });
      expect(info.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(info.env).toMatchObject({
        VPC_IPAM_PROVIDER: 'gcp',
        GCP_COMPUTE_ENDPOINT: info.endpoint,
        GCE_METADATA_HOST: info.endpoint.replace('http://', ''),
      });
      const h = await startDaemon({ ...info.env, WARM_PREFIX_TARGET: '2' });
      daemons.push(h);
      await until(
        () => getJson<{ total: number }>(h, '/v1/pool'),
        (p) => p.total === 32,
      );
      const before = await ranges(h);
      expect(before.every((c) => c.startsWith('10.60.') && c.endsWith('/28'))).toBe(true);
      await kill(h, 'SIGKILL');
      proc.kill('SIGTERM');
      expect(await new Promise((r) => proc.once('exit', r))).toBe(0);
      const saved = JSON.parse(readFileSync(state, 'utf8')) as { interfaces: Array<{ prefixes: string[] }> };
      expect(saved.interfaces[0]!.prefixes).toEqual(before);
      // A new emulator on the same state file still has nic0's ranges.
      ({ proc, info } = await emulate(['--listen', '127.0.0.1:0', '--state', state]));
      const res = await fetch(
        `${info.endpoint}/computeMetadata/v1/instance/network-interfaces/0/ip-aliases/?recursive=true`,
        { headers: { 'Metadata-Flavor': 'Google' } },
      );
      expect(await res.json()).toEqual(before);
    },
  );

  it('refuses flags it cannot honour and bad CIDRs, by name', () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, [CTL, 'emulate', '--provider', 'gcp', '--listen', '127.0.0.1:0', ...args], {
        encoding: 'utf8',
        timeout: 30_000,
      });
    const a = run(['--latency-scale', '1']);
    expect(a.status).not.toBe(0);
    expect(a.stderr).toMatch(/--latency-scale is not supported by the gcp emulator/);
    const b = run(['--pod-subnet', '10.0.0.0/8']);
    expect(b.status).not.toBe(0);
    expect(b.stderr).toMatch(/10\.0\.0\.0\/8.*invalid/);
    const c = run(['--retry-after-seconds', '1']);
    expect(c.status).not.toBe(0);
    expect(c.stderr).toMatch(/--retry-after-seconds is only supported by the azure emulator/);
    const d = run(['--operation-ms', '-1']);
    expect(d.stderr).toMatch(/--operation-ms must be a number from 0 to 600000, got "-1"/);
  });
});
