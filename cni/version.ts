/**
 * @module CNI version negotiation
 * Which spec versions the plugin speaks and what each allows.
 *
 * - 1.1.0 and 1.0.0: the current result format (no `version` in `ips`).
 * - 0.4.0: still written by many deployed conflists (the AWS VPC CNI ships
 *   one); it differs only by `ips[].version: "4"` and shares ADD/DEL/CHECK
 *   semantics, so supporting it is cheap and avoids a forced config change.
 * - 0.3.x and older are refused (code 1): they have no CHECK and no
 *   prevResult on DEL, which our idempotent DEL and CHECK rely on.
 * - STATUS and GC exist from 1.1.0 only; asking for them with an older
 *   cniVersion is "incompatible version" (code 1), like libcni's skel does.
 *
 * The runtime picks the version (highest of `cniVersion`/`cniVersions` that
 * it supports) and writes it into `cniVersion`; the plugin checks that value.
 * The version list itself is in the contract (cni/contract/spec-versions.ts): ipamd's conflist uses it too.
 */

import { CniCode, CniError } from './errors.js';
import {
  compareVersions,
  isSemver,
  isSupported,
  LATEST_VERSION,
  SUPPORTED_VERSIONS,
  type CniVersion,
} from './contract/spec-versions.js';

/**
 * The version to speak for this call. A missing `cniVersion` means 0.1.0 in
 * libcni, which we do not speak; `cniVersions` must be a list of versions if
 * present (the runtime already chose from it).
 */
export function selectVersion(conf: { cniVersion?: unknown; cniVersions?: unknown }): CniVersion {
  if (conf.cniVersions !== undefined) {
    if (!Array.isArray(conf.cniVersions) || !conf.cniVersions.every(isSemver)) {
      throw new CniError(CniCode.InvalidNetworkConfig, 'cniVersions must be a list of x.y.z version strings');
    }
  }
  if (conf.cniVersion === undefined || conf.cniVersion === '') {
    throw new CniError(
      CniCode.IncompatibleVersion,
      `cniVersion missing (means 0.1.0); supported: ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  if (!isSupported(conf.cniVersion)) {
    throw new CniError(
      CniCode.IncompatibleVersion,
      `cniVersion ${JSON.stringify(conf.cniVersion)} is not supported; supported: ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  return conf.cniVersion;
}

/** STATUS and GC are 1.1.0 verbs. */
export function requireAtLeast(v: CniVersion, min: CniVersion, verb: string): void {
  if (compareVersions(v, min) < 0) {
    throw new CniError(CniCode.IncompatibleVersion, `${verb} needs cniVersion >= ${min}, config says ${v}`);
  }
}

/** The version to write in an error object or VERSION answer when the input's is unusable. */
export function versionForOutput(requested: unknown): string {
  return isSemver(requested) ? requested : LATEST_VERSION;
}

/** The VERSION verb's answer. */
export function versionResult(requested: unknown): { cniVersion: string; supportedVersions: string[] } {
  return { cniVersion: versionForOutput(requested), supportedVersions: [...SUPPORTED_VERSIONS] };
}
