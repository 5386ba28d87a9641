/**
 * @module CNI version negotiation for the conflist
 * The runtime hands every plugin of a chain the one `cniVersion` it picks, and
 * libcni >= 1.2 (containerd 2.x) picks the highest version of
 * `cniVersions` + `cniVersion` that libcni itself implements, without asking
 * the plugins. A chained plugin that does not speak it fails every Pod ADD
 * (Debian's portmap 1.1.1 answers 1.1.0 with "incompatible CNI versions"), and
 * DEL of that Pod fails the same way. So before the conflist is written each
 * chained plugin is asked (`CNI_COMMAND=VERSION`) and only versions that all of
 * them and our plugin (cni/version.ts) speak are offered. docs/cni.md, "Spec
 * versions in the generated conflist"; decisions.md, "A conflist that works
 * with every runtime".
 *
 * The binaries run as root, so before one is executed: its type is a plain file
 * name, its path resolves (symlinks followed) inside a configured CNI bin dir,
 * it is a regular, executable, not world-writable file. It is run with its path
 * as the whole argv, a fixed environment, no shell, a timeout and an output
 * cap. Answers are cached per file identity (path, inode, size, mtime), so a
 * resync costs a stat, and a binary replaced by the init container is asked again.
 */
import { spawn } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { compareVersions, LATEST_VERSION, SUPPORTED_VERSIONS } from '../../cni/contract/spec-versions.js';
import { IpamError } from '../../providers/errors.js';
import { PLUGIN_TYPE } from './names.js';

export type CniVersionProblem = 'unsafe-binary' | 'probe-failed' | 'no-common-version';

/** Why a conflist cannot be written; `plugin` is the chained plugin's type ('' for the chain as a whole). */
export class CniVersionError extends IpamError {
  constructor(
    readonly problem: CniVersionProblem,
    readonly plugin: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('CONFIG_INVALID', message, options);
  }
}

/** The binary is missing, or is not one we are willing to execute. Nothing was run. */
export class PluginBinaryError extends CniVersionError {
  constructor(plugin: string, message: string) {
    super('unsafe-binary', plugin, message);
  }
}

/** The binary ran but gave no usable VERSION answer (exit code, timeout, malformed output). */
export class PluginVersionProbeError extends CniVersionError {
  constructor(plugin: string, message: string, options?: { cause?: unknown }) {
    super('probe-failed', plugin, message, options);
  }
}

/** No version is spoken by every plugin (or none within VPC_IPAM_CNI_VERSION); `supported` says who speaks what. */
export class NoCommonCniVersionError extends CniVersionError {
  constructor(
    readonly supported: Readonly<Record<string, readonly string[]>>,
    message: string,
  ) {
    super('no-common-version', '', message);
  }
}

/** A plain file name, as libcni requires of `type` (no separators, no leading dot). */
const TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** The whole environment of a probe: VERSION needs nothing else, and nothing of ours leaks in. */
const PROBE_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
const MAX_STDOUT = 64 * 1024;
const MAX_STDERR = 2 * 1024;
/** More than any real answer (Debian's lists 6); bounds what an odd binary can make us hold and print. */
const MAX_VERSIONS = 64;

export interface PluginBinary {
  type: string;
  /** The resolved path: what is executed and the cache key. */
  file: string;
  /** Changes when the file is replaced or rewritten (dev, inode, size, mtime). */
  identity: string;
}

function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && !path.isAbsolute(rel) && rel.split(path.sep)[0] !== '..';
}

/**
 * Finds `type` like libcni's FindInPath (first dir holding it wins) and checks
 * it is safe to execute as root; throws {@link PluginBinaryError} otherwise.
 */
