/**
 * Custom networking from the AWS VPC CNI's own ENIConfig objects, through the real node composition
 * (`startDaemon`, what vpc-ipamd runs): a cluster moved over from aws-node, with its ENIConfig CRD and one
 * ENIConfig per zone (ENI_CONFIG_LABEL_DEF=topology.kubernetes.io/zone, as the AWS docs set it up). The next
 * ENI takes the ENIConfig's subnet and security groups; an edited ENIConfig applies to the ENI after, while the
 * first keeps its own; the named ENIConfig missing is an error (no ENI, a PoolGrowthFailed Event) retried until it
 * exists; a PodSubnetConfig the node selects wins over its ENIConfig. AWS emulator + fake API server.
 */
import { Address4 } from 'ip-address';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningDaemon } from '../../ipamd/run.js';
import { AwsEmulator } from '../../providers/aws/emulator/server.js';
import { SimCloud } from '../../providers/sim/index.js';
import { eventually } from '../helpers/eventually.js';
import { add, ipOf, startK8sDaemon } from './daemon-harness.js';
import { awsCustomNetworkingEnv, nodeObject, startFakeCluster, type FakeCluster } from './helpers.js';

// The SDK's default credential chain reads these; the emulator checks no signature.
process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
process.env.AWS_SECRET_ACCESS_KEY = 'vpc-ipam-test-secret';

const inSubnet = (ip: string, cidr: string) => new Address4(ip).isInSubnet(new Address4(cidr));
const ZONE = 'topology.kubernetes.io/zone';

let c: FakeCluster;
const emus: AwsEmulator[] = [];
const running: RunningDaemon[] = [];
beforeAll(async () => {
  c = await startFakeCluster({ eniConfigCrd: true });
});
afterAll(async () => {
  for (const r of running) await r.stop().catch(() => {});
  for (const e of emus) await e.close();
  await c.server.stop();
});

/** A t3.small node (3 ENIs of 4 addresses: a second Pod ENI after three Pods) and two subnets for ENIConfigs. */
async function awsNode(name: string) {
  const cloud = new SimCloud({ seed: 7, clock: { now: Date.now }, provider: 'aws' });
  const instanceId = cloud.seedNode({ instanceType: 't3.small', subnetCidr: '10.0.1.0/24', zone: 'us-east-1a' });
  const vpcId = cloud.getInstance(instanceId).vpcId;
  const a = cloud.createSubnet({ vpcId, cidr: '10.0.5.0/24', zone: 'us-east-1a', tags: { Name: 'pods-a' } });
  const b = cloud.createSubnet({ vpcId, cidr: '10.0.6.0/24', zone: 'us-east-1a', tags: { Name: 'pods-b' } });
  const emu = await AwsEmulator.start({ cloud, instanceId });
  emus.push(emu);
  const labels = { [ZONE]: 'us-east-1a' };
  c.server.create('nodes', nodeObject(name, { providerID: `aws:///us-east-1a/${instanceId}`, labels }));
  const env = { ...awsCustomNetworkingEnv(emu.endpoint), ENI_CONFIG_LABEL_DEF: ZONE };
  const podEnis = () => cloud.getInstance(instanceId).interfaces.filter((n) => n.attachment?.deviceIndex !== 0);
  return { cloud, instanceId, a, b, env, podEnis };
}

