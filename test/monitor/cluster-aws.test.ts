/**
 * The cluster-wide monitor on the AWS provider (real @aws-sdk/client-ec2)
 * against the EC2+IMDS emulator on 127.0.0.1: it serves every subnet of the
 * VPC on its metrics port as leader, and its leader runs the leaked-ENI
 * sweep, which marks and then deletes a detached ENI ipamd left behind.
 */
import { parseClusterMonitorConfig } from '../../ipamd/config/cluster-monitor.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClusterMonitor, type RunningClusterMonitor } from '../../ipamd/monitor/cluster-run.js';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { startEmulatedNode } from '../../providers/aws/emulator/node.js';
import type { AwsEmulator } from '../../providers/aws/emulator/server.js';
import { TAG_CREATED_AT, TAG_INSTANCE_ID } from '../../providers/aws/tags.js';
import { eventually } from '../helpers/eventually.js';

let emu: AwsEmulator;
let running: RunningClusterMonitor;
const savedEnv = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

/** Polls `probe` until it gives a value (the deadline only guards a hung process). */
const until = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> =>
  eventually(what, probe, { timeoutMs: ms, everyMs: 100 });

beforeAll(async () => {
  emu = await startEmulatedNode({ instanceType: 'm5.large', subnetCidr: '10.0.0.0/24', cloudSeed: 8 });
  // The SDK's default credential chain reads the process environment; the emulator checks no signature.
  process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'vpc-ipam-emulator-secret';
  const dir = mkdtempSync(path.join(tmpdir(), 'monitor-aws-'));
  running = await startClusterMonitor(
    parseClusterMonitorConfig({
      VPC_IPAM_PROVIDER: 'aws',
      AWS_EC2_ENDPOINT: emu.endpoint,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: emu.endpoint,
      VPC_IPAM_STATE_DIR: dir,
      VPC_IPAM_MONITOR_INTERVAL_SECONDS: '1',
      VPC_IPAM_MONITOR_ENI_GC_INTERVAL_SECONDS: '1',
      VPC_IPAM_MONITOR_METRICS_ADDRESS: '127.0.0.1:0',
    }),
    { log: silentLogger() },
  );
});

afterAll(async () => {
  await running?.stop();
  await emu?.close();
  if (savedEnv.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
  if (savedEnv.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
});

describe('vpc-ipamd monitor on AWS (emulator)', () => {
  it("serves every subnet of the VPC with the cloud's own free counts", async () => {
    const truth = emu.cloud.describeSubnets();
    const text = await until('both subnets on /metrics', async () => {
      const t = await (await fetch(`http://127.0.0.1:${running.port}/metrics`)).text();
      return truth.every((s) => t.includes(`vpc_ipam_subnet_free_addresses{subnet_id="${s.id}"`)) ? t : undefined;
    });
    expect(text).toContain('vpc_ipam_monitor_leader 1');
    for (const s of truth) {
      expect(text).toContain(
        `vpc_ipam_subnet_free_addresses{subnet_id="${s.id}",zone="${s.zone}",cidr="${s.cidr}"} ${s.availableAddresses}`,
      );
      expect(text).toContain(
        `vpc_ipam_subnet_free_prefix_blocks{subnet_id="${s.id}",zone="${s.zone}",cidr="${s.cidr}"} ` +
          `${emu.cloud.freePrefixBlocks(s.id)}`,
      );
    }
  });

  it('sweeps a leaked ENI: marked on one pass, deleted on a later one', async () => {
    const pod = emu.cloud.describeSubnets().find((s) => s.cidr === '10.0.1.0/24')!;
    const leaked = emu.cloud.createInterface({
      subnetId: pod.id,
      tags: {
        [TAG_INSTANCE_ID]: 'i-0deadbeef0000000',
        [TAG_CREATED_AT]: new Date(Date.now() - 3_600_000).toISOString(),
      },
    });
    const young = emu.cloud.createInterface({
      subnetId: pod.id,
      tags: { [TAG_INSTANCE_ID]: 'i-0deadbeef0000000', [TAG_CREATED_AT]: new Date().toISOString() },
    });
    await until('the leaked ENI to be deleted', () =>
      emu.cloud.describeInterfaces({}).some((n) => n.id === leaked.id) ? undefined : true,
    );
    // An ENI inside the grace period is left alone.
    expect(emu.cloud.describeInterfaces({}).some((n) => n.id === young.id)).toBe(true);
    expect(running.cluster.passes).toBeGreaterThanOrEqual(2);
  });
});
