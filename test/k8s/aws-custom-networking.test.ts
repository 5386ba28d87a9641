/**
 * AWS custom networking through the real node composition (`startDaemon`
 * from ipamd/run.ts, what vpc-ipamd runs): with MY_NODE_NAME the node's
 * PodSubnetConfig reaches the AWS provider's subnet choice, so the daemon
 * starts and Pod addresses come from the config's subnet, never from the
 * primary ENI; without Kubernetes, POD_SUBNET_IDS is the source, and with
 * neither the start fails naming the variable. AWS emulator + fake API server.
 */
import { parseConfig } from '../../ipamd/config.js';
import { Address4 } from 'ip-address';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { startDaemon, type RunningDaemon } from '../../ipamd/run.js';
import { AwsEmulator } from '../../providers/aws/emulator/server.js';
import { seedCloud } from '../providers/aws/helpers.js';
import { add, ipOf, startK8sDaemon } from './daemon-harness.js';
import { awsCustomNetworkingEnv, nodeObject, startFakeCluster, type FakeCluster } from './helpers.js';

// The SDK's default credential chain reads these; the emulator checks no signature.
process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
process.env.AWS_SECRET_ACCESS_KEY = 'vpc-ipam-test-secret';

const inSubnet = (ip: string, cidr: string) => new Address4(ip).isInSubnet(new Address4(cidr));

let c: FakeCluster;
const emus: AwsEmulator[] = [];
const running: RunningDaemon[] = [];
beforeAll(async () => {
  c = await startFakeCluster();
});
afterAll(async () => {
  for (const r of running) await r.stop().catch(() => {});
  for (const e of emus) await e.close();
  await c.server.stop();
});

/** An EC2 node (node subnet 10.0.1.0/24, tagged Pod subnet 10.0.2.0/24) plus an untagged subnet for the config. */
async function awsCloud() {
  const { cloud, instanceId } = seedCloud();
  const vpcId = cloud.getInstance(instanceId).vpcId;
  const custom = cloud.createSubnet({ vpcId, cidr: '10.0.5.0/24', zone: 'us-east-1a', tags: { Name: 'pods-custom' } });
  const emu = await AwsEmulator.start({ cloud, instanceId });
  emus.push(emu);
  const env = awsCustomNetworkingEnv(emu.endpoint);
  return { cloud, instanceId, emu, custom, env };
}

describe('AWS custom networking (AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true)', () => {
  it('with MY_NODE_NAME: starts, and Pods get addresses from the PodSubnetConfig subnet with its groups', async () => {
    const { cloud, instanceId, custom, env } = await awsCloud();
    const labels = { 'vpc-ipam.io/pod-subnet-config': 'cfg-aws' };
    c.server.create('nodes', nodeObject('aws-cn-1', { providerID: `aws:///us-east-1a/${instanceId}`, labels }));
    const spec = { subnetIds: [custom.id], securityGroups: ['sg-0pods'] };
    c.server.create('podsubnetconfigs', { metadata: { name: 'cfg-aws' }, spec });
    const d = await startK8sDaemon(c, 'aws-cn-1', { env });
    running.push(d.running);
    const ips = [];
    for (const id of ['c1', 'c2', 'c3']) {
      ips.push(ipOf(await add(d, id, { namespace: 'default', name: id, uid: `u-${id}` })));
    }
    for (const ip of ips) expect(inSubnet(ip, '10.0.5.0/24'), ip).toBe(true);
    const primary = cloud.getInstance(instanceId).interfaces.find((n) => n.attachment?.deviceIndex === 0)!;
    const assignments = d.running.daemon.datastore.list();
    expect(assignments).toHaveLength(3);
    expect(assignments.filter((a) => a.interfaceId === primary.id)).toEqual([]);
    const pods = cloud.getInstance(instanceId).interfaces.filter((n) => n.attachment?.deviceIndex !== 0);
    expect(pods.length).toBeGreaterThan(0);
    for (const n of pods) expect(n).toMatchObject({ subnetId: custom.id, securityGroups: ['sg-0pods'] });
  });

  it('without Kubernetes: POD_SUBNET_IDS is the source; with no source the start names the variable', async () => {
    const { cloud, instanceId, custom, env } = await awsCloud();
    const dir = mkdtempSync(path.join(tmpdir(), 'ipamd-aws-cn-'));
    const base = {
      ...env,
      VPC_IPAM_STATE_DIR: path.join(dir, 'state'),
      VPC_IPAM_SOCKET: path.join(dir, 'ipamd.sock'),
      INTROSPECTION_BIND_ADDRESS: 'off',
      VPC_IPAM_METRICS_ADDRESS: 'off',
      VPC_IPAM_PLUMBING: 'off',
    };
    const refused = /AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: custom networking needs Pod subnets/;
    await expect(startDaemon(parseConfig(base), silentLogger())).rejects.toThrow(refused);
    const r = await startDaemon(parseConfig({ ...base, POD_SUBNET_IDS: custom.id }), silentLogger());
    running.push(r);
    const a = await r.daemon.allocator.add({ network: 'vpc-ipam', containerId: 'c1', ifName: 'eth0' }, {});
    expect(inSubnet(a.assignment.ip, '10.0.5.0/24')).toBe(true);
    const nic = cloud.getInstance(instanceId).interfaces.find((n) => n.id === a.assignment.interfaceId)!;
    expect(nic).toMatchObject({ subnetId: custom.id, attachment: { deviceIndex: 1 } });
  });
});
