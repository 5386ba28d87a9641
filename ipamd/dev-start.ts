/**
 * @module dev runner (`npm start`)
 * Runs ipamd in the foreground with paths a non-root user can write
 * (./.run/<provider>/), by default with the AWS provider, and always, for
 * aws, azure and gcp, against that provider's embedded emulator on loopback:
 * `npm start` never reaches a real cloud or cluster unless
 * VPC_IPAM_DEV_REAL_CLOUD=true says so (ipamd/dev-env.ts). JSON logs go to
 * ./.run/<provider>/ipamd.log and the terminal shows a status line each time
 * the pool changes. A small demo workload (VPC_IPAM_DEMO=off to disable)
 * adds and deletes Pods through the real socket; Ctrl-C deletes them, then
 * stops the daemon cleanly. The checkpoint survives.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { IpamError } from '../providers/errors.js';
import { parseConfig, type DaemonConfig } from './config.js';
import { parseDemoInterval } from './config/dev.js';
import { startDemo, type Demo } from './dev-demo.js';
import { devEnvironment, type DevEnvironment } from './dev-env.js';
import { installSignalHandlers, startDaemon, type RunningDaemon } from './run.js';
import { quietAwsSdkNodeWarning } from './util/sdk-warnings.js';

function stamp(): string {
  return new Date().toISOString().slice(11, 19);
}

function fail(err: unknown): never {
  const msg = IpamError.is(err) ? `${err.code}: ${err.message}` : ((err as Error).stack ?? String(err));
  process.stderr.write(`vpc-ipamd: cannot start: ${msg}\n`);
  process.exit(1);
}

/** The banner says where each listener really is: loopback, or every interface of this host. */
function listenerLine(kind: 'introspection' | 'metrics', r: RunningDaemon, pathName: string): string {
  const c = r.daemon.d.config[kind];
  const port = kind === 'metrics' ? r.ports.metricsPort : r.ports.introspectionPort;
  if (c && 'socketPath' in c) return `curl --unix-socket ${c.socketPath} http://localhost${pathName}`;
  if (!c || port === undefined) return 'off';
  const wildcard = c.host === '0.0.0.0' || c.host === '::';
  const host = wildcard ? '127.0.0.1' : c.host.includes(':') ? `[${c.host}]` : c.host;
  return `http://${host}:${port}${pathName}${wildcard ? ` (listening on all interfaces, ${c.host})` : ''}`;
}

function banner(r: RunningDaemon, dev: DevEnvironment): string {
  const d = r.daemon;
  const cloud = dev.provider === 'sim' ? 'simulated cloud' : dev.realCloud ? 'REAL cloud' : 'emulator on loopback';
  return [
    `vpc-ipamd ${d.d.version}, ${dev.provider} provider (${cloud}): node ${d.node.instanceId} ` +
      `(${d.node.instanceType}), mode ${d.datastore.mode}`,
    `  socket         ${d.d.config.socketPath}`,
    `  introspection  ${listenerLine('introspection', r, '/v1/pool')}`,
    `  metrics        ${listenerLine('metrics', r, '/metrics')}`,
    `  logs           ${d.d.config.logFile}`,
    `  checkpoint     ${path.join(d.d.config.stateDir, 'ipam.json')}`,
    'Ctrl-C deletes the demo Pods and stops it cleanly.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  quietAwsSdkNodeWarning(process.env);
  // `npm start | head` closes stdout early; the status line must not take the process (and its Ctrl-C cleanup) down.
  process.stdout.on('error', () => {});
  let dev: DevEnvironment;
  let demoMs: number | undefined;
  let config: DaemonConfig;
  try {
    dev = devEnvironment(process.env);
    demoMs = parseDemoInterval(dev.env);
    config = parseConfig(dev.env);
  } catch (err) {
    fail(err);
  }
  // Libraries that read process.env themselves (SDK credential chains, metadata clients) must see the same.
  for (const k of Object.keys(process.env)) if (!(k in dev.env)) delete process.env[k];
  Object.assign(process.env, dev.env);
  for (const note of dev.notes) process.stdout.write(`note: ${note}\n`);
  const shared = path.join(path.dirname(dev.dir), 'state');
  if (existsSync(shared)) {
    process.stdout.write(`note: ${shared} (once shared by all providers) is no longer used; delete it when done\n`);
  }

  const running = await startDaemon(config).catch(fail);
  const { daemon } = running;
  process.stdout.write(banner(running, dev));
  let last = '';
  const timer = setInterval(() => {
    const line = daemon.statusLine();
    if (line !== last) process.stdout.write(`[${stamp()}] ${line}\n`);
    last = line;
  }, 250);
  const say = (line: string) => process.stdout.write(`[${stamp()}] ${line}\n`);
  const socket = daemon.d.config.socketPath;
  const demo: Demo | undefined = demoMs
    ? startDemo({ socket, assignments: () => daemon.datastore.list(), intervalMs: demoMs, say })
    : undefined;
  installSignalHandlers(async () => {
    // The demo's Pods go first, through the socket, while the daemon still serves it.
    const deleted = (await demo?.stop()) ?? 0;
    if (demo) say(`deleted ${deleted} demo Pod(s)`);
    clearInterval(timer);
    await running.stop();
    say(`stopped; checkpoint kept in ${daemon.d.config.stateDir}`);
  }, daemon.d.log);
}

void main();
