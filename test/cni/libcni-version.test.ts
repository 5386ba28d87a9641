/**
 * The test driver's version selection (test/cni/libcni-version.ts) against the
 * cases of libcni's own test ("NetworkConfFromBytes / Version selection" in
 * containernetworking/cni libcni/conf_test.go), so the e2e chain runs at the
 * version a libcni >= 1.2 runtime would pick.
 */
import { describe, expect, it } from 'vitest';
import { asRunByLibcni, legacySelectVersion, libcniSelectVersion } from './libcni-version.js';

const conf = (extra: Record<string, unknown>) => ({ name: 'test', plugins: [{ type: 'foo' }], ...extra });

describe('libcni >= 1.2 version selection', () => {
  it('takes the highest entry of cniVersions, skipping those above libcni (1.1.0)', () => {
    expect(libcniSelectVersion(conf({ cniVersions: ['1.1.0', '0.4.0', '1.0.0'] }))).toBe('1.1.0');
    expect(libcniSelectVersion(conf({ cniVersions: ['99.0.0', '1.1.0', '0.4.0', '1.0.0'] }))).toBe('1.1.0');
  });

  it('merges cniVersion into cniVersions, falls back to it, and keeps "" for an empty list', () => {
    expect(libcniSelectVersion(conf({ cniVersion: '1.0.0', cniVersions: ['0.1.0', '0.4.0'] }))).toBe('1.0.0');
    expect(libcniSelectVersion(conf({ cniVersion: '1.2.3' }))).toBe('1.2.3');
    expect(libcniSelectVersion(conf({ cniVersions: [] }))).toBe('');
  });

  it('refuses invalid entries', () => {
    expect(() => libcniSelectVersion(conf({ cniVersions: ['1.1.0', '0.4.0', '1.0.f'] }))).toThrow(/invalid version/);
    expect(() => libcniSelectVersion(conf({ cniVersions: '1.1.0' }))).toThrow(/invalid type/);
  });

  it('picks 1.1.0 from the conflist ipamd used to write, where libcni < 1.2 reads 1.0.0', () => {
    const old = conf({ cniVersion: '1.0.0', cniVersions: ['1.0.0', '1.1.0'] });
    expect(libcniSelectVersion(old)).toBe('1.1.0');
    expect(legacySelectVersion(old)).toBe('1.0.0');
    expect(asRunByLibcni(old)).toEqual({ name: 'test', plugins: [{ type: 'foo' }], cniVersion: '1.1.0' });
  });
});
