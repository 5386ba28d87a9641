/**
 * The image runs the bundle (ipamd/build/bundle.ts), whose SDKs are cut at build time: GCP protos for the
 * methods we call, EC2 schemas without the unused shapes, Azure's network client with three operation groups.
 * The other process tests run the tsc output, so this one proves the cut SDKs against each cloud's emulator,
 * launched as production launches it (PRODUCTION_LAUNCH: the bundle, the V8 flags, GLIBC_TUNABLES): the pool
 * fills through the SDK's assign calls, and an ADD and a DEL are answered.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type Response } from '../../cni/contract/protocol.js';
import { callIpamd } from '../../cni/contract/socket-client.js';
import { getJson, kill, PRODUCTION_LAUNCH, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';
import { startEmulator, type EmulatorProcess } from '../helpers/emulator-process.js';
import { eventually } from '../helpers/eventually.js';

const FILL = 4;
let daemon: DaemonHandle | undefined;
let emulator: EmulatorProcess | undefined;

afterEach(async () => {
  if (daemon) await kill(daemon, 'SIGTERM');
  await emulator?.close();
  daemon = undefined;
  emulator = undefined;
});

async function ask(h: DaemonHandle, op: 'add' | 'del', containerId: string): Promise<Response> {
  return (await callIpamd(h.socket, {
    v: PROTOCOL_VERSION,
    op,
    network: 'vpc-ipam',
    containerId,
    ifName: 'eth0',
  })) as Response;
}

describe('the bundled daemon against each emulator (the image launch)', () => {
  it.each(['aws', 'azure', 'gcp'])(
    '%s: fills the pool, answers ADD and DEL',
    async (provider) => {
      // Quick clouds: the test proves the SDK calls, not their timing.
      const quick: Record<string, string[]> = {
        aws: ['--latency-scale', '0'],
        azure: ['--operation-ms', '100', '--retry-after-seconds', '1'],
        gcp: ['--operation-ms', '100'],
      };
      emulator = await startEmulator(provider, quick[provider]);
      daemon = await startDaemon(
        { ...emulator.env, VPC_IPAM_PROVIDER: provider, WARM_IP_TARGET: String(FILL) },
        undefined,
        PRODUCTION_LAUNCH,
      );
      const h = daemon;
      await eventually(
        `${provider}: ${FILL} free addresses`,
        async () => (await getJson<{ available: number }>(h, '/v1/pool')).available >= FILL,
        { timeoutMs: 60_000 },
      );
      const add = await ask(h, 'add', `bundle-${provider}`);
      expect(add, JSON.stringify(add)).toMatchObject({ ok: true });
      const del = await ask(h, 'del', `bundle-${provider}`);
      expect(del, JSON.stringify(del)).toMatchObject({ ok: true });
      expect(h.proc.exitCode).toBeNull();
    },
    90_000,
  );
});
