/**
 * What the plugin takes from its configuration: `type` must be vpc-ipam, and
 * a prevResult is read into the spec's shape only (cni/prev-result.ts), so
 * nothing outside the spec reaches the result it prints. Before: any `type`
 * was accepted, and ADD copied every key of prevResult into its output.
 */
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../cni/commands.js';
import { parseConfig } from '../../cni/config.js';
import type { CniEnv } from '../../cni/env.js';
import { CniCode, type CniError } from '../../cni/errors.js';
import { parsePrevResult } from '../../cni/prev-result.js';
import { FakeIpamd, fakeDeps, sampleAllocation as alloc } from './fakes.js';

const base = { cniVersion: '1.1.0', name: 'vpc-net', type: 'vpc-ipam', ipamdSocket: '/run/test/ipamd.sock' };
const refusal = (fn: () => unknown): { code: number; msg: string; details: string } | undefined => {
  try {
    fn();
  } catch (err) {
    const e = err as CniError;
    return { code: e.code, msg: e.message, details: e.details };
  }
  return undefined;
};

/** A result another plugin (a bridge, say) might hand on, with things the spec does not have. */
const garbagePrev = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'br0', mac: '0a:58:0a:00:00:01', secret: 'x' },
    { name: 'eth9', mac: '0a:58:0a:00:00:02', sandbox: '/var/run/netns/p1', mtu: 1500, pciID: '0000:00:04.0' },
  ],
  ips: [{ address: '192.0.2.9/24', gateway: '192.0.2.1', interface: 1, note: 'hi' }],
  routes: [{ dst: '192.0.2.0/24', gw: '192.0.2.1', table: 100, evil: { nested: true } }],
  dns: { nameservers: ['192.0.2.53'], extra: 1 },
  custom: { token: 'sekrit' },
};
/** As a runtime would pass it: JSON, where `__proto__` is an own key. */
const fromStdin = JSON.parse(JSON.stringify(garbagePrev).replace(/^\{/, '{"__proto__":{"polluted":true},')) as object;

describe('type', () => {
  it.each(['bridge', 'VPC-IPAM', 'vpc-ipam ', 'aws-cni'])('refuses %j with code 7 naming the field', (type) => {
    const r = refusal(() => parseConfig({ ...base, type }));
    expect(r).toMatchObject({ code: CniCode.InvalidNetworkConfig, msg: 'Invalid network configuration: type' });
    expect(r!.details).toContain(`type: must be "vpc-ipam", got ${JSON.stringify(type)}`);
  });
  it('accepts vpc-ipam', () => {
    expect(parseConfig(base).type).toBe('vpc-ipam');
  });
});

describe('parsePrevResult', () => {
  it('keeps the spec fields and names every key it drops', () => {
    const { result, dropped } = parsePrevResult(garbagePrev, '1.1.0');
    expect(result).toEqual({
      cniVersion: '1.1.0',
      interfaces: [
        { name: 'br0', mac: '0a:58:0a:00:00:01' },
        { name: 'eth9', mac: '0a:58:0a:00:00:02', sandbox: '/var/run/netns/p1', mtu: 1500, pciID: '0000:00:04.0' },
      ],
      ips: [{ address: '192.0.2.9/24', gateway: '192.0.2.1', interface: 1 }],
      routes: [{ dst: '192.0.2.0/24', gw: '192.0.2.1', table: 100 }],
      dns: { nameservers: ['192.0.2.53'] },
    });
    const want = ['custom', 'dns.extra', 'interfaces[0].secret', 'ips[0].note', 'routes[0].evil'];
    expect(dropped.sort()).toEqual(want.map((k) => `prevResult.${k}`).sort());
  });

  it('drops the 1.1.0-only fields under an older cniVersion, and derives 0.4.0 ips[].version', () => {
    const r10 = parsePrevResult(garbagePrev, '1.0.0');
    expect(r10.result.interfaces![1]).toEqual({ name: 'eth9', mac: '0a:58:0a:00:00:02', sandbox: '/var/run/netns/p1' });
    expect(r10.result.routes![0]).toEqual({ dst: '192.0.2.0/24', gw: '192.0.2.1' });
    expect(r10.dropped).toEqual(expect.arrayContaining(['prevResult.interfaces[1].mtu', 'prevResult.routes[0].table']));
    const r04 = parsePrevResult({ cniVersion: '0.4.0', ips: [{ address: '2001:db8::5/64' }] }, '0.4.0');
    expect(r04.result.ips).toEqual([{ version: '6', address: '2001:db8::5/64' }]);
  });

  it.each([
    ['an address that is no CIDR', { ips: [{ address: 'banana' }] }, 'prevResult.ips[0].address'],
    ['an address without a prefix', { ips: [{ address: '192.0.2.9' }] }, 'prevResult.ips[0].address'],
    [
      'an interface index pointing nowhere',
      { interfaces: [{ name: 'a' }], ips: [{ address: '192.0.2.9/24', interface: 1 }] },
      'prevResult.ips[0].interface',
    ],
    [
      'a negative interface index',
      { interfaces: [{ name: 'a' }], ips: [{ address: '192.0.2.9/24', interface: -1 }] },
      'prevResult.ips[0].interface',
    ],
    ['an interface without a name', { interfaces: [{ mac: '0a:58:0a:00:00:01' }] }, 'prevResult.interfaces[0].name'],
    ['a bad MAC', { interfaces: [{ name: 'a', mac: 'zz' }] }, 'prevResult.interfaces[0].mac'],
    ['a name with a newline', { interfaces: [{ name: 'a\nb' }] }, 'prevResult.interfaces[0].name'],
    ['a route without dst', { routes: [{ gw: '192.0.2.1' }] }, 'prevResult.routes[0].dst'],
    ['a bad gateway', { ips: [{ address: '192.0.2.9/24', gateway: 'x' }] }, 'prevResult.ips[0].gateway'],
    ['interfaces that are not a list', { interfaces: { name: 'a' } }, 'prevResult.interfaces'],
    ['dns nameservers that are not strings', { dns: { nameservers: [1] } }, 'prevResult.dns.nameservers[0]'],
    [
      'a 0.4.0 version that contradicts the address',
      { ips: [{ version: '6', address: '192.0.2.9/24' }] },
      'prevResult.ips[0].version',
    ],
  ])('refuses %s with code 7 naming the field', (_n, prev, field) => {
    const v = field.includes('version') ? '0.4.0' : '1.1.0';
    const r = refusal(() => parseConfig({ ...base, cniVersion: v, prevResult: { cniVersion: v, ...prev } }));
    expect(r?.code).toBe(CniCode.InvalidNetworkConfig);
    expect(r!.details.startsWith(`${field}:`), r!.details).toBe(true);
  });
});

const env = (command: CniEnv['command']): CniEnv => ({
  command,
  containerId: 'c0ffee',
  ifName: 'eth0',
  netns: '/var/run/netns/p1',
  args: { ignoreUnknown: true, other: {} },
});

describe('ADD after another plugin', () => {
  it('prints no key of prevResult outside the spec, and logs what it dropped', async () => {
    const deps = fakeDeps(new FakeIpamd({ add: { ok: true, allocation: alloc } }));
    const warnings: Array<[string, unknown]> = [];
    deps.log.warn = (msg: string, o?: unknown) => void warnings.push([msg, o]);
    const cfg = parseConfig({ ...base, prevResult: fromStdin });
    const out = (await runCommand(env('ADD'), cfg, deps)) as Record<string, unknown>;
    const text = JSON.stringify(out);
    for (const bad of ['secret', 'note', 'evil', 'extra', 'custom', 'sekrit', 'polluted']) {
      expect(text).not.toContain(bad);
    }
    expect(Object.keys(out).sort()).toEqual(['cniVersion', 'dns', 'interfaces', 'ips', 'routes']);
    const names = (out.interfaces as Array<{ name: string }>).map((i) => i.name);
    expect(names).toEqual(['br0', 'eth9', alloc.hostIf, 'eth0']);
    expect((out.ips as Array<{ interface: number }>).map((i) => i.interface)).toEqual([1, 3]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const dropped = expect.arrayContaining(['prevResult.custom', 'prevResult.__proto__']);
    expect(warnings).toEqual([[expect.stringContaining('dropped'), { dropped }]]);
  });

  it('refuses a broken prevResult before calling ipamd', async () => {
    const ipamd = new FakeIpamd({ add: { ok: true, allocation: alloc } });
    const r = refusal(() => parseConfig({ ...base, prevResult: { cniVersion: '1.1.0', ips: [{ address: 'nope' }] } }));
    expect(r?.code).toBe(CniCode.InvalidNetworkConfig);
    expect(ipamd.calls).toEqual([]);
  });
});

describe('DEL', () => {
  it('completes with a broken prevResult (ignored, noted), so Pod deletion never wedges', async () => {
    const cfg = parseConfig({ ...base, prevResult: { ips: 'garbage' } }, { lenientPrevResult: true });
    expect(cfg.prevResult).toBeUndefined();
    expect(cfg.prevResultIgnored).toContain('prevResult.ips');
    const ipamd = new FakeIpamd({ del: { ok: true, released: true } });
    expect(await runCommand(env('DEL'), cfg, fakeDeps(ipamd))).toBeUndefined();
    expect(ipamd.calls).toHaveLength(1);
  });
});
