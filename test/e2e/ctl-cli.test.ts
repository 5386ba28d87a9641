/**
 * vpc-ipamctl (dist/) says what the README says it does: `status --socket`
 * reads the running daemon over its socket, `subnets` tells how to read the
 * running daemon, `plan` counts in English, and `gc-enis` describes its
 * passes as its code runs them.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kill, LOOPBACK_GUARD, REPO, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';

const CTL = path.join(REPO, 'dist/ipamd/ctl/main.js');

function ctl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const full = { PATH: process.env.PATH, NODE_OPTIONS: LOOPBACK_GUARD, ...env };
    execFile(process.execPath, [CTL, ...args], { env: full, timeout: 30_000 }, (e, out, err) =>
      resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err }),
    );
  });
}

describe('vpc-ipamctl', () => {
  let h: DaemonHandle;
  beforeAll(async () => {
    h = await startDaemon();
  });
  afterAll(async () => {
    await kill(h, 'SIGTERM');
  });

  it('status --socket reads the daemon over its socket (as add and del do)', async () => {
    const r = await ctl(['status', '--socket', h.socket]);
    expect(r, r.err).toMatchObject({ code: 0 });
    expect(r.out).toMatch(/^ready \| pool \d+ \| assigned 0 \| available \d+ \| cooling 0\n$/);
    const json = await ctl(['status', '--socket', h.socket, '--json']);
    expect(JSON.parse(json.out)).toMatchObject({ ready: true, assigned: 0 });
  });

  it('status (introspection) prints the short status line', async () => {
    const r = await ctl(['status', '--introspection', h.introspection]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^pool \d+ \| assigned 0 \| available \d+ \| interfaces \d+ \| cloud calls \d+ \| why: /);
    expect(r.out.trim().length).toBeLessThanOrEqual(160);
  });

  it('subnets without a source says how to read the running daemon', async () => {
    const r = await ctl(['subnets']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--from 127\.0\.0\.1:61679/);
    const from = await ctl(['subnets', '--from', h.introspection]);
    expect(from.code, from.err).toBe(0);
    expect((await ctl(['help'])).out).toMatch(/subnets .*--from HOST:PORT/);
  });

  it('plan says "1 node", not "1 nodes"', async () => {
    const args = ['--subnet', '10.0.0.0/26', '--instance-type', 'm5.large', '--mode', 'ips', '--nodes', '1'];
    const r = await ctl(['plan', ...args]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^Fits 1 node = \d+ Pods/m);
    expect(r.out).toMatch(/^For 1 node: /m);
    expect(r.out).not.toMatch(/\b1 nodes\b/);
  });

  it('gc-enis: one pass per run by default; its help and the README say so', async () => {
    const help = await ctl(['gc-enis', '--help']);
    expect(help.out).toContain('[--passes 1]');
    const summary = (await ctl(['help'])).out.split('\n').find((l) => l.trim().startsWith('gc-enis'))!;
    expect(summary).toMatch(/a pass marks .* the next pass deletes .*--passes 2/);
  });
});
