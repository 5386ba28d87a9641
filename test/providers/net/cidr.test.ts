import { describe, expect, it } from 'vitest';
import {
  addressAt,
  addressCount,
  blockSize,
  CidrError,
  containsAddress,
  formatCidr,
  isNetworkAddress,
  offsetOf,
  parseAddress,
  parseCidr,
  tryParseCidr,
} from '../../../providers/net/cidr.js';

describe('cidr math, IPv4', () => {
  it('parses a block into its first address, length and size', () => {
    const c = parseCidr('10.0.1.16/28');
    expect(c).toEqual({ family: 4, base: 0x0a000110n, prefixLength: 28, size: 16n });
    expect(formatCidr(c)).toBe('10.0.1.16/28');
    // A bare address is a /32.
    expect(parseCidr('10.0.0.7')).toMatchObject({ prefixLength: 32, size: 1n });
  });

  it('clears host bits, or refuses them when strict', () => {
    expect(formatCidr(parseCidr('10.0.1.7/28'))).toBe('10.0.1.0/28');
    expect(tryParseCidr('10.0.1.7/28', { strict: true })).toBeUndefined();
    expect(isNetworkAddress('10.0.1.0/28')).toBe(true);
    expect(isNetworkAddress('10.0.1.7/28')).toBe(false);
  });

  it('maps offsets to addresses and back', () => {
    const c = parseCidr('10.0.0.240/28');
    expect(addressAt(c, 0n)).toBe('10.0.0.240');
    expect(addressAt(c, 15n)).toBe('10.0.0.255');
    expect(offsetOf(c, '10.0.0.249')).toBe(9n);
    expect(offsetOf(c, '10.0.1.0')).toBeUndefined();
    expect(() => addressAt(c, 16n)).toThrow(CidrError);
  });

  it('tells what a block contains', () => {
    expect(containsAddress('10.0.0.0/24', '10.0.0.255')).toBe(true);
    expect(containsAddress('10.0.0.0/24', '10.0.1.0')).toBe(false);
    expect(containsAddress('10.0.0.0/24', '2001:db8::1')).toBe(false);
    expect(containsAddress('nope', '10.0.0.1')).toBe(false);
  });

  it('sizes blocks by prefix length', () => {
    expect(blockSize(4, 32)).toBe(1n);
    expect(blockSize(4, 28)).toBe(16n);
    expect(blockSize(4, 0)).toBe(2n ** 32n);
    expect(addressCount(4, 28)).toBe(16);
    expect(() => blockSize(4, 33)).toThrow(CidrError);
  });

  it('refuses what is no address', () => {
    for (const bad of ['10.0.0.256', '10.0.0.05', '10.0.0.1/33', '', 'banana']) {
      expect(tryParseCidr(bad), bad).toBeUndefined();
    }
    expect(() => parseCidr('banana')).toThrow(expect.objectContaining({ code: 'INTERNAL', input: 'banana' }));
    expect(parseAddress('10.0.0.0/24')).toBeUndefined();
  });
});

describe('cidr math, IPv6', () => {
  it('holds a /80 prefix as a range of 2^48 addresses', () => {
    const c = parseCidr('2001:db8:0:1:2::/80');
    expect(c).toMatchObject({ family: 6, prefixLength: 80, size: 2n ** 48n });
    expect(addressAt(c, 0n)).toBe('2001:db8:0:1:2::');
    expect(addressAt(c, 5n)).toBe('2001:db8:0:1:2::5');
    expect(addressAt(c, 2n ** 48n - 1n)).toBe('2001:db8:0:1:2:ffff:ffff:ffff');
    expect(offsetOf(c, '2001:db8:0:1:2:0:1:0')).toBe(0x10000n);
    expect(offsetOf(c, '2001:db8:0:1:3::')).toBeUndefined();
    expect(addressCount(6, 80)).toBe(2 ** 48);
  });

  it('holds a /64 subnet whose size a number cannot count', () => {
    const c = parseCidr('2001:db8:0:1::/64');
    expect(c.size).toBe(2n ** 64n);
    expect(addressAt(c, 2n ** 64n - 1n)).toBe('2001:db8:0:1:ffff:ffff:ffff:ffff');
    expect(containsAddress(c, '2001:db8:0:1:2::5')).toBe(true);
    expect(containsAddress('2001:db8:0:1::/64', '2001:db8:0:2::')).toBe(false);
    expect(() => addressCount(6, 64)).toThrow(CidrError);
  });

  it('reads any spelling of an address and writes the RFC 5952 one', () => {
    const c = parseCidr('2001:0DB8:0000:0001::/64');
    expect(formatCidr(c)).toBe('2001:db8:0:1::/64');
    expect(offsetOf(c, '2001:db8:0:1:0:0:0:a')).toBe(10n);
    expect(parseCidr('2001:db8::1')).toMatchObject({ prefixLength: 128, size: 1n });
  });

  it('refuses host bits when strict, zones, and lengths past 128', () => {
    expect(isNetworkAddress('2001:db8:0:1:2::/80')).toBe(true);
    expect(isNetworkAddress('2001:db8:0:1:2::7/80')).toBe(false);
    expect(tryParseCidr('fe80::1%eth0')).toBeUndefined();
    expect(tryParseCidr('2001:db8::/129')).toBeUndefined();
    expect(() => blockSize(6, 129)).toThrow(CidrError);
  });

  it('keeps the families apart', () => {
    expect(offsetOf(parseCidr('::/0'), '10.0.0.1')).toBeUndefined();
    expect(parseAddress('::ffff:10.0.0.1')).toMatchObject({ family: 6 });
  });
});
