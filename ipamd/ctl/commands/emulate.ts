/**
 * @module ctl emulate
 * `vpc-ipamctl emulate --provider P --listen 127.0.0.1:PORT [...]`: runs a
 * cloud emulator seeded with one node on one loopback listener, prints its
 * endpoint and the node's instance id, and stays up until SIGINT/SIGTERM.
 *
 * One entry of {@link EMULATORS} per cloud; each is imported only when
 * chosen. To add a cloud, add an entry that starts its emulator from the
 * common options and returns what to print and how to stop.
 */
import { readFileSync } from 'node:fs';
import type { IamPolicyDocument } from '../../../providers/aws/emulator/iam-policy.js';
import { readListen } from '../../config.js';
import { IpamError } from '../../../providers/errors.js';
import { parseFlags, UsageError, type CtlCommand } from '../command.js';

export interface EmulateOptions {
  host: string;
  port: number;
  /** --instance-type (each cloud has its own default). */
  instanceType?: string;
  /** --subnet: the node subnet CIDR. */
  subnet?: string;
  /** --pod-subnet: the empty subnet tagged for Pods (default: the next block). */
  podSubnet?: string;
  /** --state FILE: load the cloud from it, save it after every change. */
  state?: string;
  /** --latency-scale: multiply the documented per-call latencies (default 0). */
  latencyScale?: number;
  /** --throttle-ratio: answer this fraction of API calls as throttled (0-1). */
  throttleRatio?: number;
  /** --metadata-delay-ms: how far the metadata service lags the API (aws default: 1-5 s, jittered). */
  metadataDelayMs?: number;
  /** --realism SPEC (aws): `off`, `on`, or key=value,... over the emulate defaults (aws/emulator/realism.ts). */
  realism?: string;
  /** --capacity-wording specific|generic|mixed (aws): how EC2 words "no room". */
  capacityWording?: string;
  /** --iam-policy FILE (aws): the caller's IAM policy document (JSON); requests it does not allow get 403. */
  iamPolicy?: string;
  /** --cluster-name NAME (aws): tag the node as cluster NAME's launch template would (emulator/node.ts). */
  clusterName?: string;
  /** --operation-ms (azure, gcp): how long a NIC write stays in progress (azure 3000, gcp 4000; 0 = instant). */
  operationMs?: number;
  /** --retry-after-seconds (azure): the Retry-After ARM sends while an operation runs (default 10). */
  retryAfterSeconds?: number;
}

/** Realistic by default (docs/sim-cloud.md): what an emulated NIC write costs unless told otherwise. */
const AZURE_OPERATION = { ms: 3_000, retryAfterSeconds: 10 };

export interface RunningEmulator {
  /** Lines for a person: endpoint, instance id, the environment to point ipamd at it. */
  lines: string[];
  /** The same for scripts (`--json`). */
  json: Record<string, unknown>;
  close(): Promise<void>;
}

