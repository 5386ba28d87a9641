/**
 * @module libcni version selection (tests)
 * Which `cniVersion` a runtime hands the plugins of a conflist, the way
 * containernetworking/cni's libcni decides it, so tests can run a chain at the
 * version a real runtime would pick:
 *
 * - libcni >= 1.2 (`NetworkConfFromBytes`, formerly `ConfListFromBytes`, in
 *   libcni/conf.go; containerd 2.x vendors v1.2): when `cniVersions` is
 *   present, every entry must be a version string (else the config is an
 *   error); entries above libcni's own `version.Current()` (1.1.0 in v1.2.x and
 *   v1.3.0) are skipped; `cniVersion`, if set and not above Current, joins
 *   them; the highest wins. With no usable entry, `cniVersion` stays as
 *   written. The plugins are not asked (their VERSION answer is only used by
 *   `ValidateNetworkList`, which runtimes do not call before ADD).
 * - libcni < 1.2 (containerd 1.x): `cniVersions` is unknown and ignored; the
 *   version is `cniVersion`.
 *
 * Either way libcni then writes that one version into every plugin's request
 * (`buildOneConfig`), which {@link ChainRunner} does with `conf.cniVersion`.
 */
import type { ConfList } from './chain-runner.js';

/** `version.Current()` of libcni v1.2.x and v1.3.0. */
export const LIBCNI_CURRENT = '1.1.0';

/** libcni's ParseVersion: 1 to 3 numeric parts; "" is 0.1.0. */
function parse(v: string): [number, number, number] {
  if (v === '') return [0, 1, 0];
  const parts = v.split('.');
  if (parts.length > 3 || !parts.every((p) => /^\d+$/.test(p))) throw new Error(`invalid version ${JSON.stringify(v)}`);
  const [a = 0, b = 0, c = 0] = parts.map(Number);
  return [a, b, c];
}

function compare(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return 0;
}

/** The version libcni >= 1.2 runs a conflist at (throws where libcni refuses the config). */
export function libcniSelectVersion(conflist: Record<string, unknown>, current = LIBCNI_CURRENT): string {
  const raw = conflist.cniVersion;
  if (raw !== undefined && typeof raw !== 'string') throw new Error(`invalid cniVersion type ${typeof raw}`);
  const cniVersion = raw ?? '';
  const list = conflist.cniVersions;
  if (list === undefined) return cniVersion;
  if (!Array.isArray(list)) throw new Error('invalid type for cniVersions');
  const vs: string[] = [];
  for (const v of list) {
    if (typeof v !== 'string') throw new Error('invalid type for a cniVersions entry');
    if (compare(v, current) <= 0) vs.push(v);
  }
  if (cniVersion !== '' && compare(cniVersion, current) <= 0) vs.push(cniVersion);
  vs.sort(compare);
  return vs.length ? vs[vs.length - 1]! : cniVersion;
}

/** The version libcni < 1.2 runs a conflist at: `cniVersion`, `cniVersions` unknown. */
export function legacySelectVersion(conflist: Record<string, unknown>): string {
  return typeof conflist.cniVersion === 'string' ? conflist.cniVersion : '';
}

/** The conflist as the runtime runs it: `cniVersion` replaced by the one libcni >= 1.2 selects. */
export function asRunByLibcni(conflist: Record<string, unknown>, current = LIBCNI_CURRENT): ConfList {
  const { cniVersions: _ignored, ...rest } = conflist;
  return { ...(rest as unknown as ConfList), cniVersion: libcniSelectVersion(conflist, current) };
}
