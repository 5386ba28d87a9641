import { describe, expect, it } from 'vitest';
import { runCommand } from '../../cni/commands.js';
import { parseConfig } from '../../cni/config.js';
import type { CniEnv } from '../../cni/env.js';
import { CniCode, type CniError } from '../../cni/errors.js';
import { buildAddResult } from '../../cni/result.js';
import { down, FakeIpamd, fakeDeps, sampleAllocation as alloc } from './fakes.js';

const cfg = (extra: Record<string, unknown> = {}) =>
  parseConfig(
    {
      cniVersion: '1.1.0',
      name: 'vpc-net',
      type: 'vpc-ipam',
      ipamdSocket: '/run/test/ipamd.sock',
      dns: { nameservers: ['10.100.0.10'] },
      ...extra,
    },
    { forGc: 'cni.dev/valid-attachments' in extra },
  );
const env = (command: CniEnv['command'], extra: Partial<CniEnv> = {}): CniEnv => ({
  command,
  containerId: 'c0ffee',
  ifName: 'eth0',
  netns: '/var/run/netns/p1',
  args: { ignoreUnknown: true, podNamespace: 'default', podName: 'web-0', podUid: 'uid-1', other: {} },
  ...extra,
});
async function codeOf(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
  } catch (err) {
    return (err as CniError).code;
  }
  return undefined;
}

describe('ADD', () => {
  it('asks ipamd with the attachment key, Pod ref, netns, MTU and wait, and prints the result', async () => {
    const ipamd = new FakeIpamd({ add: { ok: true, allocation: alloc } });
    const out = await runCommand(env('ADD'), cfg({ addWaitMs: 3000, timeoutMs: 1000, mtu: 1500 }), fakeDeps(ipamd));
    expect(ipamd.calls[0]).toEqual({
      req: {
        op: 'add',
        network: 'vpc-net',
        containerId: 'c0ffee',
        ifName: 'eth0',
        pod: { namespace: 'default', name: 'web-0', uid: 'uid-1' },
        netns: { path: '/var/run/netns/p1', mtu: 1500 },
        waitMs: 3000,
      },
      timeoutMs: 4000,
    });
    expect(out).toMatchObject({
      cniVersion: '1.1.0',
      ips: [{ address: '198.18.0.9/32', gateway: '169.254.1.1', interface: 1 }],
      dns: { nameservers: ['10.100.0.10'] },
    });
    expect((out as { interfaces: unknown[] }).interfaces[0]).toEqual({
      name: alloc.hostIf,
      mac: '0a:00:00:00:00:01',
      mtu: 1500,
    });
  });
  it('merges into a prevResult when chained after another plugin', async () => {
    const ipamd = new FakeIpamd({ add: { ok: true, allocation: alloc } });
    const prev = { cniVersion: '1.1.0', interfaces: [{ name: 'dummy0' }], ips: [], routes: [] };
    const out = (await runCommand(env('ADD'), cfg({ prevResult: prev }), fakeDeps(ipamd))) as {
      interfaces: unknown[];
      ips: Array<{ interface: number }>;
    };
    expect(out.interfaces).toHaveLength(3);
    expect(out.ips[0]!.interface).toBe(2);
  });
  it.each([
    [
      'exhausted',
      { ok: false, error: { code: 'POOL_EXHAUSTED', msg: 'no IP in 10s', retryable: true } },
      CniCode.TryAgainLater,
    ],
    ['unreachable', down('unreachable'), CniCode.TryAgainLater],
    ['timeout', down('timeout'), CniCode.TryAgainLater],
    ['garbled', down('protocol'), CniCode.IpamdProtocol],
    ['wiring failed', { ok: false, error: { code: 'NETNS_FAILED', msg: 'EEXIST' } }, CniCode.NetnsFailed],
    ['no allocation', { ok: true, released: true }, CniCode.IpamdProtocol],
  ] as const)('maps %s', async (_n, reply, code) => {
    expect(await codeOf(runCommand(env('ADD'), cfg(), fakeDeps(new FakeIpamd({ add: reply as never }))))).toBe(code);
  });
});