export function resolvePluginBinary(binDirs: readonly string[], type: string): PluginBinary {
  const refuse = (why: string) => new PluginBinaryError(type, why);
  if (!TYPE_RE.test(type)) throw refuse(`plugin type ${JSON.stringify(type)} is not a plain file name`);
  const roots: string[] = [];
  for (const d of binDirs) {
    if (!path.isAbsolute(d)) throw refuse(`CNI bin dir ${JSON.stringify(d)} is not an absolute path`);
    try {
      roots.push(realpathSync(d));
    } catch {
      // A missing dir holds nothing; the others may.
    }
  }
  for (const dir of binDirs) {
    const candidate = path.join(dir, type);
    let real: string;
    try {
      real = realpathSync(candidate);
    } catch (err) {
      // Absent, or a dangling symlink: libcni would look in the next dir too.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw refuse(`cannot resolve ${candidate}: ${(err as Error).message}`);
    }
    // In the container the host dir is a mount: a symlink out of it points into the image, not the host.
    if (!roots.some((r) => isInside(r, real))) {
      throw refuse(`${candidate} resolves to ${real}, outside the CNI bin dirs (${binDirs.join(', ')})`);
    }
    let st;
    try {
      st = statSync(real);
    } catch (err) {
      throw refuse(`cannot stat ${real}: ${(err as Error).message}`);
    }
    if (!st.isFile()) throw refuse(`${candidate} is not a regular file`);
    if ((st.mode & 0o111) === 0) throw refuse(`${candidate} is not executable`);
    if ((st.mode & 0o002) !== 0) throw refuse(`${candidate} is world-writable; refusing to run it as root`);
    return { type, file: real, identity: `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}` };
  }
  throw refuse(`plugin binary ${type} not found in ${binDirs.join(', ')}`);
}

