/**
 * @module CNI network configuration
 * Decodes the request configuration on stdin into a frozen, validated
 * {@link PluginConfig}. Unknown keys are tolerated (runtimes add their own);
 * keys we cannot honour are refused with code 2, malformed values with 7.
 * Documented for operators in docs/cni.md ("Configuration").
 */

import * as path from 'node:path';
import { containerIdIssue, ifNameIssue, networkNameIssue } from './contract/identifiers.js';
import { DEFAULT_PLUGIN_LOG_ROTATION, MEBIBYTE, type LogRotation } from './contract/log-backups.js';
import { DEFAULT_SOCKET_PATH } from './contract/protocol.js';
import { PLUGIN_TYPE } from './contract/plugin-name.js';
import type { CniVersion } from './contract/spec-versions.js';
import { DEFAULT_VETH_PREFIX, vethPrefixProblem } from './contract/veth-name.js';
import { CniCode, CniError, CniIdentifierError, configError, unsupportedField } from './errors.js';
import { parsePrevResult } from './prev-result.js';
import type { CniResult, DnsConfig } from './result.js';
import { selectVersion } from './version.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'off';
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'off'];

export interface ValidAttachment {
  containerId: string;
  ifName: string;
}

export interface PluginConfig {
  cniVersion: CniVersion;
  /** Network name: part of the attachment key (network, container, ifname). */
  name: string;
  type: string;
  ipamdSocket: string;
  mtu: number;
  logFile?: string;
  /** `logMaxSizeMB` and `logMaxBackups`: the log file's rotation (cni/log-file.ts). */
  logRotation: LogRotation;
  logLevel: LogLevel;
  /**
   * `vethPrefix` (the AWS CNI's field, written by ipamd from AWS_VPC_K8S_CNI_VETHPREFIX): how the offline DEL
   * names the host veth. Absent (or `vpc`): our own naming.
   */
  vethPrefix?: string;
  /** Socket round-trip budget for everything but the pool wait of ADD. */
  timeoutMs: number;
  /** How long ADD lets ipamd wait for the pool to grow before "try again later". */
  addWaitMs: number;
  dns: DnsConfig;
  /** The previous plugin's (ADD) or the final (CHECK/DEL) result: spec fields only (prev-result.ts). */
  prevResult?: CniResult;
  /** prevResult keys dropped as not in the spec (logged by the verb). */
  prevResultDropped?: string[];
  /** DEL only: why prevResult was unusable and ignored (DEL must not fail on it). */
  prevResultIgnored?: string;
  /** GC only: `cni.dev/valid-attachments`. */
  validAttachments?: ValidAttachment[];
}

export const DEFAULTS = {
  ipamdSocket: DEFAULT_SOCKET_PATH,
  mtu: 9001,
  logLevel: 'info' as LogLevel,
  timeoutMs: 5000,
  addWaitMs: 30_000,
};

/** Parses stdin bytes as a JSON object; code 6 when that fails. */
export function decodeConfig(bytes: Buffer | string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (err) {
    throw new CniError(
      CniCode.DecodingFailure,
      `network configuration on stdin is not JSON: ${(err as Error).message}`,
    );
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new CniError(CniCode.DecodingFailure, 'network configuration on stdin is not a JSON object');
  }
  return v as Record<string, unknown>;
}

