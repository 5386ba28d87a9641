import { describe, expect, it } from 'vitest';
import { SubnetSpace } from '../../../providers/sim/address-space.js';
import { Prng } from '../../../providers/sim/prng.js';
import { SimCloud } from '../../../providers/sim/cloud.js';

describe('reserved addresses (first four and last of every subnet)', () => {
  it.each([
    ['10.0.0.0/28', 16, 11, 0],
    ['10.0.1.0/24', 256, 251, 14],
    ['10.0.16.0/20', 4096, 4091, 254],
    ['10.1.0.0/16', 65536, 65531, 4094],
  ])('%s: %i addresses, %i available, %i free /28s', (cidr, size, available, blocks) => {
    const sp = new SubnetSpace(cidr);
    expect(sp.block.size).toBe(size);
    expect(sp.freeCount()).toBe(available);
    // The first and the last /28 contain reserved addresses, so they can never be prefixes.
    expect(sp.countFreeBlocks(28)).toBe(blocks);
  });

  it('lists exactly .0-.3 and the broadcast address', () => {
    expect(new SubnetSpace('10.0.1.0/24').cloudReservedCidrs()).toEqual([
      '10.0.1.0/32',
      '10.0.1.1/32',
      '10.0.1.2/32',
      '10.0.1.3/32',
      '10.0.1.255/32',
    ]);
  });

  it('never hands out a reserved address, even when the subnet is drained', () => {
    const cloud = new SimCloud({ seed: 3 });
    const vpc = cloud.createVpc({ cidr: '10.0.0.0/16' });
    const subnet = cloud.createSubnet({ vpcId: vpc.id, cidr: '10.0.0.0/28', zone: 'z' });
    const nic = cloud.createInterface({ subnetId: subnet.id, secondaryIps: { count: 10 } });
    const all = [nic.primaryIp, ...nic.privateIps];
    expect(all).toHaveLength(11);
    expect(new Set(all)).toEqual(
      new Set(['4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14'].map((h) => `10.0.0.${h}`)),
    );
    expect(cloud.getSubnet(subnet.id).availableAddresses).toBe(0);
  });
});

describe('Prng (mulberry32)', () => {
  it('replays the same sequence from the same seed and resumes from its state', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const first = [a.next(), a.next(), a.next()];
    expect([b.next(), b.next(), b.next()]).toEqual(first);
    const resumed = new Prng(a.state);
    expect(resumed.next()).toBe(a.next());
    expect(new Prng(43).next()).not.toBe(new Prng(42).next());
  });

  it('int(n) stays in range', () => {
    const p = new Prng(1);
    for (let i = 0; i < 1000; i++) {
      const v = p.int(7);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(7);
    }
  });
});