export const EMULATORS: Record<string, (o: EmulateOptions) => Promise<RunningEmulator>> = {
  aws: async (o) => {
    const { startEmulatedNode } = await import('../../../providers/aws/emulator/node.js');
    const { parseCapacityWording, parseRealism } = await import('../../../providers/aws/emulator/realism.js');
    const realism = parseRealism(o.realism, '--realism');
    if (o.capacityWording) realism.capacityWording = parseCapacityWording(o.capacityWording, '--capacity-wording');
    const iamPolicy = o.iamPolicy ? await readIamPolicy(o.iamPolicy) : undefined;
    const emu = await startEmulatedNode({
      host: o.host,
      port: o.port,
      instanceType: o.instanceType ?? 'm5.large',
      subnetCidr: o.subnet ?? '10.0.0.0/24',
      ...(o.podSubnet ? { podSubnetCidr: o.podSubnet } : {}),
      ...(o.state ? { stateFile: o.state } : {}),
      latencyScale: o.latencyScale ?? 0,
      throttleRatio: o.throttleRatio ?? 0,
      realism,
      ...(o.metadataDelayMs !== undefined ? { imdsDelayMs: o.metadataDelayMs } : {}),
      ...(iamPolicy ? { iamPolicy } : {}),
      ...(o.clusterName ? { clusterName: o.clusterName } : {}),
    });
    return {
      lines: [
        `aws emulator (EC2 Query API + IMDSv2) on ${emu.endpoint}`,
        `  instance  ${emu.instanceId}`,
        `  export AWS_EC2_ENDPOINT=${emu.endpoint}`,
        `  export AWS_EC2_METADATA_SERVICE_ENDPOINT=${emu.endpoint}`,
        '  export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=emulator',
      ],
      json: { provider: 'aws', endpoint: emu.endpoint, instanceId: emu.instanceId },
      close: () => emu.close(),
    };
  },
  azure: async (o) => {
    // The Azure emulator has no latency model or metadata lag: refuse rather than ignore those flags.
    if (o.latencyScale) throw new UsageError('--latency-scale is not supported by the azure emulator');
    if (o.metadataDelayMs) throw new UsageError('--metadata-delay-ms is not supported by the azure emulator');
    const { startEmulatedAzureNode } = await import('../../../providers/azure/emulator/node.js');
    const node = await startEmulatedAzureNode({
      host: o.host,
      port: o.port,
      ...(o.instanceType ? { vmSize: o.instanceType } : {}),
      ...(o.subnet ? { subnetCidr: o.subnet } : {}),
      ...(o.podSubnet ? { podSubnetCidr: o.podSubnet } : {}),
      ...(o.state ? { stateFile: o.state } : {}),
      ...(o.throttleRatio ? { throttleRatio: o.throttleRatio } : {}),
      operationMs: o.operationMs ?? AZURE_OPERATION.ms,
      retryAfterSeconds: o.retryAfterSeconds ?? AZURE_OPERATION.retryAfterSeconds,
    });
    return {
      lines: [
        `azure emulator (ARM Microsoft.Network + IMDS) on ${node.endpoint}`,
        `  vm  ${node.vmName}`,
        ...Object.entries(node.env).map(([k, v]) => `  export ${k}=${v}`),
      ],
      json: { provider: 'azure', endpoint: node.endpoint, instanceId: node.vmName, env: node.env },
      close: () => node.close(),
    };
  },
  gcp: async (o) => {
    // No latency model or metadata lag in the GCE emulator: refuse rather than ignore those flags.
    if (o.latencyScale) throw new UsageError('--latency-scale is not supported by the gcp emulator');
    if (o.metadataDelayMs) throw new UsageError('--metadata-delay-ms is not supported by the gcp emulator');
    const { startEmulatedGceNode } = await import('../../../providers/gcp/emulator/node.js');
    const node = await startEmulatedGceNode({
      host: o.host,
      port: o.port,
      ...(o.instanceType ? { machineType: o.instanceType } : {}),
      ...(o.subnet ? { primaryCidr: o.subnet } : {}),
      ...(o.podSubnet ? { podsCidr: o.podSubnet } : {}),
      ...(o.state ? { stateFile: o.state } : {}),
      ...(o.throttleRatio ? { throttleRatio: o.throttleRatio } : {}),
      ...(o.operationMs !== undefined ? { operations: { durationMs: o.operationMs } } : {}),
    });
    return {
      lines: [
        `gcp emulator (Compute REST + metadata server) on ${node.endpoint}`,
        `  instance  ${node.instanceName}  (--pod-subnet is the Pods secondary range)`,
        ...Object.entries(node.env).map(([k, v]) => `  export ${k}=${v}`),
      ],
      json: { provider: 'gcp', endpoint: node.endpoint, instanceId: node.instanceName, env: node.env },
      close: () => node.close(),
    };
  },
};

/** The policy document in `file`, checked as the emulator will read it, so a mistake is a usage error. */
async function readIamPolicy(file: string): Promise<IamPolicyDocument> {
  const { IamPolicy } = await import('../../../providers/aws/emulator/iam-policy.js');
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as IamPolicyDocument;
    IamPolicy.parse(doc);
    return doc;
  } catch (err) {
    throw new UsageError(`--iam-policy ${file}: ${(err as Error).message}`);
  }
}

