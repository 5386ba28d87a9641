/**
 * `npm start` (dist/ipamd/dev-start.js) as a user runs it, as a child
 * process: Ctrl-C (SIGINT) deletes the demo Pods before the daemon stops, a
 * restart after a crash adopts and then deletes the previous run's Pods, so
 * start after start the pool never fills up; each provider keeps its own
 * state; and whatever the environment says, aws runs against its embedded
 * emulator on loopback (this test's processes cannot reach anything else:
 * test/helpers/loopback-only.mjs), without the AWS SDK's Node 20 warning.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SLOTS } from '../../ipamd/dev-demo.js';
import { checkpointAssignments } from '../helpers/checkpoint-file.js';
import { assertBuilt, freePort, LOOPBACK_GUARD, REPO } from '../helpers/daemon-process.js';

const DEV_START = path.join(REPO, 'dist/ipamd/dev-start.js');

interface DevRun {
  proc: ChildProcess;
  out: () => string;
  introspection: string;
}

async function startDev(env: NodeJS.ProcessEnv): Promise<DevRun> {
  const port = await freePort();
  const base = { PATH: process.env.PATH, NODE_OPTIONS: LOOPBACK_GUARD };
  const full = { ...base, INTROSPECTION_BIND_ADDRESS: `127.0.0.1:${port}`, ...env };
  const proc = spawn(process.execPath, [DEV_START], { env: full, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const run = { proc, out: () => out, introspection: `127.0.0.1:${port}` };
  const deadline = Date.now() + 30_000;
  while (
    !(await fetch(`http://${run.introspection}/healthz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (proc.exitCode !== null) throw new Error(`npm start exited with ${proc.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`npm start never became healthy:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return run;
}

async function demoPods(run: DevRun): Promise<string[]> {
  const body = (await (await fetch(`http://${run.introspection}/v1/assignments`)).json()) as {
    assignments: Array<{ containerId: string }>;
  };
  return body.assignments.map((a) => a.containerId).filter((id) => id.startsWith('demo-'));
}

/** Waits until the demo holds at least `n` Pods (so there is something to clean up). */
async function untilDemoHolds(run: DevRun, n: number): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ids = await demoPods(run);
    if (ids.length >= n) return ids;
    if (Date.now() > deadline) throw new Error(`demo holds ${ids.length} Pods, wanted ${n}:\n${run.out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stop(run: DevRun, signal: NodeJS.Signals): Promise<number | null> {
  return new Promise((resolve) => {
    if (run.proc.exitCode !== null) return resolve(run.proc.exitCode);
    run.proc.once('exit', (code) => resolve(code));
    run.proc.kill(signal);
  });
}

async function checkpointIds(file: string): Promise<string[]> {
  return (await checkpointAssignments(file)).map((a) => a.containerId);
}

describe('npm start', () => {
  beforeAll(() => assertBuilt());

  it('start after start (and after a crash), Ctrl-C leaves no demo Pod and the pool never fills up', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dev-start-'));
    const metrics = await freePort();
    const env = {
      VPC_IPAM_PROVIDER: 'sim',
      VPC_IPAM_DEV_DIR: dir,
      VPC_IPAM_DEMO_INTERVAL_MS: '20',
      VPC_IPAM_SIM_LATENCY_SCALE: '0.02',
      VPC_IPAM_METRICS_ADDRESS: `127.0.0.1:${metrics}`,
    };
    const checkpoint = path.join(dir, 'sim', 'state', 'ipam.json');

    // A crash first: the Pods stay in the checkpoint under the demo's fixed IDs.
    const crashed = await startDev(env);
    await untilDemoHolds(crashed, 4);
    expect(await stop(crashed, 'SIGKILL')).toBe(null);
    // The demo keeps churning until the kill, so which IDs survive is chance; how many is not: once it holds
    // four it only deletes from four or more, and every acknowledged change is in the checkpoint.
    const left = (await checkpointIds(checkpoint)).filter((id) => id.startsWith('demo-'));
    expect(left.length, left.join(' ')).toBeGreaterThanOrEqual(3);
    expect(left.every((id) => /^demo-\d+$/.test(id))).toBe(true);

    for (let round = 1; round <= 3; round++) {
      const run = await startDev(env);
      await untilDemoHolds(run, 6);
      const pool = (await (await fetch(`http://${run.introspection}/v1/pool`)).json()) as {
        status: { ready: boolean };
        assigned: number;
      };
      expect(pool.status.ready, `round ${round}`).toBe(true);
      // What filled the pool before: every run's Pods piling up under new IDs. Now only the demo's own
      // fixed IDs can hold addresses (a snapshot of 'available' races the demo's own ADDs and growth).
      expect(pool.assigned, `round ${round}: only the demo's IDs may hold addresses`).toBeLessThanOrEqual(DEMO_SLOTS);
      expect(
        (await demoPods(run)).every((id) => /^demo-\d+$/.test(id)),
        `round ${round}`,
      ).toBe(true);
      expect(await stop(run, 'SIGINT'), run.out()).toBe(0);
      expect(run.out()).toMatch(/deleted \d+ demo Pod\(s\)/);
      expect(run.out()).toMatch(new RegExp(`metrics +http://127\\.0\\.0\\.1:${metrics}/metrics\n`));
      expect(
        (await checkpointIds(checkpoint)).filter((id) => id.startsWith('demo-')),
        `round ${round}`,
      ).toEqual([]);
    }
    // Socket removed, state kept per provider.
    expect(existsSync(path.join(dir, 'sim', 'ipamd.sock'))).toBe(false);
    expect(existsSync(path.join(dir, 'state'))).toBe(false);
  });

  it('VPC_IPAM_PROVIDER=aws runs the embedded emulator, whatever endpoints the environment names', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dev-start-aws-'));
    // A closed loopback port: without the emulator the SDK would fail here (in the wild: the real IMDS and EC2).
    const closed = await freePort();
    const run = await startDev({
      VPC_IPAM_PROVIDER: 'aws',
      VPC_IPAM_DEV_DIR: dir,
      VPC_IPAM_DEMO: 'off',
      VPC_IPAM_SIM_LATENCY_SCALE: '0.02',
      VPC_IPAM_METRICS_ADDRESS: `:${await freePort()}`,
      AWS_EC2_ENDPOINT: `http://127.0.0.1:${closed}`,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${closed}`,
      VPC_IPAM_AWS_EMBEDDED_EMULATOR: 'false',
      MY_NODE_NAME: 'a-real-node',
    });
    try {
      const out = run.out();
      expect(out).toMatch(/ignoring AWS_EC2_ENDPOINT/);
      expect(out).toMatch(/ignoring AWS_EC2_METADATA_SERVICE_ENDPOINT/);
      expect(out).toMatch(/ignoring MY_NODE_NAME/);
      expect(out).toMatch(/aws provider \(emulator on loopback\)/);
      // The banner tells where metrics really listen.
      expect(out).toMatch(/metrics +http:\/\/127\.0\.0\.1:\d+\/metrics \(listening on all interfaces, 0\.0\.0\.0\)/);
      // The SDK's eight-line Node 20 notice is not the first (or any) thing the user sees.
      expect(out).not.toMatch(/NodeVersionSupportWarning/);
      const log = readFileSync(path.join(dir, 'aws', 'ipamd.log'), 'utf8');
      expect(log).toMatch(/"endpoint":"http:\/\/127\.0\.0\.1:\d+".*embedded EC2\+IMDS emulator started/);
    } finally {
      expect(await stop(run, 'SIGINT')).toBe(0);
    }
  });

  it('refuses a dev switch it cannot read, before starting anything', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dev-start-bad-'));
    const proc = spawn(process.execPath, [DEV_START], {
      env: {
        PATH: process.env.PATH,
        NODE_OPTIONS: LOOPBACK_GUARD,
        VPC_IPAM_DEV_DIR: dir,
        VPC_IPAM_DEV_REAL_CLOUD: 'yes',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    proc.stderr!.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => proc.on('exit', r));
    expect(code).toBe(1);
    expect(err).toMatch(/^vpc-ipamd: cannot start: CONFIG_INVALID: VPC_IPAM_DEV_REAL_CLOUD: expected true or false/);
    expect(existsSync(path.join(dir, 'aws'))).toBe(false);
  });
});
