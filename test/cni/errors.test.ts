import { describe, expect, it } from 'vitest';
import { CniCode, CniError, fromIpamdError } from '../../cni/errors.js';

describe('CniError', () => {
  it('serialises to the spec error object', () => {
    const e = new CniError(CniCode.InvalidNetworkConfig, 'mtu: too small');
    expect(e.toJSON('1.0.0')).toEqual({
      cniVersion: '1.0.0',
      code: 7,
      msg: 'Invalid network configuration',
      details: 'mtu: too small',
    });
  });
});

describe('fromIpamdError', () => {
  it.each([
    [{ code: 'POOL_EXHAUSTED', msg: 'x', retryable: true }, 'add', CniCode.TryAgainLater],
    [{ code: 'POOL_EXHAUSTED', msg: 'x' }, 'add', CniCode.TryAgainLater],
    [{ code: 'CLOUD_THROTTLED', msg: 'x', retryable: true }, 'add', CniCode.TryAgainLater],
    [{ code: 'CLOUD_SUBNET_FULL', msg: 'x' }, 'add', CniCode.CloudError],
    [{ code: 'NETNS_FAILED', msg: 'x' }, 'add', CniCode.NetnsFailed],
    [{ code: 'CONFIG_INVALID', msg: 'x' }, 'add', CniCode.InvalidNetworkConfig],
    [{ code: 'BAD_REQUEST', msg: 'x' }, 'add', CniCode.IpamdProtocol],
    [{ code: 'BAD_VERSION', msg: 'x' }, 'add', CniCode.IpamdProtocol],
    [{ code: 'NOT_FOUND', msg: 'x' }, 'check', CniCode.CheckFailed],
    [{ code: 'INTERNAL', msg: 'x' }, 'del', CniCode.IpamdError],
  ])('maps %j on %s to %i', (body, op, code) => {
    const e = fromIpamdError(op, body);
    expect(e.code).toBe(code);
    expect(e.details).toContain(body.code);
  });
  it('keeps our codes at 100 and above', () => {
    for (const [k, v] of Object.entries(CniCode))
      if (
        ![
          'IncompatibleVersion',
          'UnsupportedField',
          'UnknownContainer',
          'InvalidEnvironment',
          'IoFailure',
          'DecodingFailure',
          'InvalidNetworkConfig',
          'TryAgainLater',
          'NotAvailable',
          'NotAvailableLimitedConnectivity',
        ].includes(k)
      )
        expect(v).toBeGreaterThanOrEqual(100);
  });
});
