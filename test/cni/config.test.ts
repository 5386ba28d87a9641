import { describe, expect, it } from 'vitest';
import { DEFAULTS, decodeConfig, parseConfig, parseDns, parseValidAttachments } from '../../cni/config.js';
import { CniCode, CniError } from '../../cni/errors.js';

const base = { cniVersion: '1.1.0', name: 'vpc-net', type: 'vpc-ipam' };
const codeOf = (fn: () => unknown): number | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as CniError).code;
  }
  return undefined;
};

describe('decodeConfig', () => {
  it('parses a JSON object', () => {
    expect(decodeConfig(Buffer.from(JSON.stringify(base)))).toEqual(base);
  });
  it.each(['', '{', 'null', '[1]', '"x"', '42'])('rejects %j with code 6', (s) => {
    expect(codeOf(() => decodeConfig(s))).toBe(CniCode.DecodingFailure);
  });
});

describe('parseConfig', () => {
  it('applies the documented defaults', () => {
    const c = parseConfig(base);
    expect(c).toMatchObject({
      cniVersion: '1.1.0',
      name: 'vpc-net',
      ipamdSocket: '/run/vpc-ipam/ipamd.sock',
      mtu: 9001,
      logLevel: 'info',
      timeoutMs: DEFAULTS.timeoutMs,
      addWaitMs: 30_000,
      dns: {},
    });
    expect(c.logFile).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads every key', () => {
    const c = parseConfig({
      ...base,
      ipamdSocket: '/var/run/x/../ipamd.sock',
      mtu: 1500,
      logFile: '/var/log/vpc-ipam-cni.log',
      logLevel: 'debug',
      timeoutMs: 2000,
      addWaitMs: 0,
      dns: {
        nameservers: ['10.100.0.10'],
        search: ['svc.cluster.local'],
        options: ['ndots:5'],
        domain: 'cluster.local',
      },
      prevResult: { cniVersion: '1.1.0' },
      runtimeConfig: { portMappings: [] },
      'cni.dev/whatever': 1,
    });
    expect(c.ipamdSocket).toBe('/var/run/ipamd.sock');
    expect(c.mtu).toBe(1500);
    expect(c.logFile).toBe('/var/log/vpc-ipam-cni.log');
    expect(c.logLevel).toBe('debug');
    expect(c.addWaitMs).toBe(0);
    expect(c.dns.search).toEqual(['svc.cluster.local']);
    expect(c.prevResult).toEqual({ cniVersion: '1.1.0' });
  });

  it.each([
    [{ name: '' }, CniCode.InvalidNetworkConfig],
    [{ name: '../etc' }, CniCode.InvalidNetworkConfig],
    [{ name: 'a/b' }, CniCode.InvalidNetworkConfig],
    [{ type: undefined }, CniCode.InvalidNetworkConfig],
    [{ mtu: 100 }, CniCode.InvalidNetworkConfig],
    [{ mtu: '9001' }, CniCode.InvalidNetworkConfig],
    [{ mtu: 1500.5 }, CniCode.InvalidNetworkConfig],
    [{ ipamdSocket: 'relative.sock' }, CniCode.InvalidNetworkConfig],
    [{ logFile: 'cni.log' }, CniCode.InvalidNetworkConfig],
    [{ logLevel: 'loud' }, CniCode.InvalidNetworkConfig],
    [{ timeoutMs: 0 }, CniCode.InvalidNetworkConfig],
    [{ addWaitMs: -1 }, CniCode.InvalidNetworkConfig],
    [{ dns: [] }, CniCode.InvalidNetworkConfig],
    [{ dns: { nameservers: 'x' } }, CniCode.InvalidNetworkConfig],
    [{ prevResult: [] }, CniCode.InvalidNetworkConfig],
    [{ ipam: { type: 'host-local' } }, CniCode.UnsupportedField],
    [{ ipMasq: true }, CniCode.UnsupportedField],
    [{ cniVersion: '0.3.1' }, CniCode.IncompatibleVersion],
    [{ cniVersion: undefined }, CniCode.IncompatibleVersion],
    [{ cniVersions: '1.1.0' }, CniCode.InvalidNetworkConfig],
    [{ vethPrefix: 'eth' }, CniCode.InvalidNetworkConfig],
    [{ vethPrefix: 'toolong' }, CniCode.InvalidNetworkConfig],
    [{ vethPrefix: 7 }, CniCode.InvalidNetworkConfig],
  ])('rejects %j with code %i', (patch, code) => {
    expect(codeOf(() => parseConfig({ ...base, ...patch }))).toBe(code);
  });

  it("reads the AWS CNI's vethPrefix field; absent or vpc is our own naming", () => {
    expect(parseConfig({ ...base, vethPrefix: 'eni' }).vethPrefix).toBe('eni');
    expect(parseConfig({ ...base, vethPrefix: 'vpc' }).vethPrefix).toBeUndefined();
    expect(parseConfig(base).vethPrefix).toBeUndefined();
  });

  it('names the key and value of an unsupported field', () => {
    try {
      parseConfig({ ...base, ipam: { type: 'host-local' } });
      expect.unreachable();
    } catch (err) {
      expect((err as CniError).details).toContain('ipam=');
      expect((err as CniError).message).toContain('host-local');
    }
  });

  it('accepts ipMasq false and unknown keys', () => {
    expect(parseConfig({ ...base, ipMasq: false, somethingElse: 1 }).name).toBe('vpc-net');
  });

  it('requires the valid-attachments list for GC', () => {
    expect(codeOf(() => parseConfig(base, { forGc: true }))).toBe(CniCode.InvalidNetworkConfig);
    const c = parseConfig(
      { ...base, 'cni.dev/valid-attachments': [{ containerID: 'abc', ifname: 'eth0' }] },
      { forGc: true },
    );
    expect(c.validAttachments).toEqual([{ containerId: 'abc', ifName: 'eth0' }]);
  });
});

describe('parseDns / parseValidAttachments', () => {
  it('keeps only given DNS keys', () => {
    expect(parseDns({ nameservers: ['1.1.1.1'] })).toEqual({ nameservers: ['1.1.1.1'] });
    expect(parseDns(undefined)).toEqual({});
  });
  it('rejects malformed attachments', () => {
    expect(codeOf(() => parseValidAttachments([{ containerID: 'a' }]))).toBe(CniCode.InvalidNetworkConfig);
    expect(codeOf(() => parseValidAttachments({}))).toBe(CniCode.InvalidNetworkConfig);
    expect(parseValidAttachments([])).toEqual([]);
  });
});
