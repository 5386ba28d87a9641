/**
 * WARM_POOL_POLICY reaches the simulator exactly as it reaches the daemon:
 * one policy factory (ipamd/pool/policy-factory.ts). Each policy leaves its
 * own mark on the same replay (pool size, calls, explanation), through the
 * engine and through `vpc-ipamctl simulate`; azure-batch also sees growth
 * blocked by a full subnet (its scarcity mode), and its settings are checked.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulate } from '../../ipamd/sim/engine.js';
import { parseTrace } from '../../ipamd/sim/trace.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const ROWS = 't_seconds,op,pod\n0,add,a\n0,add,b\n5,add,c\n10,del,a\n20,add,d\n';
const trace = parseTrace(ROWS, 'policies.csv');
let dir: string;

function ctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const argv = ['--import', 'tsx', path.join(REPO, 'ipamd/ctl/main.ts'), ...args];
    execFile(process.execPath, argv, { cwd: REPO, env: { PATH: process.env.PATH ?? '' } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function replay(env: Record<string, string>, subnetCidr?: string) {
  const names = new Set<string>();
  const observe = (d: { policy: { name: string } }) => names.add(d.policy.name);
  const run = await simulate({ trace, instanceType: 'm5.large', env, ...(subnetCidr ? { subnetCidr } : {}), observe });
  return { run, names: [...names] };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sim-policy-'));
  writeFileSync(path.join(dir, 'policies.csv'), ROWS);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('simulate replays with the policy WARM_POOL_POLICY names', () => {
  it('static: one interface of free IPs (WARM_ENI_TARGET=1) pulls in a second interface', async () => {
    const { run, names } = await replay({ WARM_POOL_POLICY: 'static' });
    expect(names).toEqual(['static']);
    expect(run.policyExplain).toMatch(/^static targets: WARM_ENI_TARGET=1/);
    expect(run.result.peakIpsHeld).toBe(18);
    expect(run.result.apiCalls.byAction.CreateNetworkInterface).toBe(1);
  });

  it('adaptive: sized from what it saw, after its warm-up', async () => {
    const { run, names } = await replay({ WARM_POOL_POLICY: 'adaptive' });
    expect(names).toEqual(['adaptive']);
    // Issue 17: the warm-up keeps about what WARM_ENI_TARGET=1 keeps at start, 1.5 interfaces (14 on an m5.large).
    expect(run.policyExplain).toMatch(
      /^adaptive: warm target 14 = max\(rate \d+, burst \d+, scheduled 0, warm-up 14\)/,
    );
    expect(run.result.peakIpsHeld).toBe(17);
  });

  it('azure-batch: the pool moves in whole batches, with no interface created', async () => {
    const { run, names } = await replay({ WARM_POOL_POLICY: 'azure-batch', AZURE_IP_BATCH_SIZE: '4' });
    expect(names).toEqual(['azure-batch']);
    expect(run.policyExplain).toMatch(/^azure-batch \(AZURE_IP_BATCH_SIZE=4, .*\): batch 4, demand 4, /);
    expect(run.policyExplain).toMatch(/free 4 within \[2, 6\): hold 8$/);
    expect(run.result.peakIpsHeld).toBe(8);
    expect(run.result.apiCalls.byAction).toMatchObject({ AssignPrivateIpAddresses: 2 });
    expect(run.result.apiCalls.byAction.CreateNetworkInterface).toBeUndefined();
  });

  it('azure-batch: a full subnet puts it in subnet scarcity mode, as on a node', async () => {
    // A /28 has 11 usable addresses: the primary's and 10 more, fewer than one batch of 16.
    const { run } = await replay({ WARM_POOL_POLICY: 'azure-batch' }, '10.0.0.0/28');
    expect(run.policyExplain).toMatch(/^azure-batch \(AZURE_IP_BATCH_SIZE=16, .*\): subnet scarcity: batch 1/);
  });

  it('vpc-ipamctl simulate: the same three replays, and an azure-batch setting is checked', async () => {
    const file = path.join(dir, 'policies.csv');
    const sim = (...args: string[]) => ctl('simulate', '--trace', file, '--instance-type', 'm5.large', ...args);
    const peaks: Record<string, number> = {};
    const policies = [
      ['static', []],
      ['adaptive', []],
      ['azure-batch', ['--env', 'AZURE_IP_BATCH_SIZE=4']],
    ] as const;
    for (const [policy, extra] of policies) {
      const r = await sim('--env', `WARM_POOL_POLICY=${policy}`, ...extra, '--json');
      expect(r.stderr).toBe('');
      peaks[policy] = (JSON.parse(r.stdout) as { peakIpsHeld: number }).peakIpsHeld;
    }
    expect(peaks).toEqual({ static: 18, adaptive: 17, 'azure-batch': 8 });
    const summary = await sim('--env', 'WARM_POOL_POLICY=azure-batch');
    expect(summary.stdout).toContain('At the end: azure-batch (AZURE_IP_BATCH_SIZE=16');
    const bad = await sim('--env', 'WARM_POOL_POLICY=azure-batch', '--env', 'AZURE_IP_BATCH_SIZE=0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/AZURE_IP_BATCH_SIZE: must be from 1 to 4096, got 0/);
  });
});