describe('DEL', () => {
  it('releases through ipamd and prints nothing', async () => {
    const ipamd = new FakeIpamd({ del: { ok: true, released: true } });
    const d = fakeDeps(ipamd);
    expect(await runCommand(env('DEL'), cfg(), d)).toBeUndefined();
    expect(ipamd.calls[0]!.req).toEqual({
      op: 'del',
      network: 'vpc-net',
      containerId: 'c0ffee',
      ifName: 'eth0',
      netns: { path: '/var/run/netns/p1' },
    });
    expect(d.torn).toEqual([]);
  });
  it('succeeds for an unknown attachment and without CNI_NETNS', async () => {
    const ipamd = new FakeIpamd({ del: { ok: true, released: false } });
    expect(await runCommand(env('DEL', { netns: '' }), cfg(), fakeDeps(ipamd))).toBeUndefined();
    expect(ipamd.calls[0]!.req).not.toHaveProperty('netns');
    expect(
      await runCommand(
        env('DEL'),
        cfg(),
        fakeDeps(new FakeIpamd({ del: { ok: false, error: { code: 'NOT_FOUND', msg: 'x' } } })),
      ),
    ).toBeUndefined();
  });
  it('tears down the host side and records a pending release when ipamd is unreachable', async () => {
    const d = fakeDeps(new FakeIpamd({ del: down('unreachable') }));
    const prev = buildAddResult({
      cniVersion: '1.1.0',
      ifName: 'eth0',
      netns: '/var/run/netns/p1',
      mtu: 9001,
      dns: {},
      allocation: alloc,
    });
    expect(await runCommand(env('DEL'), cfg({ prevResult: prev }), d)).toBeUndefined();
    // The veth prevResult names; a veth of this attachment under another prefix is looked for by suffix too.
    const formerSuffixes = expect.arrayContaining([alloc.hostIf!.slice(3)]);
    expect(d.torn).toEqual([{ hostIf: alloc.hostIf, ip: '198.18.0.9', formerSuffixes }]);
    expect(d.pending).toEqual([
      {
        dir: '/run/test/pending-release',
        req: {
          v: 1,
          op: 'del',
          network: 'vpc-net',
          containerId: 'c0ffee',
          ifName: 'eth0',
          netns: { path: '/var/run/netns/p1' },
        },
      },
    ]);
  });
  it('still records the release when the offline teardown fails, and fails with 5 when it cannot record', async () => {
    const d = fakeDeps(new FakeIpamd({ del: down('timeout') }), {
      offlineTearDown: async () => {
        throw new Error('EPERM');
      },
    });
    expect(await runCommand(env('DEL'), cfg(), d)).toBeUndefined();
    expect(d.pending).toHaveLength(1);
    const bad = fakeDeps(new FakeIpamd({ del: down() }), {
      writePendingRelease: () => {
        throw new Error('EROFS');
      },
    });
    expect(await codeOf(runCommand(env('DEL'), cfg(), bad))).toBe(CniCode.IoFailure);
  });
  it('reports ipamd errors so the runtime retries', async () => {
    const d = fakeDeps(new FakeIpamd({ del: { ok: false, error: { code: 'NETNS_FAILED', msg: 'EBUSY' } } }));
    expect(await codeOf(runCommand(env('DEL'), cfg(), d))).toBe(CniCode.NetnsFailed);
  });
});