function int(raw: Record<string, unknown>, key: string, def: number, min: number, max: number): number {
  const v = raw[key];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw configError(key, `must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  return v;
}

function absPath(raw: Record<string, unknown>, key: string): string | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !path.isAbsolute(v) || v.includes('\0'))
    throw configError(key, `must be an absolute path, got ${JSON.stringify(v)}`);
  return path.normalize(v);
}

function strList(v: unknown, key: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw configError(key, 'must be a list of strings');
  return [...v] as string[];
}

export function parseDns(v: unknown): DnsConfig {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw configError('dns', 'must be an object');
  const d = v as Record<string, unknown>;
  const out: DnsConfig = {};
  const ns = strList(d.nameservers, 'dns.nameservers');
  if (ns) out.nameservers = ns;
  if (d.domain !== undefined) {
    if (typeof d.domain !== 'string') throw configError('dns.domain', 'must be a string');
    out.domain = d.domain;
  }
  const search = strList(d.search, 'dns.search');
  if (search) out.search = search;
  const options = strList(d.options, 'dns.options');
  if (options) out.options = options;
  return out;
}

export function parseValidAttachments(v: unknown): ValidAttachment[] {
  // A GC without the list would mean "nothing is valid": refuse rather than release everything.
  if (!Array.isArray(v)) throw configError('cni.dev/valid-attachments', 'missing or not a list');
  return v.map((a, i) => {
    const o = a as Record<string, unknown> | null;
    if (typeof o !== 'object' || o === null) throw configError(`cni.dev/valid-attachments[${i}]`, 'must be an object');
    // The same rules as CNI_CONTAINERID/CNI_IFNAME: an entry ipamd would refuse must fail here, whole.
    const bad = containerIdIssue(o.containerID) ?? ifNameIssue(o.ifname);
    if (bad) {
      const field = `cni.dev/valid-attachments[${i}].${bad.kind === 'ifName' ? 'ifname' : 'containerID'}`;
      throw new CniIdentifierError(CniCode.InvalidNetworkConfig, field, bad.problem, bad.message);
    }
    return { containerId: o.containerID as string, ifName: o.ifname as string };
  });
}

export interface ParseOptions {
  /** GC: `cni.dev/valid-attachments` is mandatory. */
  forGc?: boolean;
  /** DEL: an unusable prevResult is ignored (noted in `prevResultIgnored`) instead of refused. */
  lenientPrevResult?: boolean;
}

/**
 * Full validation of a decoded request configuration. `forGc` makes
 * `cni.dev/valid-attachments` mandatory.
 */
export function parseConfig(raw: Record<string, unknown>, opts: ParseOptions = {}): PluginConfig {
  const cniVersion = selectVersion(raw);
  const name = raw.name;
  // Network names end up in file names (pending releases): the rules ipamd applies to `network`.
  const nameIssue = networkNameIssue(name);
  if (nameIssue) {
    throw new CniIdentifierError(CniCode.InvalidNetworkConfig, 'name', nameIssue.problem, nameIssue.message);
  }
  if (typeof raw.type !== 'string' || raw.type === '') throw configError('type', 'missing');
  // The runtime runs the binary named by `type`: another value means this file is not our configuration.
  if (raw.type !== PLUGIN_TYPE) {
    throw configError('type', `must be "${PLUGIN_TYPE}", got ${JSON.stringify(raw.type.slice(0, 80))}`);
  }
  // vpc-ipam is its own IPAM and does no masquerading; silently ignoring
  // these would leave the operator believing they took effect.
  if (raw.ipam !== undefined) throw unsupportedField('ipam', raw.ipam);
  if (raw.ipMasq === true) throw unsupportedField('ipMasq', raw.ipMasq);

  const logLevel = raw.logLevel ?? DEFAULTS.logLevel;
  if (typeof logLevel !== 'string' || !LOG_LEVELS.includes(logLevel as LogLevel))
    throw configError('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`);

  let prev: ReturnType<typeof parsePrevResult> | undefined;
  let prevIgnored: string | undefined;
  if (raw.prevResult !== undefined && raw.prevResult !== null) {
    try {
      prev = parsePrevResult(raw.prevResult, cniVersion);
    } catch (err) {
      // DEL must complete even with a broken chain; it only reads the Pod address from prevResult.
      if (!opts.lenientPrevResult || !(err instanceof CniError)) throw err;
      prevIgnored = err.details;
    }
  }

  const cfg: PluginConfig = {
    cniVersion,
    name: name as string,
    type: raw.type,
    ipamdSocket: absPath(raw, 'ipamdSocket') ?? DEFAULTS.ipamdSocket,
    mtu: int(raw, 'mtu', DEFAULTS.mtu, 576, 9216),
    logLevel: logLevel as LogLevel,
    timeoutMs: int(raw, 'timeoutMs', DEFAULTS.timeoutMs, 100, 120_000),
    addWaitMs: int(raw, 'addWaitMs', DEFAULTS.addWaitMs, 0, 300_000),
    dns: parseDns(raw.dns),
    logRotation: Object.freeze({
      maxBytes: int(raw, 'logMaxSizeMB', DEFAULT_PLUGIN_LOG_ROTATION.maxBytes / MEBIBYTE, 1, 10_240) * MEBIBYTE,
      maxBackups: int(raw, 'logMaxBackups', DEFAULT_PLUGIN_LOG_ROTATION.maxBackups, 1, 100),
    }),
  };
  const logFile = absPath(raw, 'logFile');
  if (logFile) cfg.logFile = logFile;
  const vethPrefix = raw.vethPrefix;
  if (vethPrefix !== undefined && vethPrefix !== DEFAULT_VETH_PREFIX) {
    const problem = typeof vethPrefix === 'string' ? vethPrefixProblem(vethPrefix) : 'must be a string';
    if (problem) throw configError('vethPrefix', problem);
    cfg.vethPrefix = vethPrefix as string;
  }
  if (prev) cfg.prevResult = prev.result;
  if (prev?.dropped.length) cfg.prevResultDropped = prev.dropped;
  if (prevIgnored) cfg.prevResultIgnored = prevIgnored;
  if (opts.forGc) cfg.validAttachments = parseValidAttachments(raw['cni.dev/valid-attachments']);
  return Object.freeze(cfg);
}
