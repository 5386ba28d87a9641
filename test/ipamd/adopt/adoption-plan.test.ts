import { describe, expect, it } from 'vitest';
import { awsHostVethName } from '../../../cni/contract/veth-name.js';
import type { AwsAllocation, AwsCheckpoint } from '../../../ipamd/adopt/aws-checkpoint.js';
import { planAdoption, type AdoptionInput } from '../../../ipamd/adopt/adoption-plan.js';
import type { AdoptionRefusal } from '../../../ipamd/adopt/errors.js';
import { refusedBy } from './refused.js';
import type { RuleView } from '../../../ipamd/netns/policy-rules.js';
import type { NetworkInterface } from '../../../providers/types.js';
import { networkInterface } from '../../helpers/network-interface.js';

const nic = (id: string, deviceIndex: number, blocks: string[], excluded?: string): NetworkInterface =>
  networkInterface(id, deviceIndex, blocks, excluded ? { excluded } : {});
const INTERFACES = [nic('eni-0', 0, ['10.0.0.10/32', '10.0.0.11/32']), nic('eni-1', 1, ['10.0.1.16/28'])];

const alloc = (containerID: string, ip: string, pod: string, ns = 'default'): AwsAllocation => ({
  networkName: 'aws-cni',
  containerID,
  ifName: 'eth0',
  ipv4: ip,
  allocationTimestamp: 1_764_770_000_000_000_000,
  metadata: { k8sPodNamespace: ns, k8sPodName: pod, interfacesCount: 1 },
});
const rule = (priority: number, p: Partial<RuleView>): RuleView => ({
  src: undefined,
  srcLen: 0,
  dst: undefined,
  dstLen: 0,
  table: 254,
  priority,
  fwmark: undefined,
  fwmask: undefined,
  ...p,
});
const veth = (pod: string, ns = 'default') => awsHostVethName('eni', ns, pod);

function input(allocations: AwsAllocation[], over: Partial<AdoptionInput> = {}): AdoptionInput {
  const checkpoint: AwsCheckpoint = { version: 'vpc-cni-ipam/1', allocations };
  return {
    checkpoint,
    interfaces: INTERFACES,
    host: {
      links: ['lo', 'eth0', veth('a'), veth('b')],
      rules: [
        rule(512, { dst: '10.0.0.10', dstLen: 32 }),
        rule(512, { dst: '10.0.1.17', dstLen: 32 }),
        rule(1536, { src: '10.0.1.17', srcLen: 32, dst: '10.0.0.0', dstLen: 16, table: 2 }),
      ],
    },
    existing: [],
    network: 'vpc-ipam',
    vethPrefix: 'eni',
    ...over,
  };
}

const refusedWith = (i: AdoptionInput) => refusedBy(() => planAdoption(i));

describe('adoption plan', () => {
  it('adopts each allocation whose address is on an ENI and whose veth exists, keeping its identity', () => {
    const plan = planAdoption(input([alloc('c-a', '10.0.0.10', 'a'), alloc('c-b', '10.0.1.17', 'b')]));
    expect(plan.stale).toEqual([]);
    expect(plan.adopt).toEqual([
      {
        network: 'vpc-ipam',
        containerId: 'c-a',
        ifName: 'eth0',
        ip: '10.0.0.10',
        interfaceId: 'eni-0',
        blockCidr: '10.0.0.10/32',
        pod: { namespace: 'default', name: 'a' },
        assignedAt: 1_764_770_000_000,
        hostIf: veth('a'),
      },
      expect.objectContaining({ containerId: 'c-b', interfaceId: 'eni-1', blockCidr: '10.0.1.16/28' }),
    ]);
  });

  it('drops allocations whose veth is gone, as the AWS CNI does', () => {
    const plan = planAdoption(input([alloc('c-a', '10.0.0.10', 'a'), alloc('c-gone', '10.0.0.11', 'gone')]));
    expect(plan.adopt.map((a) => a.containerId)).toEqual(['c-a']);
    expect(plan.stale).toEqual([{ entry: 'c-gone/eth0 10.0.0.11', ip: '10.0.0.11' }]);
  });

  it('a second start: what is ours already is left alone', () => {
    const first = planAdoption(input([alloc('c-a', '10.0.0.10', 'a')]));
    const again = planAdoption(input([alloc('c-a', '10.0.0.10', 'a')], { existing: first.adopt }));
    expect(again.adopt).toEqual([]);
    expect(again.already).toEqual(first.adopt);
  });

  const cases: Array<[string, AdoptionRefusal, AwsAllocation[], Partial<AdoptionInput>?]> = [
    [
      'two allocations with one address',
      'duplicate-ip',
      [alloc('c-a', '10.0.0.10', 'a'), alloc('c-b', '10.0.0.10', 'b')],
    ],
    ['one attachment twice', 'duplicate-key', [alloc('c-a', '10.0.0.10', 'a'), alloc('c-a', '10.0.1.17', 'b')]],
    ['an address on no ENI', 'address-not-on-eni', [alloc('c-a', '10.9.9.9', 'a')]],
    [
      'an address on an excluded ENI',
      'address-not-on-eni',
      [alloc('c-a', '10.0.0.10', 'a')],
      { interfaces: [nic('eni-0', 0, ['10.0.0.10/32'], 'tag node.k8s.amazonaws.com/no_manage=true')] },
    ],
    [
      'a from-rule to a table we do not manage',
      'foreign-table',
      [alloc('c-b', '10.0.1.17', 'b')],
      { host: { links: [veth('b')], rules: [rule(1536, { src: '10.0.1.17', srcLen: 32, table: 100 })] } },
    ],
    [
      'a from-rule for a primary-ENI address',
      'foreign-table',
      [alloc('c-a', '10.0.0.10', 'a')],
      { host: { links: [veth('a')], rules: [rule(1536, { src: '10.0.0.10', srcLen: 32, table: 2 })] } },
    ],
    [
      'a to-rule not to main',
      'foreign-table',
      [alloc('c-a', '10.0.0.10', 'a')],
      { host: { links: [veth('a')], rules: [rule(512, { dst: '10.0.0.10', dstLen: 32, table: 7 })] } },
    ],
    ['veths of another prefix than ours', 'veth-prefix', [alloc('c-a', '10.0.0.10', 'a')], { vethPrefix: 'vpc' }],
    ['an IPv6 allocation', 'ipv6', [{ ...alloc('c-a', '', 'a'), ipv4: undefined, ipv6: 'fd00::5' } as AwsAllocation]],
    [
      'a pre-1.12 entry rebuilt from CRI',
      'migrated-from-cri',
      [{ ...alloc('c-a', '10.0.0.10', 'a'), networkName: '_migrated-from-cri', ifName: 'unknown' }],
    ],
    ['an allocation without its Pod', 'unnamed-pod', [{ ...alloc('c-a', '10.0.0.10', 'a'), metadata: {} }]],
  ];
  it.each(cases)('refuses %s, naming the item', (_what, kind, allocations, over) => {
    const e = refusedWith(input(allocations, over));
    expect(e.refusal).toBe(kind);
    expect(e.message).toContain(e.item);
    expect(e.item).toMatch(/^c-[ab]\/(eth0|unknown) /);
  });

  it('refuses an address our checkpoint gives to another attachment', () => {
    const theirs = planAdoption(input([alloc('c-new', '10.0.0.10', 'a')])).adopt;
    const e = refusedWith(input([alloc('c-a', '10.0.0.10', 'a')], { existing: theirs }));
    expect(e.refusal).toBe('address-held');
    expect(e.message).toContain('c-new/eth0');
  });
});