describe('CHECK', () => {
  const prev = buildAddResult({
    cniVersion: '1.1.0',
    ifName: 'eth0',
    netns: '/var/run/netns/p1',
    mtu: 9001,
    dns: {},
    allocation: alloc,
    hostMac: '0a:00:00:00:00:01',
  });
  it('passes when prevResult, ipamd and the host veth agree', async () => {
    const ipamd = new FakeIpamd({ check: { ok: true, allocation: alloc, existing: true } });
    expect(await runCommand(env('CHECK'), cfg({ prevResult: prev }), fakeDeps(ipamd))).toBeUndefined();
    expect(ipamd.calls[0]!.req).toMatchObject({ op: 'check', netns: { path: '/var/run/netns/p1', mtu: 9001 } });
  });
  it.each([
    ['another IP', { check: { ok: true, allocation: { ...alloc, ip: '198.18.0.10' } } }, {}],
    ['unknown to ipamd', { check: { ok: false, error: { code: 'NOT_FOUND', msg: 'x' } } }, {}],
    ['kernel drift', { check: { ok: false, error: { code: 'NETNS_FAILED', msg: 'host route missing' } } }, {}],
    [
      'host veth gone',
      { check: { ok: true, allocation: alloc } },
      { readHostMac: (): string | undefined => undefined },
    ],
    [
      'host veth recreated',
      { check: { ok: true, allocation: alloc } },
      { readHostMac: (): string | undefined => 'ff:ff:ff:ff:ff:ff' },
    ],
  ] as const)('fails when %s', async (_n, replies, over) => {
    const code = await codeOf(
      runCommand(env('CHECK'), cfg({ prevResult: prev }), fakeDeps(new FakeIpamd(replies as never), over)),
    );
    expect([CniCode.CheckFailed, CniCode.NetnsFailed]).toContain(code);
  });
  it('needs prevResult', async () => {
    expect(await codeOf(runCommand(env('CHECK'), cfg(), fakeDeps(new FakeIpamd({}))))).toBe(CniCode.CheckFailed);
  });
});

describe('STATUS', () => {
  const status = (ready: boolean) => ({
    ok: true as const,
    status: { ready, reason: ready ? undefined : 'subnet full', total: 4, assigned: 4, available: 0, cooling: 0 },
  });
  it('is silent when ready', async () => {
    expect(await runCommand(env('STATUS'), cfg(), fakeDeps(new FakeIpamd({ status: status(true) })))).toBeUndefined();
  });
  it('is code 50 when the pool cannot serve ADDs or ipamd is unreachable', async () => {
    expect(await codeOf(runCommand(env('STATUS'), cfg(), fakeDeps(new FakeIpamd({ status: status(false) }))))).toBe(50);
    expect(await codeOf(runCommand(env('STATUS'), cfg(), fakeDeps(new FakeIpamd({ status: down() }))))).toBe(50);
    expect(await codeOf(runCommand(env('STATUS'), cfg(), fakeDeps(new FakeIpamd({ status: down('timeout') }))))).toBe(
      50,
    );
  });
  it('needs cniVersion 1.1.0', async () => {
    expect(await codeOf(runCommand(env('STATUS'), cfg({ cniVersion: '1.0.0' }), fakeDeps(new FakeIpamd({}))))).toBe(1);
  });
});

describe('GC', () => {
  const valid = [{ containerID: 'keep1', ifname: 'eth0' }];
  it('sends the valid attachments of this network', async () => {
    const ipamd = new FakeIpamd({ gc: { ok: true, released: 3 } });
    expect(await runCommand(env('GC'), cfg({ 'cni.dev/valid-attachments': valid }), fakeDeps(ipamd))).toBeUndefined();
    expect(ipamd.calls[0]!.req).toEqual({
      op: 'gc',
      network: 'vpc-net',
      valid: [{ containerId: 'keep1', ifName: 'eth0' }],
    });
  });
  it('refuses the whole GC on one malformed entry (a dropped entry would be released)', async () => {
    const ipamd = new FakeIpamd({ gc: { ok: true, released: 0 } });
    // Refused while the configuration is read, with ipamd's rules, before any verb runs.
    const bad = { 'cni.dev/valid-attachments': [...valid, { containerID: '../x', ifname: 'eth0' }] };
    expect(await codeOf(Promise.resolve().then(() => runCommand(env('GC'), cfg(bad), fakeDeps(ipamd))))).toBe(7);
    expect(ipamd.calls).toHaveLength(0);
  });
  it('is try-again-later when ipamd is unreachable', async () => {
    expect(
      await codeOf(
        runCommand(env('GC'), cfg({ 'cni.dev/valid-attachments': valid }), fakeDeps(new FakeIpamd({ gc: down() }))),
      ),
    ).toBe(11);
  });
});
