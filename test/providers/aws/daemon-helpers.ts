/**
 * @module aws daemon test helpers
 * The real IpamDaemon (no socket servers) built exactly as `vpc-ipamd` builds
 * it for VPC_IPAM_PROVIDER=aws (`composeNode`: settings, IMDS
 * discovery, EC2 client, the subnet choice hooks), pointed at an emulator this
 * test owns, so the test can inject faults and read the cloud directly.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../../ipamd/config.js';
import { IpamDaemon } from '../../../ipamd/daemon.js';
import { MemoryCheckpointer } from '../../../ipamd/datastore/checkpoint.js';
import { NoopPlumber } from '../../../ipamd/netns/plumber.js';
import { silentLogger } from '../../../ipamd/observability/logger.js';
import { composeNode } from '../../../ipamd/compose-node.js';
import { SystemClock } from '../../../ipamd/util/clock.js';
import type { AwsProvider } from '../../../providers/aws/aws-provider.js';
import { EMULATE_REALISM, scaleRealism, type Ec2Realism } from '../../../providers/aws/emulator/realism.js';
import { AwsEmulator, type AwsEmulatorOptions } from '../../../providers/aws/emulator/server.js';
import type { SimCloud } from '../../../providers/sim/cloud.js';
import { defineGroups, seedCloud } from './helpers.js';

// The SDK's default credential chain reads these from the process environment.
process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
process.env.AWS_SECRET_ACCESS_KEY = 'vpc-ipam-test-secret';

export interface AwsDaemon {
  daemon: IpamDaemon;
  provider: AwsProvider;
  emu: AwsEmulator;
  cloud: SimCloud;
  checkpointer: MemoryCheckpointer;
  add(id: string): Promise<string>;
  del(id: string): Promise<void>;
  /** Graceful stop of the daemon; the emulator keeps running. */
  stop(): Promise<void>;
}

/** Fast loops for tests: 1 s ticks, no shrink hysteresis, no cooldown, 5 s attach wait. */
export const FAST_ENV: Record<string, string> = {
  VPC_IPAM_RECONCILE_INTERVAL_SECONDS: '1',
  VPC_IPAM_SHRINK_INTERVAL_SECONDS: '0',
  IP_COOLDOWN_PERIOD: '0',
  VPC_IPAM_AWS_ATTACH_WAIT_SECONDS: '5',
  VPC_IPAM_SUBNET_FULL_BACKOFF_SECONDS: '120',
};

/**
 * The emulate mode's realism on the system clock (the daemon's timers run on it), at a tenth of its delays as
 * the e2e process tests run it, so an attach (0.2 s) and IMDS (0.1-0.5 s) fit FAST_ENV's 5 s attach wait.
 */
export const DAEMON_REALISM: Readonly<Ec2Realism> = scaleRealism(EMULATE_REALISM, 0.1);

export interface StartEmulatorOptions extends Partial<AwsEmulatorOptions> {
  instanceType?: string;
  /** Default true: {@link DAEMON_REALISM}, with `realism` over it. `false`: an instantly consistent EC2. */
  strict?: boolean;
  /** Security groups of the node's VPC besides those in use (POD_SECURITY_GROUPS, say): EC2 refuses unknown ones. */
  groups?: string[];
}

/** An emulator for the first (or the given) instance of a cloud, seeded unless given. */
export async function startEmulator(opts: StartEmulatorOptions = {}): Promise<AwsEmulator> {
  const { strict = true, instanceType, groups = [], ...rest } = opts;
  const { cloud, instanceId } = opts.cloud
    ? { cloud: opts.cloud, instanceId: opts.instanceId ?? opts.cloud.describeInstances()[0]!.id }
    : seedCloud({ instanceType });
  const realism = strict ? { ...DAEMON_REALISM, ...opts.realism } : opts.realism;
  const emu = await AwsEmulator.start({ ...rest, cloud, instanceId, ...(realism ? { realism } : {}) });
  defineGroups({ emu, cloud, instanceId }, ...groups);
  return emu;
}

export async function awsDaemon(
  env: Record<string, string>,
  opts: { emu: AwsEmulator; checkpointer?: MemoryCheckpointer },
): Promise<AwsDaemon> {
  const { emu } = opts;
  const config = parseConfig({
    VPC_IPAM_PROVIDER: 'aws',
    VPC_IPAM_STATE_DIR: mkdtempSync(path.join(tmpdir(), 'ipamd-aws-')),
    AWS_EC2_ENDPOINT: emu.endpoint,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: emu.endpoint,
    AWS_REGION: 'us-east-1',
    ...FAST_ENV,
    ...env,
  });
  const clock = new SystemClock();
  const log = silentLogger();
  const checkpointer = opts.checkpointer ?? new MemoryCheckpointer();
  const built = await composeNode({ config, clock, log, checkpointer, plumber: new NoopPlumber(), version: 'test' });
  const daemon = new IpamDaemon(built.deps);
  await daemon.init();
  await daemon.startLoop();
  const key = (id: string) => ({ network: 'vpc-ipam', containerId: id, ifName: 'eth0' });
  return {
    daemon,
    provider: built.provider as AwsProvider,
    emu,
    cloud: emu.cloud,
    checkpointer,
    add: async (id) => (await daemon.allocator.add(key(id), {})).assignment.ip,
    del: async (id) => {
      await daemon.allocator.del(key(id));
    },
    stop: async () => {
      await daemon.stop();
      await built.close?.();
    },
  };
}
