/**
 * `vpc-ipamctl simulate` as a process: output shape, chart file, exit codes
 * and messages for bad input.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');
let dir: string;

function ctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(REPO, 'ipamd/ctl/main.ts'), ...args],
      { cwd: REPO, env: { PATH: process.env.PATH ?? '' } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Everything instantaneous except AssignPrivateIpAddresses (1 s): the first engine test's numbers. */
const LATENCY = [
  // The zero profile turns off the realistic default's lag, detach time and NotFound dice; the pairs say it again.
  '--latency',
  'profile=zero',
  ...[
    'DescribeInstances',
    'CreateNetworkInterface',
    'AttachNetworkInterface',
    'ModifyNetworkInterfaceAttribute',
    'UnassignPrivateIpAddresses',
  ].flatMap((a) => ['--latency', `${a}=0`]),
  '--latency',
  'AssignPrivateIpAddresses=1000',
  '--latency',
  'metadataPropagation=0',
];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sim-cli-'));
  writeFileSync(path.join(dir, 'two.csv'), '# two Pods at once\nt_seconds,op,pod\n0,add,a\n0,add,b\n10,del,a\n');
  writeFileSync(path.join(dir, 'bad.csv'), 't_seconds,op,pod\n0,add,a\n1,remove,a\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vpc-ipamctl simulate', () => {
  it('--json prints exactly the result object', async () => {
    const r = await ctl(
      'simulate',
      '--trace',
      path.join(dir, 'two.csv'),
      '--instance-type',
      'm5.large',
      '--env',
      'WARM_IP_TARGET=1',
      ...LATENCY,
      '--json',
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]!);
    expect(Object.keys(out)).toEqual([
      'avgIdleIps',
      'peakIpsHeld',
      'podWaitP50Ms',
      'podWaitP99Ms',
      'podWaitMaxMs',
      'podsWaited',
      'failedAdds',
      'apiCalls',
      'durationS',
    ]);
    expect(out).toEqual({
      avgIdleIps: 0.8,
      peakIpsHeld: 3,
      podWaitP50Ms: 0,
      podWaitP99Ms: 1000,
      podWaitMaxMs: 1000,
      podsWaited: 1,
      failedAdds: 0,
      apiCalls: {
        total: 6,
        byAction: { AssignPrivateIpAddresses: 3, DescribeInstances: 2, DescribeNetworkInterfaces: 1 },
      },
      durationS: 10,
    });
  });

  it('without --json prints a readable summary, and --chart writes a self-contained page', async () => {
    const chart = path.join(dir, 'chart.html');
    const r = await ctl(
      'simulate',
      '--trace',
      path.join(dir, 'two.csv'),
      '--instance-type',
      'm5.large',
      '--env',
      'WARM_POOL_POLICY=adaptive',
      '--chart',
      chart,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/idle IPs \(time-weighted average\)\s+\d/);
    expect(r.stdout).toMatch(/Pods that waited for an address\s+\d+ of 2/);
    expect(r.stdout).toContain('At the end: adaptive: warm target');
    expect(r.stdout).toContain(`Chart written to ${chart}`);
    const html = readFileSync(chart, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<svg');
    expect(html).toContain('IPs held');
    // No scripts and nothing fetched: the only URL is the SVG namespace.
    expect(html).not.toMatch(/<script|<link|src=|href=|@import/i);
    expect(html.match(/https?:\/\/[^"]+/g)).toEqual(['http://www.w3.org/2000/svg']);
  });

  it.each([
    [
      'a malformed trace line, with its number',
      ['--trace', 'BAD', '--instance-type', 'm5.large'],
      /bad\.csv:3: op must be "add" or "del", got "remove"/,
    ],
    [
      'a missing trace file',
      ['--trace', 'MISSING', '--instance-type', 'm5.large'],
      /cannot read trace .*missing\.csv: ENOENT/,
    ],
    [
      'an unknown instance type',
      ['--trace', 'TWO', '--instance-type', 'm5.huge'],
      /--instance-type: unknown instance type "m5.huge"/,
    ],
    [
      'an --env without =',
      ['--trace', 'TWO', '--instance-type', 'm5.large', '--env', 'WARM_IP_TARGET'],
      /--env: expected NAME=VALUE/,
    ],
    [
      'a setting the daemon rejects',
      ['--trace', 'TWO', '--instance-type', 'm5.large', '--env', 'WARM_IP_TARGET=many'],
      /WARM_IP_TARGET: expected a whole number, got "many"/,
    ],
    [
      'an unknown latency action',
      ['--trace', 'TWO', '--instance-type', 'm5.large', '--latency', 'Teleport=5'],
      /--latency: unknown action "Teleport"/,
    ],
    [
      'an unknown timing profile',
      ['--trace', 'TWO', '--instance-type', 'm5.large', '--latency', 'profile=kind'],
      /--latency: unknown timing profile "kind"/,
    ],
    [
      'a range for a fixed time',
      ['--trace', 'TWO', '--instance-type', 'm5.large', '--latency', 'detachSettle=1-2'],
      /--latency: detachSettle takes a number, got "1-2"/,
    ],
    [
      'a subnet that is not a network address',
      ['--trace', 'TWO', '--instance-type', 'm5.large', '--subnet', '10.0.0.7/24'],
      /--subnet: 10\.0\.0\.7\/24 is not a network address/,
    ],
    ['no --trace', ['--instance-type', 'm5.large'], /--trace is required/],
    ['an unknown flag', ['--trace', 'TWO', '--instance-type', 'm5.large', '--fast'], /unknown option --fast/],
  ])('exits 2 on %s', async (_name, args, message) => {
    const files: Record<string, string> = {
      BAD: path.join(dir, 'bad.csv'),
      TWO: path.join(dir, 'two.csv'),
      MISSING: path.join(dir, 'missing.csv'),
    };
    const r = await ctl('simulate', ...(args as string[]).map((a) => files[a] ?? a));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message as RegExp);
  });

  it('runs on another subnet', async () => {
    const r = await ctl(
      'simulate',
      '--trace',
      path.join(dir, 'two.csv'),
      '--instance-type',
      'm5.large',
      '--subnet',
      '192.168.4.0/26',
      '--json',
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).peakIpsHeld).toBe(18);
  });
});
