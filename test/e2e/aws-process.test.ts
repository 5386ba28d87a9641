/**
 * The built binaries as processes: `vpc-ipamd` with VPC_IPAM_PROVIDER=aws on
 * its embedded EC2+IMDS emulator (what `npm start` runs), SIGKILLed and
 * restarted with its cloud intact; and `vpc-ipamctl emulate` serving a
 * separate daemon process over loopback, with IMDS lagging EC2.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../cni/contract/protocol.js';
import { callIpamd } from '../../cni/contract/socket-client.js';
import { assertBuilt, getJson, kill, REPO, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';
import { startDone } from '../helpers/start-done.js';

const handles: DaemonHandle[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const h of handles) await kill(h, 'SIGKILL');
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

const QUIET = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
// The strict emulator's timings at a tenth (attach 200 ms, detach 300 ms, IMDS 100-500 ms): all on, and quick.
const FAST_REALISM = 'scale=0.1';

async function add(h: DaemonHandle, id: string): Promise<string> {
  const res = await callIpamd(
    h.socket,
    { v: PROTOCOL_VERSION, op: 'add', network: 'vpc-ipam', containerId: id, ifName: 'eth0' },
    20_000,
  );
  if (!res.ok || !('allocation' in res)) throw new Error(`ADD ${id} failed: ${JSON.stringify(res)}`);
  return res.allocation.ip;
}

interface Nics {
  interfaces: Array<{ id: string; deviceIndex: number; blocks: Array<{ cidr: string }> }>;
}

describe('vpc-ipamd process on the aws provider', () => {
  it('runs on its embedded emulator, and a SIGKILL loses neither assignments nor cloud state', async () => {
    let h = await startDaemon({
      ...QUIET,
      VPC_IPAM_PROVIDER: 'aws',
      VPC_IPAM_AWS_EMBEDDED_EMULATOR: 'true',
      VPC_IPAM_AWS_EMULATOR_REALISM: FAST_REALISM,
      WARM_IP_TARGET: '2',
      MINIMUM_IP_TARGET: '4',
    });
    handles.push(h);
    const ips = new Map<string, string>();
    for (let i = 0; i < 12; i++) ips.set(`c${i}`, await add(h, `c${i}`));
    const before = await getJson<Nics>(h, '/v1/nics');
    expect(before.interfaces.length).toBe(2); // 12 Pods do not fit the primary's 9 slots
    const cloudFile = path.join(h.dir, 'state', 'aws-cloud.json');
    expect(existsSync(cloudFile)).toBe(true);
    await kill(h, 'SIGKILL');
    h = await startDaemon({}, h);
    handles.push(h);
    const after = await getJson<{ assignments: Array<{ containerId: string; ip: string }>; orphaned: unknown[] }>(
      h,
      '/v1/assignments',
    );
    expect(new Map(after.assignments.map((a) => [a.containerId, a.ip]))).toEqual(ips);
    expect(after.orphaned).toEqual([]);
    const nics = await getJson<Nics>(h, '/v1/nics');
    expect(nics.interfaces.map((n) => n.id).sort()).toEqual(before.interfaces.map((n) => n.id).sort());
    const saved = JSON.parse(readFileSync(cloudFile, 'utf8')) as { interfaces: Array<{ privateIps: string[] }> };
    const inCloud = new Set(saved.interfaces.flatMap((n) => n.privateIps));
    for (const ip of ips.values()) expect(inCloud.has(ip)).toBe(true);
    expect(await kill(h, 'SIGTERM')).toBe(0);
  });
});

describe('vpc-ipamctl emulate', () => {
  it('serves EC2 + IMDS for one node to a separate daemon process, with IMDS lagging', async () => {
    assertBuilt();
    const ctl = path.join(REPO, 'dist/ipamd/ctl/main.js');
    const args = [
      '--instance-type',
      'm5.xlarge',
      '--subnet',
      '10.0.4.0/24',
      '--metadata-delay-ms',
      '300',
      '--realism',
      FAST_REALISM,
    ];
    const emu = spawn(
      process.execPath,
      [ctl, 'emulate', '--provider', 'aws', '--listen', '127.0.0.1:0', ...args, '--json'],
      {
        env: { PATH: process.env.PATH, ...QUIET },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(emu);
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      emu.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      emu.once('exit', (code) => reject(new Error(`emulate exited with ${code}`)));
    });
    const info = JSON.parse(line) as { provider: string; endpoint: string; instanceId: string };
    expect(info).toMatchObject({
      provider: 'aws',
      endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      instanceId: expect.stringMatching(/^i-/),
    });
    const h = await startDaemon({
      ...QUIET,
      VPC_IPAM_PROVIDER: 'aws',
      AWS_EC2_ENDPOINT: info.endpoint,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: info.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'emulator',
      WARM_ENI_TARGET: '1',
    });
    handles.push(h);
    await startDone(h); // ready comes before the first fill since issue 17
    const pool = await getJson<{ total: number; interfaces: number }>(h, '/v1/pool');
    expect(pool).toMatchObject({ total: 14, interfaces: 1 }); // m5.xlarge: 15 IPv4 per ENI, primary excluded
    const ip = await add(h, 'x');
    expect(ip.startsWith('10.0.4.')).toBe(true);
    // The first Pod drops the free count below one ENI's worth: a second ENI, which IMDS shows 300 ms late.
    for (let i = 0; i < 100 && (await getJson<{ interfaces: number }>(h, '/v1/pool')).interfaces < 2; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect((await getJson<{ total: number; interfaces: number }>(h, '/v1/pool')).interfaces).toBe(2);
    expect(await kill(h, 'SIGTERM')).toBe(0);
    emu.kill('SIGTERM');
    expect(await new Promise((r) => emu.once('exit', r))).toBe(0);
  });

  it('refuses a non-loopback listener and an unknown provider, naming the problem', async () => {
    assertBuilt();
    const ctl = path.join(REPO, 'dist/ipamd/ctl/main.js');
    const run = (args: string[]) =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        const p = spawn(process.execPath, [ctl, 'emulate', ...args], {
          env: { PATH: process.env.PATH, ...QUIET },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let err = '';
        p.stderr!.on('data', (d) => (err += d));
        p.once('exit', (code) => resolve({ code, err }));
      });
    const wide = await run(['--provider', 'aws', '--listen', '0.0.0.0:9999']);
    expect(wide.code).toBe(2);
    expect(wide.err).toMatch(/--listen: must bind to loopback/);
    const nope = await run(['--provider', 'oracle', '--listen', '127.0.0.1:0']);
    expect(nope.code).toBe(2);
    expect(nope.err).toMatch(/no emulator for provider "oracle"/);
    const badSubnet = await run(['--provider', 'aws', '--listen', '127.0.0.1:0', '--subnet', '10.0.0.5/24']);
    expect(badSubnet.code).toBe(2);
    expect(badSubnet.err).toMatch(/not a network address/);
    const badWording = await run(['--provider', 'aws', '--listen', '127.0.0.1:0', '--capacity-wording', 'loud']);
    expect(badWording.code).toBe(2);
    expect(badWording.err).toMatch(/--capacity-wording: expected one of specific, generic, mixed/);
    const notAws = await run(['--provider', 'gcp', '--listen', '127.0.0.1:0', '--realism', 'off']);
    expect(notAws.code).toBe(2);
    expect(notAws.err).toMatch(/--realism is only supported by the aws emulator/);
    const noPolicy = await run(['--provider', 'aws', '--listen', '127.0.0.1:0', '--iam-policy', '/nonexistent.json']);
    expect(noPolicy.code).toBe(2);
    expect(noPolicy.err).toMatch(/--iam-policy \/nonexistent\.json: ENOENT/);
    const notAwsTags = await run(['--provider', 'azure', '--listen', '127.0.0.1:0', '--cluster-name', 'x']);
    expect(notAwsTags.err).toMatch(/--cluster-name is only supported by the aws emulator/);
  });
});
