/**
 * @module CNI conflist
 * Renders the plugin's network configuration list and installs it in the
 * host CNI config dir. The kubelet reports the node Ready ("network ready")
 * as soon as the runtime finds a config there, so it is written only once
 * ipamd answers on its socket and the plugin binaries are in place: an early
 * or stray conflist is the classic "Pods stuck in ContainerCreating"
 * (aws-vpc-cni.md §1.1, the AWS entrypoint's waitForIPAM).
 *
 * Its `cniVersion`/`cniVersions` are negotiated with the chained plugins'
 * binaries first (./cni-versions.ts): only versions every plugin speaks.
 *
 * Writes are atomic (temp file in the same dir, fsync, rename, fsync of the
 * dir). The temp name does not end in .conf/.conflist/.json, so a runtime
 * scanning the dir never loads a half-written file.
 */
import { accessSync, constants, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fsyncDirSync, writeFileAtomicSync } from '../../cni/contract/atomic-file.js';
import { MEBIBYTE, type LogRotation } from '../../cni/contract/log-backups.js';
import type { NegotiatedVersions } from './cni-versions.js';
import { CONFLIST_NAME, NETWORK_NAME, PLUGIN_TYPE } from './names.js';

export interface ConflistOptions {
  socketPath: string;
  mtu: number;
  logFile?: string;
  /** VPC_IPAM_CNI_LOG_MAX_SIZE_MB / _MAX_BACKUPS, when set (the plugin has the same defaults). */
  logRotation?: LogRotation;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'off';
  /**
   * VPC_IPAM_CNI_VERSION: the highest `cniVersion` to write, for runtimes that
   * read only that field (libcni < 1.2 cannot parse newer results).
   */
  cniVersion: string;
  /** Chained plugins after ours, e.g. portmap (hostPort) and bandwidth. */
  chain: string[];
  addWaitMs: number;
  /** AWS_VPC_K8S_CNI_VETHPREFIX, written as the AWS CNI's `vethPrefix` field: the plugin's offline DEL names by it. */
  vethPrefix?: string;
}

/** Chained plugins we know how to configure (the runtime fills their capabilities). */
const CHAINED: Record<string, Record<string, unknown>> = {
  portmap: { type: 'portmap', capabilities: { portMappings: true }, snat: true },
  bandwidth: { type: 'bandwidth', capabilities: { bandwidth: true } },
};

/** The chained plugins a conflist may name (VPC_IPAM_CNI_CHAIN, ipamd/config/conflist.ts). */
export const CHAINED_PLUGINS: readonly string[] = Object.keys(CHAINED);

/** The conflist, with versions from {@link ChainVersionProber.negotiate} (never unchecked ones). */
export function renderConflist(o: ConflistOptions, v: Pick<NegotiatedVersions, 'cniVersion' | 'cniVersions'>): string {
  const ours: Record<string, unknown> = {
    type: PLUGIN_TYPE,
    ipamdSocket: o.socketPath,
    mtu: o.mtu,
    logLevel: o.logLevel,
    addWaitMs: o.addWaitMs,
  };
  if (o.logFile) ours.logFile = o.logFile;
  if (o.vethPrefix) ours.vethPrefix = o.vethPrefix;
  if (o.logRotation) {
    ours.logMaxSizeMB = o.logRotation.maxBytes / MEBIBYTE;
    ours.logMaxBackups = o.logRotation.maxBackups;
  }
  // libcni >= 1.2 takes the highest of cniVersions + cniVersion it implements; older ones read cniVersion.
  // Both come from the negotiation, so whichever a runtime picks, every plugin of the chain speaks it.
  const list: Record<string, unknown> = {
    cniVersion: v.cniVersion,
    cniVersions: [...v.cniVersions],
    name: NETWORK_NAME,
    plugins: [ours, ...o.chain.map((c) => CHAINED[c]!)],
  };
  return `${JSON.stringify(list, null, 2)}\n`;
}

/** Binaries the conflist needs in the host CNI bin dir that are missing (or not executable). */
export function missingBinaries(binDir: string, o: Pick<ConflistOptions, 'chain'>): string[] {
  return [PLUGIN_TYPE, ...o.chain].filter((b) => {
    try {
      accessSync(path.join(binDir, b), constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
}

/** Other CNI configs the runtime would pick before ours (it uses the first by name). */
export function configsBefore(confDir: string, name = CONFLIST_NAME): string[] {
  let entries: string[];
  try {
    entries = readdirSync(confDir);
  } catch {
    return [];
  }
  return entries.filter((f) => /\.(conflist|conf|json)$/.test(f) && f < name).sort();
}

/** Atomically installs `content` as `<confDir>/<name>`; returns false when it was already identical. */
export function installConflist(confDir: string, content: string, name = CONFLIST_NAME): boolean {
  const target = path.join(confDir, name);
  try {
    if (statSync(target).isFile() && readFileSync(target, 'utf8') === content) return false;
  } catch {
    // absent: install
  }
  writeFileAtomicSync(target, content, 0o644);
  return true;
}

/** Removes our conflist (uninstall only). True when there was one. */
export function removeConflist(confDir: string, name = CONFLIST_NAME): boolean {
  const target = path.join(confDir, name);
  try {
    statSync(target);
  } catch {
    return false;
  }
  rmSync(target, { force: true });
  fsyncDirSync(confDir);
  return true;
}