describe('ENIConfig custom networking (AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true, ENI_CONFIG_LABEL_DEF=zone)', () => {
  it("the next ENI takes the zone's ENIConfig subnet and groups; an edit applies to the ENI after", async () => {
    const n = await awsNode('eni-aws-1');
    c.server.create('eniconfigs', {
      metadata: { name: 'us-east-1a' },
      spec: { subnet: n.a.id, securityGroups: ['sg-0pods-a'] },
    });
    const d = await startK8sDaemon(c, 'eni-aws-1', { env: n.env });
    running.push(d.running);
    const first = ipOf(await add(d, 'c1', { namespace: 'default', name: 'c1', uid: 'u-c1' }));
    expect(inSubnet(first, '10.0.5.0/24'), first).toBe(true);
    expect(n.podEnis()).toHaveLength(1);
    expect(n.podEnis()[0]).toMatchObject({ subnetId: n.a.id, securityGroups: ['sg-0pods-a'] });

    // Edited while the first ENI still has room: nothing is re-created, the next ENI reads the new spec.
    c.server.mutate('eniconfigs', 'us-east-1a', (o) => {
      o.spec = { subnet: n.b.id, securityGroups: ['sg-0pods-b', 'sg-0pods-c'] };
    });
    for (let i = 2; n.podEnis().length < 2 && i <= 6; i++) {
      ipOf(await add(d, `c${i}`, { namespace: 'default', name: `c${i}`, uid: `u-c${i}` }));
    }
    await eventually('a second Pod ENI', () => n.podEnis().length === 2);
    const [older, newer] = n.podEnis().sort((x, y) => x.attachment!.deviceIndex - y.attachment!.deviceIndex);
    expect(older).toMatchObject({ subnetId: n.a.id, securityGroups: ['sg-0pods-a'] });
    expect(newer).toMatchObject({ subnetId: n.b.id, securityGroups: ['sg-0pods-b', 'sg-0pods-c'] });
    const primary = n.cloud.getInstance(n.instanceId).interfaces.find((x) => x.attachment?.deviceIndex === 0)!;
    expect(d.running.daemon.datastore.list().filter((x) => x.interfaceId === primary.id)).toEqual([]);
    // What /v1/eni-configs is given to serve.
    expect(await d.running.k8s!.eniConfigs.view()).toMatchObject({
      name: 'us-east-1a',
      source: 'label',
      key: ZONE,
      spec: { subnet: n.b.id, securityGroups: ['sg-0pods-b', 'sg-0pods-c'] },
    });
    // …and what it serves, in the AWS CNI's shape (a JSON string).
    const res = await fetch(`http://127.0.0.1:${d.running.ports.introspectionPort}/v1/eni-configs`);
    expect([res.status, await res.json()]).toEqual([200, 'us-east-1a']);
  });

  it('the ENIConfig the node names missing: no ENI, an Event naming it, retried until it exists', async () => {
    const n = await awsNode('eni-aws-3');
    c.server.mutate('nodes', 'eni-aws-3', (o) => {
      (o.metadata as { labels: Record<string, string> }).labels['vpc.amazonaws.com/externalEniConfig'] = 'ext-3';
    });
    const d = await startK8sDaemon(c, 'eni-aws-3', { env: n.env });
    running.push(d.running);
    const event = (o: Record<string, unknown>) =>
      o.reason === 'PoolGrowthFailed' && String(o.message).includes('ENIConfig/ext-3 metadata.name: not found');
    await eventually('a PoolGrowthFailed Event naming ENIConfig/ext-3', () => c.server.list('events').some(event));
    expect(n.podEnis()).toEqual([]);
    c.server.create('eniconfigs', { metadata: { name: 'ext-3' }, spec: { subnet: n.b.id } });
    const ip = ipOf(await add(d, 'e1', { namespace: 'default', name: 'e1', uid: 'u-e1' }));
    expect(inSubnet(ip, '10.0.6.0/24'), ip).toBe(true);
  });

  it('a PodSubnetConfig the node selects wins over its ENIConfig', async () => {
    const n = await awsNode('eni-aws-2');
    c.server.mutate('nodes', 'eni-aws-2', (o) => {
      const m = o.metadata as { labels: Record<string, string> };
      m.labels['vpc-ipam.io/pod-subnet-config'] = 'psc-2';
    });
    c.server.create('podsubnetconfigs', { metadata: { name: 'psc-2' }, spec: { subnetIds: [n.a.id] } });
    // The zone's ENIConfig names the other subnet.
    const spec = { subnet: n.b.id };
    const names = c.server.list('eniconfigs').map((o) => (o.metadata as { name: string }).name);
    if (!names.includes('us-east-1a')) c.server.create('eniconfigs', { metadata: { name: 'us-east-1a' }, spec });
    else c.server.mutate('eniconfigs', 'us-east-1a', (o) => void (o.spec = spec));
    const d = await startK8sDaemon(c, 'eni-aws-2', { env: n.env });
    running.push(d.running);
    const ip = ipOf(await add(d, 'p1', { namespace: 'default', name: 'p1', uid: 'u-p1' }));
    expect(inSubnet(ip, '10.0.5.0/24'), ip).toBe(true);
    expect(n.podEnis().map((x) => x.subnetId)).toEqual([n.a.id]);
  });
});
