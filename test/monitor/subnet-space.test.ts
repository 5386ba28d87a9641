/**
 * Exact space accounting on crafted sim subnets: free addresses, free
 * aligned /28s and the largest free block, checked against hand-computed
 * values and against an independent per-address oracle built in the test.
 */
import { Address4 } from 'ip-address';
import { describe, expect, it } from 'vitest';
import { SimCloud } from '../../providers/sim/cloud.js';
import { analyzeSubnet, maxPrefixBlocks, RESERVED_RULES } from '../../ipamd/monitor/subnet-space.js';

const AWS = { reserved: RESERVED_RULES.aws, prefixLength: 28 };

function cloudWithSubnet(cidr = '10.0.1.0/24', seed = 7) {
  const cloud = new SimCloud({ seed });
  const vpc = cloud.createVpc({ cidr: '10.0.0.0/16' });
  const subnet = cloud.createSubnet({ vpcId: vpc.id, cidr, zone: 'us-east-1a' });
  return { cloud, subnetId: subnet.id };
}

/** Independent oracle: one flag per address, then a scan of every aligned block. */
function oracle(cidr: string, used: string[], first: number, last: number, prefixLength: number) {
  const net = new Address4(cidr);
  const base = Number(net.startAddress().bigInt());
  const size = 2 ** (32 - net.subnetMask);
  const taken = new Uint8Array(size);
  for (let i = 0; i < first; i++) taken[i] = 1;
  for (let i = size - last; i < size; i++) taken[i] = 1;
  for (const u of used) {
    const a = new Address4(u);
    const s = Number(a.startAddress().bigInt()) - base;
    for (let i = 0; i < 2 ** (32 - a.subnetMask); i++) taken[s + i] = 1;
  }
  const free = taken.reduce((n, t) => n + (t ? 0 : 1), 0);
  const bs = 2 ** (32 - prefixLength);
  let blocks = 0;
  for (let s = 0; s < size; s += bs) if (taken.subarray(s, s + bs).every((t) => t === 0)) blocks++;
  let largest = 0;
  for (let bsz = size; bsz >= 1 && largest === 0; bsz /= 2) {
    for (let s = 0; s < size; s += bsz) if (taken.subarray(s, s + bsz).every((t) => t === 0)) largest = bsz;
  }
  return { free, blocks, largest };
}

