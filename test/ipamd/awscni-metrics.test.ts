/**
 * The AWS VPC CNI's awscni_* families: the pool gauges as a mapping over a datastore (unmanaged ENIs off the
 * maximum, prefix mode ×16, one series per block), and the counters as the daemon's hooks feed them, read
 * back from a real prom-client registry in the text format Prometheus scrapes.
 */
import * as client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SubnetFullError, ThrottledError } from '../../providers/errors.js';
import type { NetworkInterface } from '../../providers/types.js';
import { parseConfig } from '../../ipamd/config.js';
import { Datastore } from '../../ipamd/datastore/datastore.js';
import { cloudApiName } from '../../ipamd/observability/awscni-api-names.js';
import { AwsCniMetrics, type AwsCniSources } from '../../ipamd/observability/awscni-metrics.js';
import { awsCniPoolValues, type AwsCniPoolInput } from '../../ipamd/observability/awscni-pool.js';
import type { PoolLimits } from '../../ipamd/pool/planner.js';
import { VirtualClock } from '../../ipamd/util/clock.js';
import { networkInterface } from '../helpers/network-interface.js';

const M5_LARGE: PoolLimits = { maxInterfaces: 3, slotsPerInterface: 9, canCreateInterfaces: true };

function nic(id: string, deviceIndex: number, cidrs: string[], excluded?: string): NetworkInterface {
  return networkInterface(id, deviceIndex, cidrs, excluded ? { excluded } : {});
}

const key = (containerId: string) => ({ network: 'vpc-ipam', containerId, ifName: 'eth0' });

/** A node with eth0 (three /32s), eth1 (one /32) and a trunk ENI ipamd leaves alone; three Pods, packed on eth0. */
function ipNode(): Datastore {
  const ds = new Datastore('ip', 30_000);
  ds.upsertInterface(nic('eni-0', 0, ['10.0.0.10/32', '10.0.0.11/32', '10.0.0.12/32']), 0);
  ds.upsertInterface(nic('eni-1', 1, ['10.0.1.10/32']), 0);
  ds.upsertInterface(nic('eni-trunk', 2, [], 'interface type trunk'), 0, false);
  for (const c of ['a', 'b', 'c']) ds.assign(key(c), {}, 1);
  return ds;
}

function input(ds: Datastore, limits: PoolLimits | undefined): AwsCniPoolInput {
  return { snapshot: ds.snapshot(2), interfaces: ds.interfaceList(), assignments: ds.list(), limits };
}

describe('awscni pool gauges over a datastore', () => {
  it('counts managed ENIs, takes unmanaged ones off the maximum and names every block', () => {
    const ds = ipNode();
    const v = awsCniPoolValues(input(ds, M5_LARGE));
    expect(v).toMatchObject({ eniAllocated: 2, eniMax: 2, ipMax: 18, totalIps: 4, assignedIps: 3, totalPrefixes: 0 });
    expect(v.assignedPerEni).toEqual(
      new Map([
        ['eni-0', 3],
        ['eni-1', 0],
      ]),
    );
    expect([...v.assignedPerCidr.keys()].sort()).toEqual([
      '10.0.0.10/32',
      '10.0.0.11/32',
      '10.0.0.12/32',
      '10.0.1.10/32',
    ]);
    expect(v.assignedPerCidr.get('10.0.1.10/32')).toBe(0);
    expect([...v.assignedPerCidr.values()].sort()).toEqual([0, 1, 1, 1]);
    // A released address cools down: still in the total, no longer assigned, and its /32 series reads 0.
    const gone = ds.release(key('a'), 3)!;
    const after = awsCniPoolValues(input(ds, M5_LARGE));
    expect(after).toMatchObject({ totalIps: 4, assignedIps: 2 });
    expect(after.assignedPerCidr.get(gone.blockCidr)).toBe(0);
  });

  it('reads the maxima as 0 until the limits are known, and counts /28 prefixes ×16 in prefix mode', () => {
    expect(awsCniPoolValues(input(ipNode(), undefined))).toMatchObject({ eniMax: 0, ipMax: 0, totalIps: 4 });
    const ds = new Datastore('prefix', 0);
    ds.defaultPrefixSize = 16;
    ds.upsertInterface(nic('eni-0', 0, ['10.0.0.16/28', '10.0.0.32/28']), 0);
    ds.assign(key('a'), {}, 1);
    const v = awsCniPoolValues(input(ds, M5_LARGE));
    expect(v).toMatchObject({ eniAllocated: 1, eniMax: 3, ipMax: 9 * 16 * 3, totalIps: 32, totalPrefixes: 2 });
    expect(new Map([...v.assignedPerCidr])).toEqual(
      new Map([
        ['10.0.0.16/28', 1],
        ['10.0.0.32/28', 0],
      ]),
    );
  });
});