function num(flags: Record<string, unknown>, name: string, min: number, max: number): number | undefined {
  const raw = flags[name] as string | undefined;
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a number from ${min} to ${max}, got "${raw}"`);
  return n;
}

export const emulateCommand: CtlCommand = {
  name: 'emulate',
  summary: 'run a local cloud API + metadata emulator with one node (for tests and demos)',
  usage: [
    `vpc-ipamctl emulate --provider ${Object.keys(EMULATORS).join('|')} --listen 127.0.0.1:PORT`,
    '[--instance-type m5.large] [--subnet 10.0.0.0/24] [--pod-subnet CIDR] [--state FILE] [--latency-scale 0]',
    '[--throttle-ratio 0] [--metadata-delay-ms MS] [--realism off|on|KEY=VALUE,...]',
    '[--capacity-wording specific|generic|mixed] [--iam-policy FILE] [--cluster-name NAME] [--operation-ms MS]',
    '[--retry-after-seconds S] [--json]',
  ].join(' '),
  async run(argv) {
    const { flags, rest } = parseFlags(argv, {
      provider: 'string',
      listen: 'string',
      'instance-type': 'string',
      subnet: 'string',
      'pod-subnet': 'string',
      state: 'string',
      'latency-scale': 'string',
      'throttle-ratio': 'string',
      'metadata-delay-ms': 'string',
      realism: 'string',
      'capacity-wording': 'string',
      'iam-policy': 'string',
      'cluster-name': 'string',
      'operation-ms': 'string',
      'retry-after-seconds': 'string',
      json: 'boolean',
    });
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const provider = flags.provider as string | undefined;
    if (!provider) throw new UsageError(`--provider is required (${Object.keys(EMULATORS).join(', ')})`);
    const start = Object.hasOwn(EMULATORS, provider) ? EMULATORS[provider] : undefined;
    if (!start)
      throw new UsageError(`no emulator for provider "${provider}" (available: ${Object.keys(EMULATORS).join(', ')})`);
    let listen: { host: string; port: number } | undefined;
    try {
      listen = readListen({ '--listen': flags.listen as string | undefined }, '--listen', '127.0.0.1:0', true);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (!listen) throw new UsageError('--listen must be an address, not "off"');
    const opts: EmulateOptions = { host: listen.host, port: listen.port };
    if (flags['instance-type']) opts.instanceType = flags['instance-type'] as string;
    if (flags.subnet) opts.subnet = flags.subnet as string;
    if (flags['pod-subnet']) opts.podSubnet = flags['pod-subnet'] as string;
    if (flags.state) opts.state = flags.state as string;
    const scale = num(flags, 'latency-scale', 0, 100);
    if (scale !== undefined) opts.latencyScale = scale;
    const ratio = num(flags, 'throttle-ratio', 0, 1);
    if (ratio !== undefined) opts.throttleRatio = ratio;
    const delay = num(flags, 'metadata-delay-ms', 0, 3_600_000);
    if (delay !== undefined) opts.metadataDelayMs = delay;
    // The EC2 emulator's realism knobs and IAM; no other emulator has them, so they are refused there.
    const awsOnly = {
      realism: 'realism',
      'capacity-wording': 'capacityWording',
      'iam-policy': 'iamPolicy',
      'cluster-name': 'clusterName',
    } as const;
    for (const [f, field] of Object.entries(awsOnly)) {
      if (flags[f] === undefined) continue;
      if (provider !== 'aws') throw new UsageError(`--${f} is only supported by the aws emulator`);
      opts[field] = flags[f] as string;
    }
    // Long-running NIC writes exist in ARM and GCE only.
    const opMs = num(flags, 'operation-ms', 0, 600_000);
    const retryAfter = num(flags, 'retry-after-seconds', 0, 600);
    if (opMs !== undefined && provider !== 'azure' && provider !== 'gcp') {
      throw new UsageError('--operation-ms is only supported by the azure and gcp emulators');
    }
    if (retryAfter !== undefined && provider !== 'azure') {
      throw new UsageError('--retry-after-seconds is only supported by the azure emulator');
    }
    if (opMs !== undefined) opts.operationMs = opMs;
    if (retryAfter !== undefined) opts.retryAfterSeconds = retryAfter;
    let running: RunningEmulator;
    try {
      running = await start(opts);
    } catch (err) {
      // Bad CIDRs and unknown instance types are the caller's mistake: say which.
      if (IpamError.is(err) && (err.code === 'CONFIG_INVALID' || err.code === 'CLOUD_INVALID'))
        throw new UsageError(err.message);
      throw err;
    }
    process.stdout.write(
      flags.json ? `${JSON.stringify(running.json)}\n` : `${running.lines.join('\n')}\nCtrl-C stops it.\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await running.close();
    return 0;
  },
};
