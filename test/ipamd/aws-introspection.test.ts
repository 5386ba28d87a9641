/**
 * The AWS VPC CNI's introspection paths on a running daemon (virtual clock, sim cloud), read over HTTP as
 * aws-cni-support.sh reads them: key names exactly as Go marshals the v1.23.1 types, ContainerID and IfName
 * scrubbed, values from the configuration in force. The Unix socket listener is in aws-introspection-unix.test.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../ipamd/config.js';
import { awsEniInfos } from '../../ipamd/server/aws-eni-infos.js';
import { awsIpamdEnvSettings, awsNetworkutilsEnvSettings } from '../../ipamd/server/aws-env-settings.js';
import { awsIntrospectionRoutes, eniConfigNameFrom } from '../../ipamd/server/aws-introspection-routes.js';
import { goIPNet, goTime } from '../../ipamd/server/go-json.js';
import { parseCidr } from '../../providers/net/cidr.js';
import { drive, virtualNode, type VirtualNode } from '../helpers/virtual-daemon.js';

const ENI_KEYS = [
  'ID',
  'IsPrimary',
  'IsTrunk',
  'IsEFA',
  'DeviceNumber',
  'AvailableIPv4Cidrs',
  'IPv6Cidrs',
  'IsExcludedForPodIPs',
  'RouteTableID',
  'SubnetID',
];
const ADDRESS_KEYS = ['Address', 'IPAMKey', 'IPAMMetadata', 'AssignedTime', 'UnassignedTime'];
const AWS_PATHS = ['/v1/enis', '/v1/eni-configs', '/v1/networkutils-env-settings', '/v1/ipamd-env-settings'];

type Json = Record<string, unknown>;

describe('AWS VPC CNI introspection paths', () => {
  let n: VirtualNode;
  let base: string;
  const key = (id: string) => ({ network: 'vpc-ipam', containerId: id, ifName: 'eth0' });

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'aws-introspect-'));
    n = await virtualNode({
      VPC_IPAM_SOCKET: path.join(dir, 'ipamd.sock'),
      INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0',
      VPC_IPAM_METRICS_ADDRESS: 'off',
    });
    base = `http://127.0.0.1:${(await n.daemon.startServers()).introspectionPort}`;
    await n.daemon.allocator.add(key('container-held-1'), { namespace: 'shop', name: 'web-0', uid: 'u1' });
    await n.daemon.allocator.add(key('container-gone-2'), {});
    await n.daemon.allocator.del(key('container-gone-2'));
  });
  afterAll(async () => {
    await drive(n.clock, n.daemon.stop());
  });

  const get = async (p: string): Promise<Json> => {
    const res = await fetch(base + p);
    expect(res.status).toBe(200);
    return (await res.json()) as Json;
  };

  it('GET / lists the AWS paths and ours, as AvailableCommands and under paths', async () => {
    const root = await get('/');
    expect(root.AvailableCommands).toEqual(expect.arrayContaining([...AWS_PATHS, '/v1/pool', '/v1/nics', '/healthz']));
    expect(root.paths).toEqual(root.AvailableCommands);
    expect(root.AvailableCommands).not.toContain('/');
    // An unknown path (the AWS CNI's old /v1/pods) still answers 404 with every path, as before.
    const res = await fetch(base + '/v1/pods');
    expect(res.status).toBe(404);
    expect(((await res.json()) as Json).paths).toEqual([...(root.paths as string[]), '/']);
  });

  it('/v1/enis has the ENIInfos shape per network card, with ContainerID and IfName scrubbed', async () => {
    const res = await fetch(base + '/v1/enis');
    const text = await res.text();
    expect(text).not.toContain('container-held-1');
    expect(text).not.toContain('eth0');
    const body = JSON.parse(text) as Record<string, Json>;
    expect(Object.keys(body)).toEqual(['0']);
    const card = body['0']!;
    expect(Object.keys(card)).toEqual(['TotalIPs', 'AssignedIPs', 'ENIs']);
    const snap = n.daemon.snapshot();
    expect(card).toMatchObject({ TotalIPs: snap.total, AssignedIPs: 1 });
    const enis = card.ENIs as Record<string, Json>;
    const primary = n.daemon.datastore.interfaceList().find((i) => i.deviceIndex === 0)!;
    const eni = enis[primary.id]!;
    expect(Object.keys(eni)).toEqual(ENI_KEYS);
    expect(eni).toMatchObject({
      ID: primary.id,
      IsPrimary: true,
      IsTrunk: false,
      IsEFA: false,
      DeviceNumber: 0,
      IPv6Cidrs: {},
      IsExcludedForPodIPs: false,
      RouteTableID: 254,
      SubnetID: primary.subnetId,
    });
    const cidrs = eni.AvailableIPv4Cidrs as Record<string, Json>;
    expect(Object.keys(cidrs).sort()).toEqual(primary.blocks.map((b) => b.cidr).sort());

    const held = n.daemon.datastore.find(key('container-held-1'))!;
    const cidr = cidrs[held.blockCidr]!;
    expect(Object.keys(cidr)).toEqual(['Cidr', 'IPAddresses', 'IsPrefix', 'AddressFamily']);
    expect(cidr).toMatchObject({ Cidr: { IP: held.ip, Mask: '/////w==' }, IsPrefix: false, AddressFamily: '' });
    const addr = (cidr.IPAddresses as Record<string, Json>)[held.ip]!;
    expect(Object.keys(addr)).toEqual(ADDRESS_KEYS);
    expect(addr).toEqual({
      Address: held.ip,
      IPAMKey: { networkName: 'vpc-ipam', containerID: '', ifName: '' },
      IPAMMetadata: { k8sPodNamespace: 'shop', k8sPodName: 'web-0', interfacesCount: 1 },
      AssignedTime: goTime(held.assignedAt),
      UnassignedTime: '0001-01-01T00:00:00Z',
    });
  });

  it('/v1/enis shows a cooling address with the zero key and when it was released', async () => {
    const [cooling] = n.daemon.datastore.coolingEntries(n.clock.now());
    expect(cooling).toBeDefined();
    const body = (await get('/v1/enis')) as Record<string, { ENIs: Record<string, Json> }>;
    const cidrs = Object.values(body['0']!.ENIs).flatMap((e) => Object.values(e.AvailableIPv4Cidrs as Json));
    const entry = cidrs
      .map((c) => (c as { IPAddresses: Record<string, Json> }).IPAddresses[cooling!.ip])
      .find((e) => e !== undefined);
    expect(entry).toEqual({
      Address: cooling!.ip,
      IPAMKey: { networkName: '', containerID: '', ifName: '' },
      IPAMMetadata: {},
      AssignedTime: '0001-01-01T00:00:00Z',
      UnassignedTime: goTime(cooling!.until - 30_000),
    });
  });

  it('/v1/networkutils-env-settings echoes the AWS keys with the values in force, as Go types', async () => {
    expect(await get('/v1/networkutils-env-settings')).toEqual({
      AWS_EXTERNAL_SERVICE_CIDRS: null,
      AWS_VPC_CNI_NODE_PORT_SUPPORT: true,
      AWS_VPC_ENI_MTU: 9001,
      AWS_VPC_K8S_CNI_CONNMARK: 128,
      AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: null,
      AWS_VPC_K8S_CNI_EXTERNALSNAT: false,
      AWS_VPC_K8S_CNI_RANDOMIZESNAT: 2,
      AWS_VPC_K8S_CNI_VETHPREFIX: 'vpc',
    });
  });

  it('/v1/ipamd-env-settings echoes the AWS keys with the values in force', async () => {
    expect(await get('/v1/ipamd-env-settings')).toEqual({
      AWS_MANAGE_ENIS_NON_SCHEDULABLE: true,
      AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: false,
      ENABLE_SUBNET_DISCOVERY: false,
      WARM_ENI_TARGET: 1,
      WARM_IP_TARGET: 0,
    });
  });

  it('/v1/eni-configs answers 404 as the AWS CNI does without the Node, else the JSON name', async () => {
    const res = await fetch(base + '/v1/eni-configs');
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('Not Found\n');
    const routes = awsIntrospectionRoutes({
      datastore: n.daemon.datastore,
      d: { ...n.daemon.d, eniConfigName: eniConfigNameFrom(async () => ({ name: 'us-west-2a', source: 'label' })) },
    });
    expect(await routes['/v1/eni-configs']!()).toMatchObject({ body: '"us-west-2a"' });
    // The Node could not be read: the view's name is empty, and the answer is the AWS CNI's 404.
    const unread = awsIntrospectionRoutes({
      datastore: n.daemon.datastore,
      d: { ...n.daemon.d, eniConfigName: eniConfigNameFrom(async () => ({ name: '', error: 'cannot read Node' })) },
    });
    expect(await unread['/v1/eni-configs']!()).toMatchObject({ status: 404, body: 'Not Found\n' });
  });
});

describe('AWS env settings from a non-default configuration', () => {
  it('networkutils: every value follows its variable', () => {
    const c = parseConfig({
      AWS_VPC_CNI_NODE_PORT_SUPPORT: 'false',
      AWS_VPC_ENI_MTU: '1500',
      AWS_VPC_K8S_CNI_CONNMARK: '0x100',
      AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '10.9.0.0/16,192.168.0.0/24',
      AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true',
      AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'hashrandom',
      AWS_VPC_K8S_CNI_VETHPREFIX: 'eni',
    });
    expect(awsNetworkutilsEnvSettings(c)).toMatchObject({
      AWS_VPC_CNI_NODE_PORT_SUPPORT: false,
      AWS_VPC_ENI_MTU: 1500,
      AWS_VPC_K8S_CNI_CONNMARK: 256,
      AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: ['10.9.0.0/16', '192.168.0.0/24'],
      AWS_VPC_K8S_CNI_EXTERNALSNAT: true,
      AWS_VPC_K8S_CNI_RANDOMIZESNAT: 1,
      AWS_VPC_K8S_CNI_VETHPREFIX: 'eni',
    });
    expect(awsNetworkutilsEnvSettings(parseConfig({ AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'none' }))).toMatchObject({
      AWS_VPC_K8S_CNI_RANDOMIZESNAT: 0,
    });
  });

  it('ipamd: warm targets, custom networking and subnet discovery (aws provider only)', () => {
    const c = parseConfig({ WARM_IP_TARGET: '5', WARM_ENI_TARGET: '0', AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true' });
    expect(awsIpamdEnvSettings(c)).toMatchObject({
      AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: true,
      WARM_ENI_TARGET: 0,
      WARM_IP_TARGET: 5,
    });
    const aws = parseConfig({ VPC_IPAM_PROVIDER: 'aws', AWS_REGION: 'us-east-1', ENABLE_SUBNET_DISCOVERY: 'true' });
    expect(awsIpamdEnvSettings(aws).ENABLE_SUBNET_DISCOVERY).toBe(true);
  });
});

describe('Go encodings and the ENIInfos builder', () => {
  it('times as Go RFC3339Nano in UTC, the zero time when unset', () => {
    expect(goTime(1_700_000_000_000)).toBe('2023-11-14T22:13:20Z');
    expect(goTime(1_700_000_000_120)).toBe('2023-11-14T22:13:20.12Z');
    expect(goTime(1_700_000_000_007)).toBe('2023-11-14T22:13:20.007Z');
    expect(goTime(undefined)).toBe('0001-01-01T00:00:00Z');
  });

  it('net.IPNet with a base64 mask of the family width', () => {
    expect(goIPNet(parseCidr('10.0.1.16/28'))).toEqual({ IP: '10.0.1.16', Mask: '////8A==' });
    expect(goIPNet(parseCidr('10.0.1.7/32'))).toEqual({ IP: '10.0.1.7', Mask: '/////w==' });
    expect(goIPNet(parseCidr('2001:db8::/80')).Mask).toBe(
      Buffer.from('ffffffffffffffffffff000000000000', 'hex').toString('base64'),
    );
  });

  it('prefixes are IsPrefix, IPv6 blocks go to IPv6Cidrs, excluded interfaces are left out', () => {
    const nic = {
      id: 'eni-2',
      deviceIndex: 2,
      mac: '02:00:00:00:00:02',
      subnetId: 'subnet-b',
      subnetCidr: '10.0.1.0/24',
      primaryIp: '10.0.1.4',
      securityGroups: [],
      tags: {},
      usable: false,
      blocks: [
        { cidr: '10.0.1.16/28', kind: 'prefix' as const },
        { cidr: '2001:db8::/80', kind: 'prefix' as const },
      ],
    };
    const trunk = { ...nic, id: 'eni-trunk', deviceIndex: 3, excluded: 'interface type trunk', usable: false };
    const out = awsEniInfos({ interfaces: [nic, trunk], assignments: [], cooling: [], cooldownMs: 30_000 });
    const eni = out['0']!.ENIs['eni-2']!;
    expect(Object.keys(out['0']!.ENIs)).toEqual(['eni-2']);
    expect(out['0']!.TotalIPs).toBe(16);
    expect(eni).toMatchObject({ IsExcludedForPodIPs: true, RouteTableID: 3, IsPrimary: false, DeviceNumber: 2 });
    expect(eni.AvailableIPv4Cidrs['10.0.1.16/28']).toMatchObject({ IsPrefix: true, IPAddresses: {} });
    expect(Object.keys(eni.IPv6Cidrs)).toEqual(['2001:db8::/80']);
  });
});
