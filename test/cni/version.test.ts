import { describe, expect, it } from 'vitest';
import { CniCode, type CniError } from '../../cni/errors.js';
import { compareVersions, SUPPORTED_VERSIONS } from '../../cni/contract/spec-versions.js';
import { requireAtLeast, selectVersion, versionForOutput, versionResult } from '../../cni/version.js';

const codeOf = (fn: () => unknown): number | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as CniError).code;
  }
  return undefined;
};

describe('version negotiation', () => {
  it('speaks 0.4.0, 1.0.0 and 1.1.0', () => {
    expect([...SUPPORTED_VERSIONS]).toEqual(['0.4.0', '1.0.0', '1.1.0']);
    for (const v of SUPPORTED_VERSIONS) expect(selectVersion({ cniVersion: v })).toBe(v);
  });
  it.each(['0.3.1', '0.1.0', '2.0.0', '1.1', 'latest', 7, ''])('refuses %j with code 1', (v) => {
    expect(codeOf(() => selectVersion({ cniVersion: v }))).toBe(CniCode.IncompatibleVersion);
  });
  it('treats a missing cniVersion as 0.1.0 (unsupported)', () => {
    expect(codeOf(() => selectVersion({}))).toBe(CniCode.IncompatibleVersion);
  });
  it('uses cniVersion (the runtime already chose from cniVersions)', () => {
    expect(selectVersion({ cniVersion: '1.0.0', cniVersions: ['1.0.0', '1.1.0'] })).toBe('1.0.0');
    expect(codeOf(() => selectVersion({ cniVersion: '1.0.0', cniVersions: ['x'] }))).toBe(CniCode.InvalidNetworkConfig);
  });
  it('gates 1.1.0 verbs', () => {
    expect(() => requireAtLeast('1.1.0', '1.1.0', 'GC')).not.toThrow();
    expect(codeOf(() => requireAtLeast('1.0.0', '1.1.0', 'GC'))).toBe(CniCode.IncompatibleVersion);
  });
  it('compares versions numerically', () => {
    expect(compareVersions('1.10.0', '1.9.0')).toBeGreaterThan(0);
    expect(compareVersions('0.4.0', '1.0.0')).toBeLessThan(0);
    expect(compareVersions('1.1.0', '1.1.0')).toBe(0);
  });
  it('answers VERSION with the requested version when it is a version', () => {
    expect(versionResult('1.0.0')).toEqual({ cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] });
    expect(versionResult(undefined).cniVersion).toBe('1.1.0');
    expect(versionForOutput('garbage')).toBe('1.1.0');
    expect(versionForOutput('0.3.1')).toBe('0.3.1');
  });
});