describe('analyzeSubnet', () => {
  it('counts an empty AWS /24 exactly: 251 free, 14 /28s (first and last touch reserved), largest /26', () => {
    const s = analyzeSubnet('10.0.1.0/24', [], AWS);
    expect(s).toMatchObject({
      size: 256,
      reserved: 5,
      total: 251,
      used: 0,
      free: 251,
      freePrefixBlocks: 14,
      freeRuns: 1,
      outside: 0,
    });
    expect(s.largestFreeBlock).toEqual({ cidr: '10.0.1.64/26', prefixLength: 26, addresses: 64 });
    expect(s.fragmentation).toBe((251 - 14 * 16) / 251);
    expect(maxPrefixBlocks('10.0.0.0/20', AWS)).toBe(256 - 2);
  });

  it('applies the reserved rule per provider and as a parameter', () => {
    expect(analyzeSubnet('10.0.1.0/24', [], { reserved: RESERVED_RULES.azure, prefixLength: 28 }).free).toBe(251);
    const gcp = analyzeSubnet('10.0.1.0/24', [], { reserved: RESERVED_RULES.gcp, prefixLength: 28 });
    expect([gcp.total, gcp.free, gcp.freePrefixBlocks]).toEqual([252, 252, 14]);
    const none = analyzeSubnet('10.0.1.0/24', [], { reserved: { first: 0, last: 0 }, prefixLength: 28 });
    expect([none.total, none.freePrefixBlocks, none.largestFreeBlock?.cidr]).toEqual([256, 16, '10.0.1.0/24']);
  });

  it('finds free addresses but no /28 when one /32 sits in every middle block', () => {
    const { cloud, subnetId } = cloudWithSubnet();
    for (let k = 1; k <= 14; k++) cloud.reserveCidr(subnetId, `10.0.1.${k * 16 + 9}/32`);
    const a = cloud.subnetAllocations(subnetId);
    const s = analyzeSubnet(a.subnet.cidr, a.used, AWS);
    expect(s.free).toBe(251 - 14);
    expect(s.free).toBe(a.subnet.availableAddresses);
    expect(s.freePrefixBlocks).toBe(0);
    expect(cloud.freePrefixBlocks(subnetId)).toBe(0);
    expect(s.largestFreeBlock?.addresses).toBe(8); // .x0/29 before each blocked .x9
    expect(s.fragmentation).toBe(1);
    expect(s.freeRuns).toBe(15);
  });

  it('counts blocks exactly when occupants land in some blocks only', () => {
    const { cloud, subnetId } = cloudWithSubnet();
    // Two /32s in block .32/28, one in .96/28, a /29 in .160/28: three blocks lost.
    for (const c of ['10.0.1.33/32', '10.0.1.47/32', '10.0.1.100/32', '10.0.1.168/29']) cloud.reserveCidr(subnetId, c);
    const a = cloud.subnetAllocations(subnetId);
    const s = analyzeSubnet(a.subnet.cidr, a.used, AWS);
    expect([s.free, s.freePrefixBlocks, s.used]).toEqual([251 - 11, 11, 11]);
    // .64/27 (.64–.95) is the first aligned /27 left whole; .192/27 is the other.
    expect(s.largestFreeBlock).toEqual({ cidr: '10.0.1.64/27', prefixLength: 27, addresses: 32 });
  });

  it('matches the oracle and the sim cloud on randomly fragmented subnets', () => {
    for (const [cidr, count, seed] of [
      ['10.0.1.0/24', 40, 1],
      ['10.0.16.0/20', 300, 2],
      ['10.0.64.0/22', 700, 3],
      ['10.0.2.0/26', 20, 4],
    ] as const) {
      const { cloud, subnetId } = cloudWithSubnet(cidr, seed);
      cloud.occupyRandom(subnetId, count);
      const a = cloud.subnetAllocations(subnetId);
      const s = analyzeSubnet(a.subnet.cidr, a.used, AWS);
      const o = oracle(cidr, a.used, 4, 1, 28);
      expect({ free: s.free, blocks: s.freePrefixBlocks, largest: s.largestFreeBlock?.addresses }).toEqual(o);
      expect(s.free).toBe(a.subnet.availableAddresses);
      expect(s.freePrefixBlocks).toBe(cloud.freePrefixBlocks(subnetId));
      expect(s.used).toBe(count);
    }
  });

  it('tracks prefixes delegated by the cloud and leaves prefix-type reservations free', () => {
    const { cloud, subnetId } = cloudWithSubnet('10.0.4.0/24', 9);
    cloud.reserveCidr(subnetId, '10.0.4.128/25', { type: 'prefix' });
    const inst = cloud.createInstance({ instanceType: 'm5.large', subnetId });
    const eni = inst.interfaces[0]!.id;
    const got = cloud.assignPrefixes(eni, { count: 3 });
    // EC2 takes prefixes from prefix reservations first.
    for (const p of got) expect(new Address4(p).isInSubnet(new Address4('10.0.4.128/25'))).toBe(true);
    const a = cloud.subnetAllocations(subnetId);
    const s = analyzeSubnet(a.subnet.cidr, a.used, AWS);
    const o = oracle('10.0.4.0/24', a.used, 4, 1, 28);
    expect([s.free, s.freePrefixBlocks]).toEqual([o.free, o.blocks]);
    expect(s.free).toBe(251 - 1 - 48);
    expect(s.freePrefixBlocks).toBe(cloud.freePrefixBlocks(subnetId));
  });

  it('counts overlapping and duplicate used entries once, and clips entries outside the subnet', () => {
    const s = analyzeSubnet(
      '10.0.1.0/24',
      ['10.0.1.16/28', '10.0.1.20/32', '10.0.1.20', '10.0.1.0/32', '10.0.0.9/32'],
      AWS,
    );
    expect([s.used, s.free, s.outside]).toEqual([16, 235, 1]);
    const whole = analyzeSubnet('10.0.1.0/24', ['10.0.0.0/16'], AWS);
    expect([whole.free, whole.freePrefixBlocks, whole.largestFreeBlock, whole.fragmentation]).toEqual([
      0,
      0,
      undefined,
      0,
    ]);
  });

  it('rejects bad input with an error that names it', () => {
    expect(() => analyzeSubnet('10.0.1.5/24', [], AWS)).toThrow(/10\.0\.1\.5\/24.*host bits/);
    expect(() => analyzeSubnet('fd00::/64', [], AWS)).toThrow(/subnet CIDR "fd00::\/64" is not an IPv4/);
    expect(() => analyzeSubnet('10.0.1.0/24', ['banana'], AWS)).toThrow(/used CIDR "banana"/);
    expect(() => analyzeSubnet('10.0.1.0/30', [], AWS)).toThrow(/4 addresses, not more than the 5/);
    expect(() => analyzeSubnet('10.0.1.0/24', [], { reserved: { first: -1, last: 0 }, prefixLength: 28 })).toThrow(
      /reserved rule/,
    );
  });
});
