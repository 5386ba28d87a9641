import { describe, expect, it } from 'vitest';
import type { Allocation } from '../../cni/contract/protocol.js';
import { CniCode, type CniError } from '../../cni/errors.js';
import { buildAddResult, expectedFromPrev, mergeWithPrev, podIpFromPrev, type CniResult } from '../../cni/result.js';

const alloc: Allocation & { hostMac?: string } = {
  ip: '198.18.0.7',
  prefixLength: 32,
  gateway: '169.254.1.1',
  interfaceId: 'eni-1',
  deviceIndex: 1,
  routeTable: 2,
  subnetCidr: '198.18.0.0/24',
  vpcCidrs: ['198.18.0.0/16'],
  hostIf: 'vpc0123456789a',
  podMac: '0a:00:00:00:00:02',
};
const input = {
  cniVersion: '1.1.0' as const,
  ifName: 'eth0',
  netns: '/var/run/netns/p1',
  mtu: 9001,
  dns: { nameservers: ['10.100.0.10'] },
  allocation: alloc,
  hostMac: '0a:00:00:00:00:01',
};

describe('buildAddResult', () => {
  it('builds the 1.1.0 result exactly', () => {
    expect(buildAddResult(input)).toEqual({
      cniVersion: '1.1.0',
      interfaces: [
        { name: 'vpc0123456789a', mac: '0a:00:00:00:00:01', mtu: 9001 },
        { name: 'eth0', mac: '0a:00:00:00:00:02', mtu: 9001, sandbox: '/var/run/netns/p1' },
      ],
      ips: [{ address: '198.18.0.7/32', gateway: '169.254.1.1', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
      dns: { nameservers: ['10.100.0.10'] },
    });
  });
  it('omits mtu before 1.1.0 and adds ips[].version for 0.4.0', () => {
    const r10 = buildAddResult({ ...input, cniVersion: '1.0.0' });
    expect(r10.interfaces!.every((i) => !('mtu' in i))).toBe(true);
    expect(r10.ips![0]).not.toHaveProperty('version');
    const r04 = buildAddResult({ ...input, cniVersion: '0.4.0' });
    expect(r04.ips![0]).toEqual({ version: '4', address: '198.18.0.7/32', gateway: '169.254.1.1', interface: 1 });
  });
  it('prefers the MAC reported by ipamd, and works without a host interface', () => {
    expect(
      buildAddResult({ ...input, allocation: { ...alloc, hostMac: 'aa:aa:aa:aa:aa:aa' } }).interfaces![0]!.mac,
    ).toBe('aa:aa:aa:aa:aa:aa');
    const { hostIf: _h, ...noHost } = alloc;
    const r = buildAddResult({ ...input, allocation: noHost });
    expect(r.interfaces).toHaveLength(1);
    expect(r.ips![0]!.interface).toBe(0);
  });
});

describe('mergeWithPrev', () => {
  it('appends our interfaces and shifts our interface indexes', () => {
    const prev = {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'lo0' }],
      ips: [{ address: '192.0.2.9/24', interface: 0 }],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
      dns: {},
      custom: true,
    } as CniResult;
    const m = mergeWithPrev(prev, buildAddResult(input));
    expect(m.interfaces!.map((i) => i.name)).toEqual(['lo0', 'vpc0123456789a', 'eth0']);
    expect(m.ips).toEqual([prev.ips![0], { address: '198.18.0.7/32', gateway: '169.254.1.1', interface: 2 }]);
    expect(m.routes).toHaveLength(1);
    expect(m.dns).toEqual({ nameservers: ['10.100.0.10'] });
    // Only the spec's fields are copied, never the object (prev-result.ts drops the rest first).
    expect(m).not.toHaveProperty('custom');
    expect(Object.keys(m).sort()).toEqual(['cniVersion', 'dns', 'interfaces', 'ips', 'routes']);
  });
});

describe('CHECK expectations', () => {
  const prev = buildAddResult(input);
  it('reads the Pod address, MACs and host veth from prevResult', () => {
    expect(expectedFromPrev(prev, 'eth0', '/var/run/netns/p1')).toEqual({
      ip: '198.18.0.7',
      podMac: '0a:00:00:00:00:02',
      hostIf: 'vpc0123456789a',
      hostMac: '0a:00:00:00:00:01',
    });
  });
  it.each([
    [undefined, 'eth0', '/var/run/netns/p1'],
    [prev, 'eth1', '/var/run/netns/p1'],
    [prev, 'eth0', '/var/run/netns/other'],
    [{ ...prev, ips: [] }, 'eth0', '/var/run/netns/p1'],
  ])('fails with 102 when prevResult does not describe the attachment (%#)', (p, ifn, ns) => {
    try {
      expectedFromPrev(p as CniResult | undefined, ifn, ns);
      expect.unreachable();
    } catch (err) {
      expect((err as CniError).code).toBe(CniCode.CheckFailed);
    }
  });
  it('finds the Pod address for the offline DEL', () => {
    expect(podIpFromPrev(prev, 'eth0')).toBe('198.18.0.7');
    expect(podIpFromPrev(undefined, 'eth0')).toBeUndefined();
    expect(podIpFromPrev({ cniVersion: '1.1.0', interfaces: [] }, 'eth0')).toBeUndefined();
  });
});
