/**
 * @module CNI network configuration
 * Decodes the request configuration on stdin into a frozen, validated
 * {@link PluginConfig}. Unknown keys are tolerated (runtimes add their own);
 * keys we cannot honour are refused with code 2, malformed values with 7.
 * Documented for operators in docs/cni.md ("Configuration").
 */

import * as path from 'node:path';
import { DEFAULT_SOCKET_PATH } from '../ipamd/api/protocol.js';
import { CniCode, CniError, configError, unsupportedField } from './errors.js';
import { selectVersion, type CniVersion } from './version.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'off';
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'off'];

export interface DnsConfig {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

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
  logLevel: LogLevel;
  /** Socket round-trip budget for everything but the pool wait of ADD. */
  timeoutMs: number;
  /** How long ADD lets ipamd wait for the pool to grow before "try again later". */
  addWaitMs: number;
  dns: DnsConfig;
  /** The previous plugin's (ADD) or the final (CHECK/DEL) result, raw. */
  prevResult?: Record<string, unknown>;
  /** GC only: `cni.dev/valid-attachments`. */
  validAttachments?: ValidAttachment[];
}

export const DEFAULTS = {
  ipamdSocket: DEFAULT_SOCKET_PATH,
  mtu: 9001,
  logLevel: 'info' as LogLevel,
  timeoutMs: 5000,
  addWaitMs: 10_000,
};

/** Network names end up in file names (pending releases): the spec's rule, which excludes `/`. */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Parses stdin bytes as a JSON object; code 6 when that fails. */
export function decodeConfig(bytes: Buffer | string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (err) {
    throw new CniError(CniCode.DecodingFailure, `network configuration on stdin is not JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new CniError(CniCode.DecodingFailure, 'network configuration on stdin is not a JSON object');
  }
  return v as Record<string, unknown>;
}

function int(raw: Record<string, unknown>, key: string, def: number, min: number, max: number): number {
  const v = raw[key];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw configError(key, `must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  return v;
}

function absPath(raw: Record<string, unknown>, key: string): string | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !path.isAbsolute(v) || v.includes('\0')) throw configError(key, `must be an absolute path, got ${JSON.stringify(v)}`);
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
    const cid = o?.containerID;
    const ifn = o?.ifname;
    if (typeof cid !== 'string' || typeof ifn !== 'string' || cid === '' || ifn === '') {
      throw configError(`cni.dev/valid-attachments[${i}]`, 'needs string containerID and ifname');
    }
    return { containerId: cid, ifName: ifn };
  });
}

/**
 * Full validation of a decoded request configuration. `forGc` makes
 * `cni.dev/valid-attachments` mandatory.
 */
export function parseConfig(raw: Record<string, unknown>, opts: { forGc?: boolean } = {}): PluginConfig {
  const cniVersion = selectVersion(raw);
  const name = raw.name;
  if (typeof name !== 'string' || !NAME_RE.test(name) || name.length > 128) {
    throw configError('name', `must match ${NAME_RE.source} (at most 128 characters), got ${JSON.stringify(name)}`);
  }
  if (typeof raw.type !== 'string' || raw.type === '') throw configError('type', 'missing');
  // vpc-ipam is its own IPAM and does no masquerading; silently ignoring
  // these would leave the operator believing they took effect.
  if (raw.ipam !== undefined) throw unsupportedField('ipam', raw.ipam);
  if (raw.ipMasq === true) throw unsupportedField('ipMasq', raw.ipMasq);

  const logLevel = raw.logLevel ?? DEFAULTS.logLevel;
  if (typeof logLevel !== 'string' || !LOG_LEVELS.includes(logLevel as LogLevel)) throw configError('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`);

  let prevResult: Record<string, unknown> | undefined;
  if (raw.prevResult !== undefined && raw.prevResult !== null) {
    if (typeof raw.prevResult !== 'object' || Array.isArray(raw.prevResult)) throw configError('prevResult', 'must be an object');
    prevResult = raw.prevResult as Record<string, unknown>;
  }

  const cfg: PluginConfig = {
    cniVersion,
    name,
    type: raw.type,
    ipamdSocket: absPath(raw, 'ipamdSocket') ?? DEFAULTS.ipamdSocket,
    mtu: int(raw, 'mtu', DEFAULTS.mtu, 576, 9216),
    logLevel: logLevel as LogLevel,
    timeoutMs: int(raw, 'timeoutMs', DEFAULTS.timeoutMs, 100, 120_000),
    addWaitMs: int(raw, 'addWaitMs', DEFAULTS.addWaitMs, 0, 300_000),
    dns: parseDns(raw.dns),
  };
  const logFile = absPath(raw, 'logFile');
  if (logFile) cfg.logFile = logFile;
  if (prevResult) cfg.prevResult = prevResult;
  if (opts.forGc) cfg.validAttachments = parseValidAttachments(raw['cni.dev/valid-attachments']);
  return Object.freeze(cfg);
}
