/**
 * @module dev runner (`npm start`)
 * Runs ipamd in the foreground with paths a non-root user can write (./.run),
 * by default with the AWS provider against its embedded EC2 + IMDSv2 emulator
 * (VPC_IPAM_PROVIDER=aws, VPC_IPAM_AWS_EMBEDDED_EMULATOR=true; see docs/aws.md),
 * JSON logs to ./.run/ipamd.log, and a status line on the terminal each time
 * the pool changes. A small demo workload (on by default, VPC_IPAM_DEMO=off
 * to disable) adds and deletes Pods through the real socket so the pool moves.
 * Ctrl-C stops it cleanly; the checkpoint in ./.run/state survives.
 */
import * as path from 'node:path';
import { PROTOCOL_VERSION } from './api/protocol.js';
import { callIpamd } from './ctl/socket-client.js';
import { createLogger } from './observability/logger.js';
import { installSignalHandlers, startDaemon } from './run.js';

const root = path.resolve(process.env.VPC_IPAM_DEV_DIR ?? '.run');
// The AWS provider against its embedded EC2+IMDS emulator, unless a provider is chosen (VPC_IPAM_PROVIDER=sim...).
const providerDefaults: NodeJS.ProcessEnv = process.env.VPC_IPAM_PROVIDER ? {} : { VPC_IPAM_PROVIDER: 'aws', VPC_IPAM_AWS_EMBEDDED_EMULATOR: 'true' };
// Azure without an ARM endpoint: its embedded ARM+IMDS emulator, sized the AKS way (one NIC holds 255 IPs,
// so the AWS default WARM_ENI_TARGET=1 would fill it).
if (process.env.VPC_IPAM_PROVIDER === 'azure' && !process.env.AZURE_ARM_ENDPOINT) {
  Object.assign(providerDefaults, { VPC_IPAM_AZURE_EMBEDDED_EMULATOR: 'true', WARM_POOL_POLICY: 'azure-batch' });
}
// GCP without a Compute endpoint or metadata host: its embedded Compute+metadata emulator (docs/gcp.md).
if (process.env.VPC_IPAM_PROVIDER === 'gcp' && !process.env.GCP_COMPUTE_ENDPOINT && !process.env.GCE_METADATA_HOST) {
  Object.assign(providerDefaults, { VPC_IPAM_GCP_EMBEDDED_EMULATOR: 'true' });
}
const env: NodeJS.ProcessEnv = {
  ...providerDefaults,
  VPC_IPAM_STATE_DIR: path.join(root, 'state'),
  VPC_IPAM_SOCKET: path.join(root, 'ipamd.sock'),
  VPC_IPAM_LOG_FILE: path.join(root, 'ipamd.log'),
  VPC_IPAM_PLUMBING: 'off',
  ...process.env,
};

function stamp(): string {
  return new Date().toISOString().slice(11, 19);
}

async function main(): Promise<void> {
  const log = createLogger(env.VPC_IPAM_LOG_LEVEL ?? 'info', env.VPC_IPAM_LOG_FILE!);
  const running = await startDaemon(env, log).catch((err: Error & { code?: string }) => {
    process.stderr.write(`vpc-ipamd: cannot start: ${err.code ? `${err.code}: ` : ''}${err.message}\n`);
    process.exit(1);
  });
  const { daemon, ports } = running;
  process.stdout.write(
    [
      `vpc-ipamd ${daemon.d.version} on the ${daemon.d.config.provider} cloud: node ${daemon.node.instanceId} (${daemon.node.instanceType}), mode ${daemon.datastore.mode}`,
      `  socket         ${daemon.d.config.socketPath}`,
      `  introspection  http://127.0.0.1:${ports.introspectionPort ?? '-'}/v1/pool`,
      `  metrics        ${ports.metricsPort ? `http://127.0.0.1:${ports.metricsPort}/metrics` : 'off'}`,
      `  logs           ${env.VPC_IPAM_LOG_FILE}`,
      `  checkpoint     ${path.join(daemon.d.config.stateDir, 'ipam.json')}`,
      'Ctrl-C stops it cleanly.',
      '',
    ].join('\n'),
  );
  let last = '';
  const timer = setInterval(() => {
    const line = daemon.statusLine();
    if (line !== last) process.stdout.write(`[${stamp()}] ${line}\n`);
    last = line;
  }, 250);
  const demo = env.VPC_IPAM_DEMO === 'off' ? undefined : startDemo(daemon.d.config.socketPath);
  installSignalHandlers(async () => {
    clearInterval(timer);
    await demo?.stop();
    await running.stop();
    process.stdout.write(`[${stamp()}] stopped; checkpoint kept in ${daemon.d.config.stateDir}\n`);
  }, log);
}

/** A few Pods come and go every couple of seconds, through the real socket. */
function startDemo(socket: string) {
  let stopped = false;
  let n = 0;
  const live: string[] = [];
  const loop = (async () => {
    while (!stopped) {
      await new Promise((r) => setTimeout(r, 1500 + Math.random() * 2000));
      if (stopped) break;
      const add = live.length < 4 || (live.length < 20 && Math.random() < 0.55);
      const containerId = add ? `demo-${process.pid}-${n++}` : live.splice(Math.floor(Math.random() * live.length), 1)[0]!;
      const res = await callIpamd(socket, { v: PROTOCOL_VERSION, op: add ? 'add' : 'del', network: 'vpc-ipam', containerId, ifName: 'eth0' }).catch(() => undefined);
      if (add && res?.ok) live.push(containerId);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

void main();