/** Printable, bounded, one-line text from a binary's output (it may be anything). */
function excerpt(s: string, max = 300): string {
  const t = s
    .trim()
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?');
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/** What a failed plugin said: its CNI error's `msg: details`, else its output. */
function failureText(stdout: string, stderr: string): string {
  try {
    const e = JSON.parse(stdout) as { msg?: unknown; details?: unknown } | null;
    if (typeof e?.msg === 'string') return excerpt(typeof e.details === 'string' ? `${e.msg}: ${e.details}` : e.msg);
  } catch {
    // not a CNI error object
  }
  return excerpt(stdout) || excerpt(stderr);
}

function parseAnswer(type: string, stdout: string): string[] {
  const shown = JSON.stringify(excerpt(stdout));
  let v: unknown;
  try {
    v = JSON.parse(stdout);
  } catch {
    throw new PluginVersionProbeError(type, `${type} answered VERSION with no JSON: ${shown}`);
  }
  const list = (v as { supportedVersions?: unknown } | null)?.supportedVersions;
  const strings = Array.isArray(list) && list.every((x) => typeof x === 'string' && x.length <= 32);
  if (!strings || list.length > MAX_VERSIONS) {
    throw new PluginVersionProbeError(type, `${type} answered VERSION without a supportedVersions list: ${shown}`);
  }
  return list.map((x) => excerpt(x as string, 32));
}

/**
 * Runs `CNI_COMMAND=VERSION <file>` with stdin `{"cniVersion":"<ours>"}` (what
 * libcni's GetVersionInfo sends) and returns the plugin's supportedVersions.
 */
export function probePluginVersions(bin: PluginBinary, o: { timeoutMs: number; cniPath: string }): Promise<string[]> {
  const { type } = bin;
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err: Error | undefined, versions?: string[]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(versions!);
    };
    const child = spawn(bin.file, [], {
      cwd: '/',
      env: { CNI_COMMAND: 'VERSION', CNI_PATH: o.cniPath, PATH: PROBE_PATH },
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
      // Its own process group, so a timeout also ends whatever it started (which would hold our pipes open).
      detached: true,
    });
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => {
      kill();
      done(new PluginVersionProbeError(type, `${type} did not answer VERSION within ${o.timeoutMs} ms`));
    }, o.timeoutMs);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.length > MAX_STDOUT) {
        kill();
        done(new PluginVersionProbeError(type, `${type} wrote more than ${MAX_STDOUT} bytes for VERSION`));
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < MAX_STDERR) stderr += d;
    });
    child.on('error', (err) => {
      done(new PluginVersionProbeError(type, `cannot run ${bin.file}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      if (code !== 0) {
        const said = failureText(stdout, stderr);
        const how = signal ?? `exit ${code}`;
        return done(new PluginVersionProbeError(type, `${type} VERSION failed (${how})${said ? `: ${said}` : ''}`));
      }
      try {
        done(undefined, parseAnswer(type, stdout));
      } catch (err) {
        done(err as Error);
      }
    });
    // A binary that exits without reading its stdin must not crash us with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify({ cniVersion: LATEST_VERSION }));
  });
}

export interface NegotiatedVersions {
  /** What runtimes that ignore `cniVersions` (libcni < 1.2) use. */
  cniVersion: string;
  /** Every version all plugins speak, ascending; libcni >= 1.2 takes the highest it implements. */
  cniVersions: string[];
  /** Chained plugins that kept `cniVersion` below VPC_IPAM_CNI_VERSION (empty when it is as configured). */
  limitedBy: string[];
}

const listOf = (vs: readonly string[]) => (vs.length ? vs.join(', ') : 'none');

/**
 * Intersects our versions with each chained plugin's. `cniVersion` is the
 * highest common version not above `maxCniVersion` (VPC_IPAM_CNI_VERSION):
 * libcni < 1.2 reads only `cniVersion` and cannot parse results newer than
 * itself (libcni 1.1 implements 1.0.0), so offering it 1.1.0 breaks those
 * runtimes even when every plugin speaks 1.1.0.
 */
export function negotiateVersions(
  ours: readonly string[],
  chained: ReadonlyArray<{ type: string; versions: readonly string[] }>,
  maxCniVersion: string,
): NegotiatedVersions {
  const common = ours.filter((v) => chained.every((p) => p.versions.includes(v))).sort(compareVersions);
  const supported: Record<string, readonly string[]> = { [PLUGIN_TYPE]: [...ours] };
  for (const p of chained) supported[p.type] = [...p.versions];
  const who = Object.entries(supported)
    .map(([t, vs]) => `${t} supports ${listOf(vs)}`)
    .join('; ');
  if (common.length === 0) {
    throw new NoCommonCniVersionError(
      supported,
      `no CNI spec version is supported by every plugin of the chain (${who}); ` +
        'upgrade the plugin or drop it from VPC_IPAM_CNI_CHAIN',
    );
  }
  const capped = common.filter((v) => compareVersions(v, maxCniVersion) <= 0);
  const cniVersion = capped[capped.length - 1];
  if (cniVersion === undefined) {
    throw new NoCommonCniVersionError(
      supported,
      `VPC_IPAM_CNI_VERSION is ${maxCniVersion}, but every version the chain has in common is newer ` +
        `(${listOf(common)}; ${who})`,
    );
  }
  const limitedBy =
    cniVersion === maxCniVersion ? [] : chained.filter((p) => !p.versions.includes(maxCniVersion)).map((p) => p.type);
  return { cniVersion, cniVersions: common, limitedBy };
}

type Cached = { identity: string; versions: string[] } | { identity: string; error: CniVersionError; retryAt: number };

export interface ChainVersionProberOptions {
  /** CNI bin dirs as mounted, in the runtime's search order. */
  binDirs: readonly string[];
  /** Bound on one VERSION run; a Go plugin answers in a few ms. */
  timeoutMs?: number;
  /** A failed probe of an unchanged binary is repeated only after this (it may hang for timeoutMs each time). */
  retryFailedMs?: number;
  now?: () => number;
}

/** Asks the chained plugins their versions, once per binary identity, and negotiates the conflist's. */
export class ChainVersionProber {
  private readonly cache = new Map<string, Cached>();
  /** VERSION executions so far (tests and debugging: a resync must not add any). */
  probes = 0;

  constructor(private readonly o: ChainVersionProberOptions) {}

  /** The supported versions of chained plugin `type`; throws a {@link CniVersionError}. */
  async versionsOf(type: string): Promise<string[]> {
    const bin = resolvePluginBinary(this.o.binDirs, type);
    const now = this.o.now?.() ?? Date.now();
    const hit = this.cache.get(bin.file);
    if (hit && hit.identity === bin.identity) {
      if ('versions' in hit) return hit.versions;
      if (now < hit.retryAt) throw hit.error;
    }
    this.probes++;
    try {
      const cniPath = this.o.binDirs.join(':');
      const versions = await probePluginVersions(bin, { timeoutMs: this.o.timeoutMs ?? 5_000, cniPath });
      this.cache.set(bin.file, { identity: bin.identity, versions });
      return versions;
    } catch (err) {
      const error =
        err instanceof CniVersionError ? err : new PluginVersionProbeError(type, String(err), { cause: err });
      this.cache.set(bin.file, { identity: bin.identity, error, retryAt: now + (this.o.retryFailedMs ?? 30_000) });
      throw error;
    }
  }

  /** Versions for a conflist of vpc-ipam followed by `chain`. */
  async negotiate(chain: readonly string[], maxCniVersion: string): Promise<NegotiatedVersions> {
    const chained = [];
    for (const type of chain) chained.push({ type, versions: await this.versionsOf(type) });
    return negotiateVersions(SUPPORTED_VERSIONS, chained, maxCniVersion);
  }
}
