#!/usr/bin/env node
/**
 * @module vpc-ipamd entry point
 * Reads process.env (as cni/main.ts, ipamd/ctl/main.ts and ipamd/dev-start.ts
 * do, and no other module: eslint.config.mjs), parsing it once into the
 * typed configuration (ipamd/config.ts). `vpc-ipamd` (or
 * `vpc-ipamd run`) runs the node daemon; `vpc-ipamd monitor` runs the
 * cluster-wide exhaustion monitor.
 */
import { IpamError } from '../providers/errors.js';
import { parseConfig } from './config.js';
import { installSignalHandlers, startDaemon, type RunningDaemon } from './run.js';
import { quietAwsSdkNodeWarning } from './util/sdk-warnings.js';
import { VERSION } from './version.js';

async function main(): Promise<void> {
  quietAwsSdkNodeWarning(process.env);
  const sub = process.argv[2];
  if (sub === '--version' || sub === 'version') {
    process.stdout.write(`vpc-ipamd ${VERSION}\n`);
    return;
  }
  if (sub === 'monitor') {
    // Lazy: the node daemon never loads the cluster monitor, and vice versa.
    const [{ mainMonitor }, { parseClusterMonitorConfig }] = await Promise.all([
      import('./monitor/cluster-run.js'),
      import('./config/cluster-monitor.js'),
    ]);
    await Promise.resolve()
      .then(() => mainMonitor(parseClusterMonitorConfig(process.env)))
      .catch((err) => {
        const msg = IpamError.is(err) ? `${err.code}: ${err.message}` : ((err as Error).stack ?? String(err));
        process.stderr.write(`vpc-ipamd monitor: cannot start: ${msg}\n`);
        process.exit(1);
      });
    return;
  }
  if (sub !== undefined && sub !== 'run') {
    process.stderr.write(`vpc-ipamd: unknown command "${sub}". Usage: vpc-ipamd [run|monitor|version]\n`);
    process.exit(2);
  }
  let running: RunningDaemon;
  try {
    running = await startDaemon(parseConfig(process.env));
  } catch (err) {
    const msg = IpamError.is(err) ? `${err.code}: ${err.message}` : ((err as Error).stack ?? String(err));
    process.stderr.write(`vpc-ipamd: cannot start: ${msg}\n`);
    process.exit(1);
  }
  installSignalHandlers(running.stop, running.daemon.d.log);
}

void main();
