/**
 * Node pool usage (the annotation format the cluster monitor reads, the
 * per-subnet sums) and the monitor's settings: good values parse, bad ones
 * fail naming the variable.
 */
import { describe, expect, it } from 'vitest';
import type { PoolSnapshot } from '../../ipamd/datastore/types.js';
import { aggregateUsage, parseNodePoolUsage, usageFromSnapshot } from '../../ipamd/monitor/pool-usage.js';
import { parseClusterMonitorSettings, parseMonitorSettings } from '../../ipamd/config/monitor.js';

function nic(id: string, subnetId: string, addresses: number, assigned: number, usable = true) {
  return {
    id,
    deviceIndex: 0,
    subnetId,
    primary: false,
    usable,
    createdAt: 0,
    slotsUsed: addresses,
    blocks: addresses,
    addresses,
    assigned,
    cooling: 0,
    freeBlocks: [],
    staleBlocks: [],
    staleAssigned: 0,
  };
}

describe('pool usage', () => {
  it('splits a node snapshot per subnet and charges the warm target once, to the main subnet', () => {
    const s = {
      now: 5,
      mode: 'ip',
      interfaces: [
        nic('eni-0', 'subnet-a', 9, 9),
        nic('eni-1', 'subnet-b', 9, 2),
        nic('eni-2', 'subnet-b', 9, 0),
        nic('eni-3', 'subnet-c', 9, 0, false),
      ],
    } as unknown as PoolSnapshot;
    expect(usageFromSnapshot('n1', s, 9)).toEqual([
      { node: 'n1', subnetId: 'subnet-a', total: 9, assigned: 9, mode: 'ip', observedAt: 5 },
      { node: 'n1', subnetId: 'subnet-b', total: 18, assigned: 2, mode: 'ip', observedAt: 5, warmTarget: 9 },
    ]);
  });

  it('sums nodes per subnet', () => {
    const m = aggregateUsage([
      { node: 'a', subnetId: 's1', total: 10, assigned: 4, warmTarget: 5 },
      { node: 'b', subnetId: 's1', total: 6, assigned: 6 },
      { node: 'a', subnetId: 's2', total: 3, assigned: 0 },
    ]);
    expect(m.get('s1')).toEqual({ total: 16, assigned: 10, held: 6, nodes: 2, warmReserve: 5 });
    expect(m.get('s2')).toEqual({ total: 3, assigned: 0, held: 3, nodes: 1, warmReserve: 0 });
  });

  it('parses the annotation and rejects bad ones naming the node and the field', () => {
    const ok = JSON.stringify([
      { node: 'n1', subnetId: 'subnet-a', total: 9, assigned: 3, warmTarget: 9, mode: 'ip', observedAt: 1 },
    ]);
    expect(parseNodePoolUsage(ok, 'n1')).toHaveLength(1);
    expect(() => parseNodePoolUsage('{', 'n1')).toThrow(/node n1: vpc-ipam\.io\/pool-usage is not JSON/);
    expect(() =>
      parseNodePoolUsage(JSON.stringify([{ node: 'n1', subnetId: 's', total: -1, assigned: 0 }]), 'n1'),
    ).toThrow(/invalid at 0\.total/);
    expect(() =>
      parseNodePoolUsage(JSON.stringify([{ node: 'n1', subnetId: 's', total: 1, assigned: 2 }]), 'n1'),
    ).toThrow(/assigned exceeds total/);
    expect(() =>
      parseNodePoolUsage(JSON.stringify([{ node: 'n2', subnetId: 's', total: 1, assigned: 0 }]), 'n1'),
    ).toThrow(/describes another node \(n2\)/);
    expect(() =>
      parseNodePoolUsage(JSON.stringify([{ node: 'n1', subnetId: 's', total: 1, assigned: 0, extra: 1 }]), 'n1'),
    ).toThrow(/invalid/);
  });
});

describe('monitor settings', () => {
  it('defaults, per-provider reserved rules, and overrides', () => {
    expect(parseMonitorSettings({}, 'aws')).toEqual({
      intervalMs: 60_000,
      windowMs: 3_600_000,
      paceMs: 200,
      reserved: { first: 4, last: 1 },
      prefixLength: 28,
    });
    expect(parseMonitorSettings({}, 'gcp').reserved).toEqual({ first: 2, last: 2 });
    expect(
      parseMonitorSettings({ VPC_IPAM_MONITOR_RESERVED: '0,0', VPC_IPAM_MONITOR_INTERVAL_SECONDS: '0' }, 'gcp'),
    ).toMatchObject({ reserved: { first: 0, last: 0 }, intervalMs: 0 });
    const c = parseClusterMonitorSettings(
      {
        VPC_IPAM_MONITOR_SUBNETS: 'subnet-1, subnet-2',
        VPC_IPAM_MONITOR_SUBNET_TAGS: 'kubernetes.io/role/cni=1,team',
        VPC_IPAM_MONITOR_KUBERNETES: 'true',
      },
      'aws',
    );
    expect(c).toMatchObject({
      subnetIds: ['subnet-1', 'subnet-2'],
      filter: { tags: { 'kubernetes.io/role/cni': '1', team: '*' } },
      kubernetes: true,
      listen: { host: '0.0.0.0', port: 61680 },
    });
  });

  it('rejects bad values naming the variable', () => {
    expect(() => parseMonitorSettings({ VPC_IPAM_MONITOR_INTERVAL_SECONDS: 'often' }, 'aws')).toThrow(
      /VPC_IPAM_MONITOR_INTERVAL_SECONDS: expected a whole number/,
    );
    expect(() => parseMonitorSettings({ VPC_IPAM_MONITOR_WINDOW_SECONDS: '60' }, 'aws')).toThrow(
      /VPC_IPAM_MONITOR_WINDOW_SECONDS: must cover at least two intervals/,
    );
    expect(() => parseMonitorSettings({ VPC_IPAM_MONITOR_RESERVED: '4' }, 'aws')).toThrow(
      /VPC_IPAM_MONITOR_RESERVED: expected FIRST,LAST/,
    );
    expect(() => parseMonitorSettings({ VPC_IPAM_MONITOR_PREFIX_LENGTH: '8' }, 'aws')).toThrow(
      /VPC_IPAM_MONITOR_PREFIX_LENGTH: must be >= 16/,
    );
    expect(() => parseClusterMonitorSettings({ VPC_IPAM_MONITOR_INTERVAL_SECONDS: '0' }, 'aws')).toThrow(
      /VPC_IPAM_MONITOR_INTERVAL_SECONDS: the cluster monitor needs/,
    );
    expect(() => parseClusterMonitorSettings({ VPC_IPAM_MONITOR_SUBNET_TAGS: '=x' }, 'aws')).toThrow(
      /VPC_IPAM_MONITOR_SUBNET_TAGS: empty tag key/,
    );
    expect(() => parseClusterMonitorSettings({ VPC_IPAM_MONITOR_KUBERNETES: 'maybe' }, 'aws')).toThrow(
      /VPC_IPAM_MONITOR_KUBERNETES: expected true or false/,
    );
  });
});