describe('VPC_IPAM_AWSCNI_METRICS', () => {
  it("is off by default, takes Go's ParseBool forms and refuses anything else, naming the variable", () => {
    expect(parseConfig({}).awscniMetrics).toBe(false);
    for (const on of ['true', '1', 't', 'TRUE', 'True'])
      expect(parseConfig({ VPC_IPAM_AWSCNI_METRICS: on }).awscniMetrics).toBe(true);
    expect(parseConfig({ VPC_IPAM_AWSCNI_METRICS: 'F' }).awscniMetrics).toBe(false);
    expect(() => parseConfig({ VPC_IPAM_AWSCNI_METRICS: 'yes' })).toThrow('VPC_IPAM_AWSCNI_METRICS');
  });
});

describe('cloud API names', () => {
  it("names each operation by its cloud's principal request, never another cloud's", () => {
    expect(cloudApiName('aws', 'assignAddresses')).toBe('AssignPrivateIpAddresses');
    expect(cloudApiName('aws', 'createInterface')).toBe('CreateNetworkInterface');
    expect(cloudApiName('azure', 'assignAddresses')).toBe('networkInterfaces.createOrUpdate');
    expect(cloudApiName('gcp', 'unassignAddresses')).toBe('instances.updateNetworkInterface');
    // No request behind it (a table), or the sim cloud: the neutral name.
    expect(cloudApiName('gcp', 'getLimits')).toBe('getLimits');
    expect(cloudApiName('sim', 'assignAddresses')).toBe('assignAddresses');
  });
});

function sources(ds: Datastore, clock: VirtualClock, ready = { now: false }): AwsCniSources {
  return {
    provider: 'aws',
    version: '9.9.9',
    clock,
    pool: () => input(ds, M5_LARGE),
    initialised: () => ready.now,
    connmarkBackend: () => 'iptables',
  };
}

/** The sample lines of one family (or every family with that prefix). */
async function samples(r: client.Registry, family: string): Promise<string[]> {
  const text = await r.metrics();
  return text.split('\n').filter((l) => l.startsWith(family) && !l.startsWith('#'));
}

