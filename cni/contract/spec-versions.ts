/**
 * @module CNI spec versions
 * The spec versions the plugin speaks, and how to compare them. Shared: the plugin negotiates with them
 * (cni/version.ts), and ipamd writes only these into the conflist it generates (ipamd/k8s/conflist.ts,
 * ipamd/k8s/cni-versions.ts), so a node never offers a version its plugin refuses. No imports.
 */

export const SUPPORTED_VERSIONS = ['0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const LATEST_VERSION: CniVersion = '1.1.0';

const SEMVER_RE = /^(\d+)\.(\d+)\.(\d+)$/;

export function isSemver(v: unknown): v is string {
  return typeof v === 'string' && SEMVER_RE.test(v);
}

/** Negative when a < b, 0 when equal, positive when a > b. Both must be `x.y.z`. */
export function compareVersions(a: string, b: string): number {
  const pa = SEMVER_RE.exec(a)!;
  const pb = SEMVER_RE.exec(b)!;
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return d;
  }
  return 0;
}

export function isSupported(v: unknown): v is CniVersion {
  return typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}
