/**
 * @module an adopting daemon in this process (privileged tests only)
 * The real IpamDaemon as `vpc-ipamd` composes it (composeNode) for VPC_IPAM_PROVIDER=aws with
 * VPC_IPAM_ADOPT_AWS_NODE=true, netlink plumbing on and the plugin socket open, against an AWS emulator
 * this test owns, with our checkpoint in a file so a restart reads what the previous run wrote.
 */
import * as path from 'node:path';
import { composeNode } from '../../../ipamd/compose-node.js';
import { parseConfig } from '../../../ipamd/config.js';
import { IpamDaemon } from '../../../ipamd/daemon.js';
import { JsonFileCheckpointer } from '../../../ipamd/datastore/checkpoint.js';
import { createNetlinkPlumber } from '../../../ipamd/netns/netlink-plumber.js';
import { silentLogger } from '../../../ipamd/observability/logger.js';
import { SystemClock } from '../../../ipamd/util/clock.js';
import type { AwsEmulator } from '../../../providers/aws/emulator/server.js';
import { FAST_ENV } from '../../providers/aws/daemon-helpers.js';

export interface AdoptingDaemon {
  daemon: IpamDaemon;
  socket: string;
  stop(): Promise<void>;
}

export async function startAdoptingDaemon(
  emu: AwsEmulator,
  dir: string,
  env: Record<string, string>,
): Promise<AdoptingDaemon> {
  const socket = path.join(dir, 'ipamd.sock');
  const config = parseConfig({
    VPC_IPAM_PROVIDER: 'aws',
    VPC_IPAM_STATE_DIR: path.join(dir, 'state'),
    VPC_IPAM_SOCKET: socket,
    AWS_EC2_ENDPOINT: emu.endpoint,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: emu.endpoint,
    AWS_REGION: 'us-east-1',
    DISABLE_INTROSPECTION: 'true',
    DISABLE_METRICS: 'true',
    WARM_IP_TARGET: '2',
    ...FAST_ENV,
    ...env,
  });
  const log = silentLogger();
  const plumber = await createNetlinkPlumber({ log });
  const checkpointer = new JsonFileCheckpointer(path.join(config.stateDir, 'ipam.json'));
  const built = await composeNode({ config, clock: new SystemClock(), log, checkpointer, plumber, version: 'test' });
  const daemon = new IpamDaemon(built.deps);
  const stop = async () => {
    await daemon.stop();
    await built.close();
  };
  try {
    await daemon.init();
    await daemon.startLoop();
    await daemon.startServers();
  } catch (err) {
    await daemon.stop().catch(() => {});
    // The plumbing worker shares this thread's filesystem context: left running, the test cannot leave its netns.
    await plumber.close().catch(() => {});
    await built.close();
    throw err;
  }
  return { daemon, socket, stop };
}