describe('awscni families on a registry', () => {
  it('serves every unlabelled family at once, with the AWS CNI help texts and types', async () => {
    const r = new client.Registry();
    new AwsCniMetrics(r, sources(ipNode(), new VirtualClock()));
    const text = await r.metrics();
    expect(text).toContain('# HELP awscni_add_ip_req_count The number of add IP address requests');
    expect(text).toContain('# TYPE awscni_aws_api_latency_ms summary');
    expect(text).toContain('# TYPE awscni_ipamd_startup_duration_seconds histogram');
    for (const line of [
      'awscni_add_ip_req_count 0',
      'awscni_eni_allocated 2',
      'awscni_eni_max 2',
      'awscni_ip_max 18',
      'awscni_total_ip_addresses 4',
      'awscni_assigned_ip_addresses 3',
      'awscni_total_ipv4_prefixes 0',
      'awscni_force_removed_enis 0',
      'awscni_force_removed_ips 0',
      'awscni_no_available_ip_addresses 0',
      'awscni_assigned_ip_per_eni{eni="eni-0"} 3',
      'awscni_assigned_ip_per_eni{eni="eni-1"} 0',
      'awscni_assigned_ip_per_cidr{cidr="10.0.0.12/32"} 1',
      'awscni_assigned_ip_per_cidr{cidr="10.0.1.10/32"} 0',
      'awscni_connmark_backend{backend="iptables"} 1',
      'awscni_ipamd_action_inprogress{fn="nodeInit"} 0',
    ])
      expect(text.split('\n'), line).toContain(line);
    expect(text).toMatch(/^awscni_build_info\{version="9\.9\.9",goversion="v\d+\.\d+\.\d+"\} 1$/m);
    // Labelled counters show a series only once something happened, as client_golang's vectors do.
    expect(await samples(r, 'awscni_del_ip_req_count')).toEqual([]);
    expect(await samples(r, 'awscni_aws_api_error_count')).toEqual([]);
  });

  it('counts requests, exhaustion, cloud attempts by API and code, action errors and resync differences', async () => {
    const r = new client.Registry();
    const m = new AwsCniMetrics(r, sources(ipNode(), new VirtualClock()));
    for (const op of ['add', 'add', 'del'] as const)
      m.counted({ v: 1, op, network: 'n', containerId: 'c', ifName: 'e' });
    m.counted({ v: 1, op: 'status' });
    m.error('POOL_EXHAUSTED');
    m.error('NETNS_ERROR');
    m.onStart('assignAddresses');
    expect(await samples(r, 'awscni_ipamd_action_inprogress{fn="increaseDatastorePool"}')).toEqual([
      'awscni_ipamd_action_inprogress{fn="increaseDatastorePool"} 1',
    ]);
    m.onAttempt('assignAddresses', 'ok', 0.25);
    const init = { provider: 'aws', operation: 'AssignPrivateIpAddresses', message: 'm' };
    m.onStart('assignAddresses');
    const full = new SubnetFullError({ ...init, cloudCode: 'InsufficientFreeAddressesInSubnet' });
    m.onAttempt('assignAddresses', full.cloudCode, 0.5, full);
    m.onStart('deleteInterface');
    m.onAttempt('deleteInterface', 'TIMEOUT', 1, new Error('socket hang up'));
    m.onStart('createInterface');
    const throttled = new ThrottledError({ ...init, cloudCode: 'RequestLimitExceeded' });
    m.onAttempt('createInterface', throttled.cloudCode, 0.1, throttled);
    m.actionFailed({ kind: 'deleteInterface', interfaceId: 'eni-1' });
    const added = ['10.0.0.13/32', '10.0.0.14/32'];
    m.resynced({
      addedBlocks: added,
      removedBlocks: [],
      keptInUse: [],
      addedInterfaces: [],
      removedInterfaces: ['eni-9'],
    });
    expect(await samples(r, 'awscni_add_ip_req_count')).toEqual(['awscni_add_ip_req_count 2']);
    expect(await samples(r, 'awscni_del_ip_req_count')).toEqual(['awscni_del_ip_req_count{reason="PodDeleted"} 1']);
    expect(await samples(r, 'awscni_no_available_ip_addresses')).toEqual(['awscni_no_available_ip_addresses 1']);
    expect(await samples(r, 'awscni_ec2api_req_count')).toEqual([
      'awscni_ec2api_req_count{fn="AssignPrivateIpAddresses"} 2',
      'awscni_ec2api_req_count{fn="DeleteNetworkInterface"} 1',
      'awscni_ec2api_req_count{fn="CreateNetworkInterface"} 1',
    ]);
    expect(await samples(r, 'awscni_ec2api_error_count')).toEqual([
      'awscni_ec2api_error_count{fn="AssignPrivateIpAddresses"} 1',
      'awscni_ec2api_error_count{fn="DeleteNetworkInterface"} 1',
      'awscni_ec2api_error_count{fn="CreateNetworkInterface"} 1',
    ]);
    // Only API answers carry an AWS error code; a timeout is no API error (the AWS CNI's awsAPIErrInc).
    expect(await samples(r, 'awscni_aws_api_error_count')).toEqual([
      'awscni_aws_api_error_count{api="AssignPrivateIpAddresses",error="InsufficientFreeAddressesInSubnet"} 1',
      'awscni_aws_api_error_count{api="CreateNetworkInterface",error="RequestLimitExceeded"} 1',
    ]);
    expect(await samples(r, 'awscni_aws_api_latency_ms_')).toEqual([
      'awscni_aws_api_latency_ms_sum{api="AssignPrivateIpAddresses",error="false",status="200"} 250',
      'awscni_aws_api_latency_ms_count{api="AssignPrivateIpAddresses",error="false",status="200"} 1',
      'awscni_aws_api_latency_ms_sum{api="AssignPrivateIpAddresses",error="true",' +
        'status="InsufficientFreeAddressesInSubnet"} 500',
      'awscni_aws_api_latency_ms_count{api="AssignPrivateIpAddresses",error="true",' +
        'status="InsufficientFreeAddressesInSubnet"} 1',
      'awscni_aws_api_latency_ms_sum{api="DeleteNetworkInterface",error="true",status=""} 1000',
      'awscni_aws_api_latency_ms_count{api="DeleteNetworkInterface",error="true",status=""} 1',
      'awscni_aws_api_latency_ms_sum{api="CreateNetworkInterface",error="true",status="RequestLimitExceeded"} 100',
      'awscni_aws_api_latency_ms_count{api="CreateNetworkInterface",error="true",status="RequestLimitExceeded"} 1',
    ]);
    expect(await samples(r, 'awscni_ipamd_error_count')).toEqual([
      'awscni_ipamd_error_count{fn="decreaseIPPoolFreeENIFailed"} 1',
    ]);
    expect(await samples(r, 'awscni_reconcile_count')).toEqual([
      'awscni_reconcile_count{fn="eniReconcileDel"} 1',
      'awscni_reconcile_count{fn="eniDataStorePoolReconcileAdd"} 2',
    ]);
    expect(await samples(r, 'awscni_ipamd_action_inprogress')).toContain(
      'awscni_ipamd_action_inprogress{fn="increaseDatastorePool"} 0',
    );
  });

  it('times node initialisation on the injected clock, by outcome, and start-up once serving', async () => {
    const r = new client.Registry();
    const clock = new VirtualClock(1_000);
    const ready = { now: false };
    const m = new AwsCniMetrics(r, sources(ipNode(), clock, ready));
    let during: string[] = [];
    await m.nodeInit(async () => {
      // A describeNode during init is node initialisation, not the periodic reconcile.
      m.onStart('describeNode');
      during = await samples(r, 'awscni_ipamd_action_inprogress');
      m.onAttempt('describeNode', 'ok', 0.01);
      await clock.advance(2_500);
    });
    expect(during).toContain('awscni_ipamd_action_inprogress{fn="nodeInit"} 1');
    expect(during).toContain('awscni_ipamd_action_inprogress{fn="nodeIPPoolReconcile"} 0');
    await expect(m.nodeInit(() => Promise.reject(new Error('no node')))).rejects.toThrow('no node');
    m.started(4.5, true);
    ready.now = true;
    m.onStart('describeNode');
    expect(await samples(r, 'awscni_ipamd_action_inprogress')).toContain(
      'awscni_ipamd_action_inprogress{fn="nodeIPPoolReconcile"} 1',
    );
    const init = await samples(r, 'awscni_ipamd_node_initialization_duration_seconds_');
    expect(init).toContain('awscni_ipamd_node_initialization_duration_seconds_sum{success="true"} 2.5');
    expect(init).toContain('awscni_ipamd_node_initialization_duration_seconds_count{success="false"} 1');
    expect(await samples(r, 'awscni_ipamd_startup_duration_seconds_sum')).toEqual([
      'awscni_ipamd_startup_duration_seconds_sum{success="true",with_api_server="true",failure_reason=""} 4.5',
    ]);
  });
});
