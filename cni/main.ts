/**
 * @module vpc-ipam CNI plugin entry point
 * With ipamd/main.ts, the only place that reads `process.env`. Order of work:
 * read stdin → VERSION is answered at once → decode JSON (6) → validate the
 * CNI_* variables (4, 3) → validate the configuration (1, 2, 7) → run the
 * verb. Only then does anything touch a socket, a file or the kernel.
 *
 * stdout carries exactly one JSON document (the result or the spec error
 * object) or nothing; logs go to `logFile` or stderr.
 *
 * NODE_OPTIONS / NODE_EXTRA_CA_CERTS: this code never reads them, and the
 * single executable is built so that Node itself does not either
 * (cni/build/patch-node-env.ts); see docs/cni.md "Start-up cost".
 */

import * as fs from 'node:fs';
import { SocketIpamdClient } from './contract/socket-client.js';
import { runCommand, type PluginDeps } from './commands.js';
import { decodeConfig, parseConfig } from './config.js';
import { parseEnv, type NetnsState } from './env.js';
import { CniCode, CniError } from './errors.js';
import { bootstrapLogger, createLogger, type Logger } from './log.js';
import { offlineTearDown } from './offline.js';
import { ifNameIssue } from './contract/identifiers.js';
import { writePendingRelease } from './contract/pending-release.js';
import { versionForOutput, versionResult } from './version.js';

export interface CliIo {
  env: Record<string, string | undefined>;
  readStdin(): Buffer;
  writeStdout(s: string): void;
  /** Overrides for tests (fake ipamd client, captured logs). */
  deps?: Partial<PluginDeps>;
  /** Replaces the CNI_NETNS probe (statfs/stat), for the snapshot warm-up, which must touch no namespace. */
  probeNetns?: (path: string) => NetnsState;
}

/** Stdin larger than this is refused: a prevResult is a few KB. */
const MAX_STDIN = 4 << 20;

/** Reads a host interface's MAC from sysfs; the name was produced by hostVethName or ipamd. */
export function readHostMacSysfs(ifName: string): string | undefined {
  // The shared interface-name rules keep it one path component (no `/`, not `.`/`..`).
  if (ifNameIssue(ifName)) return undefined;
  try {
    return fs.readFileSync(`/sys/class/net/${ifName}/address`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function realIo(): CliIo {
  return {
    env: process.env,
    readStdin: () => fs.readFileSync(0),
    // Synchronous: the result must be fully written before the process exits.
    writeStdout: (s) => {
      fs.writeSync(1, s);
    },
  };
}

/** Runs one CNI invocation; resolves to the exit status. */
export async function runCli(io: CliIo = realIo()): Promise<number> {
  let outVersion = versionForOutput(undefined);
  let log: Logger = io.deps?.log ?? bootstrapLogger();
  try {
    let stdin: Buffer;
    try {
      stdin = io.readStdin();
    } catch (err) {
      throw new CniError(
        CniCode.IoFailure,
        'reading the network configuration from stdin: ' +
          `${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    if (stdin.length > MAX_STDIN)
      throw new CniError(CniCode.IoFailure, `network configuration on stdin is larger than ${MAX_STDIN} bytes`);

    if (io.env.CNI_COMMAND === 'VERSION') {
      // VERSION needs nothing but an optional {"cniVersion"}; tolerate empty or odd input.
      let requested: unknown;
      try {
        requested = (JSON.parse(stdin.toString('utf8') || '{}') as { cniVersion?: unknown }).cniVersion;
      } catch {
        requested = undefined;
      }
      io.writeStdout(`${JSON.stringify(versionResult(requested))}\n`);
      return 0;
    }

    const raw = decodeConfig(stdin);
    outVersion = versionForOutput(raw.cniVersion);
    const env = parseEnv(io.env, io.probeNetns);
    const cfg = parseConfig(raw, { forGc: env.command === 'GC', lenientPrevResult: env.command === 'DEL' });
    outVersion = cfg.cniVersion;
    if (!io.deps?.log) {
      log = createLogger({
        level: cfg.logLevel,
        rotation: cfg.logRotation,
        ...(cfg.logFile ? { file: cfg.logFile } : {}),
      });
    }
    log.bind({
      cmd: env.command,
      network: cfg.name,
      ...(env.containerId ? { containerId: env.containerId, ifName: env.ifName } : {}),
    });
    log.debug('invoked', {
      netns: env.netns,
      cniVersion: cfg.cniVersion,
      pod: env.args.podName ? `${env.args.podNamespace}/${env.args.podName}` : undefined,
    });

    const deps: PluginDeps = {
      client: new SocketIpamdClient(cfg.ipamdSocket),
      log,
      readHostMac: readHostMacSysfs,
      offlineTearDown,
      writePendingRelease,
      ...io.deps,
    };
    const out = await runCommand(env, cfg, deps);
    if (out !== undefined) io.writeStdout(`${JSON.stringify(out)}\n`);
    return 0;
  } catch (err) {
    const e = err instanceof CniError ? err : new CniError(CniCode.Internal, (err as Error)?.stack ?? String(err));
    log.error(e.message, { code: e.code, details: e.details });
    io.writeStdout(`${JSON.stringify(e.toJSON(outVersion))}\n`);
    return 1;
  } finally {
    // A log file this run opened; ipamd runs many (ipamd/api/plugin-host.ts), the process exits after one.
    if (log !== io.deps?.log) log.close();
  }
}
