/**
 * The two ways to run ipamd on Azure without a cloud: the standalone
 * emulator (`vpc-ipamctl emulate --provider azure`) with a daemon pointed at
 * it through the printed variables, and the daemon's embedded emulator
 * (`VPC_IPAM_AZURE_EMBEDDED_EMULATOR=true`, what `npm start` uses), whose
 * cloud survives a restart in the state dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { getJson, kill, REPO, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';
import { until } from '../helpers/eventually.js';

const CTL = path.join(REPO, 'dist/ipamd/ctl/main.js');
const daemons: DaemonHandle[] = [];
const procs: ChildProcess[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) await kill(d, 'SIGKILL');
  for (const p of procs.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
});

/** Polls `read` until `holds` (the deadline only guards a hang, under the test's own timeout). */
const pool = (h: DaemonHandle) => getJson<{ total: number }>(h, '/v1/pool');
interface NicView {
  id: string;
  deviceIndex: number;
  subnetId: string;
  excluded?: string;
  usable: boolean;
  blocks: Array<{ cidr: string }>;
}
const nics = (h: DaemonHandle) => getJson<{ interfaces: NicView[] }>(h, '/v1/nics');

describe('Azure without a cloud', () => {
  it('vpc-ipamctl emulate --provider azure serves a daemon configured from its --json output', async () => {
    expect(existsSync(CTL)).toBe(true);
    const emu = spawn(
      process.execPath,
      [
        CTL,
        'emulate',
        '--provider',
        'azure',
        '--listen',
        '127.0.0.1:0',
        '--pod-subnet',
        '10.240.16.0/24',
        '--operation-ms',
        '20',
        '--retry-after-seconds',
        '0',
        '--json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    procs.push(emu);
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      emu.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      emu.once('exit', (code) => reject(new Error(`emulate exited with ${code}`)));
    });
    const info = JSON.parse(line) as {
      provider: string;
      endpoint: string;
      instanceId: string;
      env: Record<string, string>;
    };
    expect(info).toMatchObject({ provider: 'azure', instanceId: 'aks-nodepool1-vm0' });
    expect(info.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const h = await startDaemon({ ...info.env, WARM_IP_TARGET: '4' });
    daemons.push(h);
    await until(
      () => pool(h),
      (p) => p.total === 4,
    );
    const { interfaces } = await nics(h);
    // The emulated VM has its Pod NIC (created with the VM); AZURE_POD_SUBNET_ID from the emulator points at it.
    const [primary, pod] = interfaces.sort((a, b) => a.deviceIndex - b.deviceIndex);
    expect(primary).toMatchObject({ deviceIndex: 0, usable: false, blocks: [] });
    expect(primary!.excluded).toMatch(/Pod NIC aks-nodepool1-vm0-pod-nic/);
    expect(pod).toMatchObject({ deviceIndex: 1, usable: true, subnetId: info.env.AZURE_POD_SUBNET_ID });
    expect(pod!.blocks).toHaveLength(4);
    expect(pod!.blocks.every((b) => b.cidr.startsWith('10.240.16.'))).toBe(true);
    emu.kill('SIGTERM');
    expect(await new Promise((r) => emu.once('exit', r))).toBe(0);
  });

  it(
    'VPC_IPAM_AZURE_EMBEDDED_EMULATOR=true runs the emulator in the daemon and keeps its cloud across ' + 'restarts',
    async () => {
      // With a Pod subnet: the seeded VM gets its second NIC there, and Pod addresses go on it.
      const embedded = {
        VPC_IPAM_PROVIDER: 'azure',
        VPC_IPAM_AZURE_EMBEDDED_EMULATOR: 'true',
        VPC_IPAM_AZURE_EMULATOR_POD_SUBNET_CIDR: '10.240.16.0/24',
      };
      let h = await startDaemon({ ...embedded, WARM_IP_TARGET: '3' });
      daemons.push(h);
      await until(
        () => pool(h),
        (p) => p.total === 3,
      );
      const before = (await nics(h)).interfaces;
      expect(before.find((i) => i.deviceIndex === 1)!.blocks.every((b) => b.cidr.startsWith('10.240.16.'))).toBe(true);
      expect(existsSync(path.join(h.dir, 'state', 'azure-cloud.json'))).toBe(true);
      await kill(h, 'SIGTERM');
      h = await startDaemon({}, h);
      daemons.push(h);
      const after = (await nics(h)).interfaces;
      expect(after.map((i) => [i.id, i.blocks.map((b) => b.cidr).sort()])).toEqual(
        before.map((i) => [i.id, i.blocks.map((b) => b.cidr).sort()]),
      );
    },
  );

  it('rejects a bad embedded-emulator setting by name', async () => {
    await expect(
      startDaemon({ VPC_IPAM_PROVIDER: 'azure', VPC_IPAM_AZURE_EMBEDDED_EMULATOR: 'maybe' }),
    ).rejects.toThrow(/VPC_IPAM_AZURE_EMBEDDED_EMULATOR/);
    await expect(startDaemon({ VPC_IPAM_PROVIDER: 'azure', AZURE_ARM_ENDPOINT: 'http://10.1.2.3:80' })).rejects.toThrow(
      /AZURE_ARM_ENDPOINT/,
    );
    const embedded = { VPC_IPAM_PROVIDER: 'azure', VPC_IPAM_AZURE_EMBEDDED_EMULATOR: 'true' };
    const slow = { ...embedded, VPC_IPAM_AZURE_EMULATOR_RETRY_AFTER_SECONDS: 'ten' };
    await expect(startDaemon(slow)).rejects.toThrow(/VPC_IPAM_AZURE_EMULATOR_RETRY_AFTER_SECONDS/);
  });
});
