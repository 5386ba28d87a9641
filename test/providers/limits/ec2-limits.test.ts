import { describe, expect, it } from 'vitest';
import { ec2InstanceTypes, ec2MaxPods, lookupEc2Limits } from '../../../providers/limits/ec2-limits.js';
import { render, toRow } from '../../../providers/limits/generate.js';

describe('lookupEc2Limits', () => {
  it.each([
    // type, maxInterfaces, ipv4PerInterface, supportsPrefixes
    ['t3.medium', 3, 6, true],
    ['m5.large', 3, 10, true],
    ['m5.xlarge', 4, 15, true],
    ['c5.4xlarge', 8, 30, true],
    ['m5.24xlarge', 15, 50, true],
    ['t2.micro', 2, 2, false], // Xen: no prefix delegation
    ['m5.metal', 15, 50, true], // bare metal: no hypervisor, but prefixes work
    ['p4d.24xlarge', 15, 50, true], // 4 network cards: only the default card counts
  ] as const)('%s: %i interfaces × %i IPv4, prefixes %s', (type, nics, ips, pd) => {
    const l = lookupEc2Limits(type);
    expect(l).toMatchObject({
      instanceType: type,
      maxInterfaces: nics,
      ipv4PerInterface: ips,
      supportsPrefixes: pd,
      supportsIps: true,
      prefixLength: 28,
      canCreateInterfaces: true,
    });
  });

  it('returns undefined for unknown types, including Object.prototype keys', () => {
    expect(lookupEc2Limits('m99.huge')).toBeUndefined();
    expect(lookupEc2Limits('constructor')).toBeUndefined();
    expect(lookupEc2Limits('__proto__')).toBeUndefined();
  });

  it('returns copies', () => {
    const a = lookupEc2Limits('m5.large')!;
    a.maxInterfaces = 99;
    expect(lookupEc2Limits('m5.large')!.maxInterfaces).toBe(3);
  });

  it('holds the whole generated table', () => {
    expect(ec2InstanceTypes()).toHaveLength(1373);
  });
});

describe('ec2MaxPods (amazon-eks-ami max-pods-calculator.sh)', () => {
  const L = (t: string) => lookupEc2Limits(t)!;
  it.each([
    // type, options, expected
    ['m5.large', {}, 29],
    ['m5.xlarge', {}, 58],
    ['t3.medium', {}, 17],
    ['m5.large', { prefixDelegation: true }, 110], // 3*9*16+2 = 434, capped at 110 (2 vCPUs)
    ['m5.large', { prefixDelegation: true, showMaxAllowed: true }, 434],
    ['c5.4xlarge', { showMaxAllowed: true }, 234], // = eni-max-pods.txt
    ['c5.4xlarge', {}, 110], // 16 vCPUs: the recommended value is capped
    ['m5.24xlarge', { showMaxAllowed: true }, 737],
    ['m5.24xlarge', {}, 250], // 96 vCPUs
    ['m5.large', { customNetworking: true }, 20], // 2*9+2
    ['m5.large', { maxEnis: 1 }, 11],
    ['t2.micro', { prefixDelegation: true }, 4], // Xen: PD ignored, 2*1+2
  ] as const)('%s %j → %i', (type, opts, want) => {
    expect(ec2MaxPods(L(type), opts)).toBe(want);
  });
});

describe('generator', () => {
  it('uses the default network card, counts the cards and normalises the hypervisor', () => {
    const row = toRow('x.big', {
      vcpus: 128,
      hypervisor: null,
      bareMetal: true,
      maxEnis: 16,
      ipv4PerEni: 50,
      networkCards: [
        { index: 0, maxEnis: 8 },
        { index: 1, maxEnis: 8 },
      ],
      defaultNetworkCardIndex: 0,
    });
    expect(row).toEqual([8, 50, 128, null, true, 2]);
  });

  it('keeps the card count of multi-card types (p4d.24xlarge: 4 cards of 15)', () => {
    expect(lookupEc2Limits('p4d.24xlarge')).toMatchObject({ maxInterfaces: 15, networkCards: 4 });
    expect(lookupEc2Limits('m5.large')).toMatchObject({ maxInterfaces: 3, networkCards: 1 });
    const card = (maxEnis: number, index: number) => ({ index, maxEnis });
    const uneven = { vcpus: 8, hypervisor: 'nitro', bareMetal: false, maxEnis: 6, ipv4PerEni: 10 };
    const odd = { ...uneven, networkCards: [card(4, 0), card(2, 1)], defaultNetworkCardIndex: 0 };
    expect(() => toRow('odd', odd)).toThrow(/cards differ/);
  });

  it('rejects a type without a usable limit', () => {
    expect(() =>
      toRow('bad', {
        vcpus: 1,
        hypervisor: 'nitro',
        bareMetal: false,
        maxEnis: 0,
        ipv4PerEni: 2,
        networkCards: [],
        defaultNetworkCardIndex: 0,
      }),
    ).toThrow(/interface limit/);
  });

  it('renders one line per type, sorted, as valid JSON', () => {
    const text = render({
      source: 's',
      columns: ['a'],
      types: { 'b.x': [1, 2, 3, 'nitro', false], 'a.x': [4, 5, 6, null, true] },
    });
    const lines = text.split('\n');
    expect(lines.filter((l) => l.includes('.x'))).toEqual([
      '    "a.x": [4,5,6,null,true],',
      '    "b.x": [1,2,3,"nitro",false]',
    ]);
    expect(JSON.parse(text).types['a.x']).toEqual([4, 5, 6, null, true]);
  });
});
