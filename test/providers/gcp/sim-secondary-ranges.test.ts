/**
 * The SimCloud's GCE additions: secondary ranges, alias ranges carved from
 * them (replace-the-list semantics, atomic), GCE's reserved addresses, and
 * persistence (old states without the new fields still load).
 */
import { describe, expect, it } from 'vitest';
import { IpamError, CloudError } from '../../../providers/errors.js';
import { GCE_RESERVED, newGceCloud, seedGceNode } from '../../../providers/gcp/emulator/index.js';
import { SimCloud } from '../../../providers/sim/index.js';

function failure(fn: () => unknown): { code: string; cloudCode?: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (!IpamError.is(err)) throw err;
    return { code: err.code, ...(CloudError.isCloud(err) ? { cloudCode: err.cloudCode } : {}), message: err.message };
  }
  throw new Error('expected a failure');
}

function node(podsCidr = '10.4.0.0/24', seed = 3) {
  const cloud = newGceCloud({ seed });
  const id = seedGceNode(cloud, { podsCidr, extraRanges: { services: '10.8.0.0/20' } });
  const inst = cloud.getInstance(id);
  const nic = inst.interfaces[0]!;
  const [pods, services] = ['pods', 'services'].map((n) =>
    cloud.describeSecondaryRanges(nic.subnetId).find((r) => r.name === n)!,
  );
  return { cloud, id, nic, subnetId: nic.subnetId, pods: pods!, services: services! };
}

describe('secondary ranges', () => {
  it('are listed per subnet, hold no reserved addresses and count their free space', () => {
    const { cloud, subnetId, pods } = node();
    expect(cloud.describeSecondaryRanges(subnetId).map((r) => [r.name, r.cidr])).toEqual([
      ['pods', '10.4.0.0/24'],
      ['services', '10.8.0.0/20'],
    ]);
    expect(cloud.secondaryRangeAllocations(pods.id)).toMatchObject({ used: [], free: 256 });
    expect(cloud.freePrefixBlocks(pods.id, 28)).toBe(16);
    // GCE's primary range: first two and last two reserved, and nic0's address in use.
    expect(cloud.getSubnet(subnetId).availableAddresses).toBe(4096 - 4 - 1);
    expect(cloud.subnetAllocations(subnetId).used).toEqual(
      expect.arrayContaining(['10.128.0.0/32', '10.128.0.1/32', '10.128.15.254/32', '10.128.15.255/32']),
    );
  });

  it('refuse bad names, duplicates, sizes and overlaps, changing nothing', () => {
    const { cloud, subnetId } = node();
    const before = cloud.revision;
    expect(failure(() => cloud.createSecondaryRange({ subnetId, name: 'Pods!', cidr: '10.9.0.0/24' })).message).toMatch(
      /Invalid secondary range name/,
    );
    expect(failure(() => cloud.createSecondaryRange({ subnetId, name: 'pods', cidr: '10.9.0.0/24' })).message).toMatch(
      /already has a secondary range named 'pods'/,
    );
    expect(failure(() => cloud.createSecondaryRange({ subnetId, name: 'huge', cidr: '10.0.0.0/8' })).message).toMatch(
      /from \/12 to \/29/,
    );
    expect(failure(() => cloud.createSecondaryRange({ subnetId, name: 'x', cidr: '10.4.0.128/25' })).message).toMatch(
      /conflicts with secondary range 'pods'/,
    );
    expect(failure(() => cloud.createSecondaryRange({ subnetId, name: 'x', cidr: '10.128.8.0/21' })).message).toMatch(
      /conflicts with subnet/,
    );
    expect(cloud.revision).toBe(before);
  });
});

describe('replaceAliasRanges', () => {
  it('adds cloud-placed aligned blocks and explicit CIDRs from the named ranges', () => {
    const { cloud, nic, pods } = node();
    const r = cloud.replaceAliasRanges(nic.id, [
      { prefixLength: 28, rangeName: 'pods' },
      { prefixLength: 28, rangeName: 'pods' },
      { cidr: '10.8.0.16/28', rangeName: 'services' },
    ]);
    expect(r.added).toHaveLength(3);
    expect(r.removed).toEqual([]);
    for (const c of r.added.filter((c) => c.startsWith('10.4.'))) expect(c).toMatch(/^10\.4\.0\.(\d+)\/28$/);
    expect(cloud.getInterface(nic.id).prefixes).toEqual(r.prefixes);
    expect(cloud.secondaryRangeAllocations(pods.id).used).toEqual(r.added.filter((c) => c.startsWith('10.4.')));
    expect(cloud.secondaryRangeAllocations(pods.id).free).toBe(256 - 32);
    // Alias ranges from secondary ranges do not count against the primary range.
    expect(cloud.getSubnet(nic.subnetId).availableAddresses).toBe(4096 - 4 - 1);
  });

  it('replaces the list: what is not named again is given back, an empty list removes everything', () => {
    const { cloud, nic, pods } = node();
    const { added } = cloud.replaceAliasRanges(nic.id, [
      { prefixLength: 28, rangeName: 'pods' },
      { prefixLength: 28, rangeName: 'pods' },
    ]);
    const [keep, drop] = added as [string, string];
    const r = cloud.replaceAliasRanges(nic.id, [{ cidr: keep, rangeName: 'pods' }]);
    expect(r).toEqual({ prefixes: [keep], added: [], removed: [drop] });
    expect(cloud.secondaryRangeAllocations(pods.id).free).toBe(256 - 16);
    expect(cloud.replaceAliasRanges(nic.id, [])).toEqual({ prefixes: [], added: [], removed: [keep] });
    expect(cloud.secondaryRangeAllocations(pods.id)).toMatchObject({ used: [], free: 256 });
  });

  it('is all or nothing: an exhausted range fails the whole change', () => {
    const { cloud, nic, pods } = node('10.4.0.0/26'); // four /28s
    cloud.replaceAliasRanges(nic.id, [{ prefixLength: 28, rangeName: 'pods' }]);
    const before = cloud.getInterface(nic.id).prefixes;
    const f = failure(() =>
      cloud.replaceAliasRanges(nic.id, [
        { cidr: before[0]!, rangeName: 'pods' },
        ...Array.from({ length: 4 }, () => ({ prefixLength: 28, rangeName: 'pods' })),
      ]),
    );
    expect(f.code).toBe('CLOUD_SUBNET_FULL');
    expect(cloud.getInterface(nic.id).prefixes).toEqual(before);
    expect(cloud.secondaryRangeAllocations(pods.id).free).toBe(64 - 16);
  });

  it('tells a fragmented range (addresses but no aligned block) from a full one', () => {
    const { cloud, nic } = node('10.4.0.0/26');
    // Four /29s, one in each /28: 32 addresses free, but no free /28.
    cloud.replaceAliasRanges(
      nic.id,
      ['10.4.0.0/29', '10.4.0.16/29', '10.4.0.32/29', '10.4.0.48/29'].map((cidr) => ({ cidr, rangeName: 'pods' })),
    );
    const f = failure(() =>
      cloud.replaceAliasRanges(nic.id, [
        ...cloud.getInterface(nic.id).prefixes.map((cidr) => ({ cidr, rangeName: 'pods' })),
        { prefixLength: 28, rangeName: 'pods' },
      ]),
    );
    expect(f.code).toBe('CLOUD_NO_PREFIX_BLOCK');
  });

  it(
    'rejects unknown ranges, CIDRs outside their range, overlaps with another node, duplicates and too many ' +
      'ranges',
    () => {
      const { cloud, nic } = node();
      const other = cloud.getInstance(seedGceNode(cloud, { instanceName: 'gke-node-2' })).interfaces[0]!;
      cloud.replaceAliasRanges(other.id, [{ cidr: '10.4.0.0/28', rangeName: 'pods' }]);
      const before = cloud.revision;
      expect(
        failure(() => cloud.replaceAliasRanges(nic.id, [{ prefixLength: 28, rangeName: 'nope' }])).message,
      ).toMatch(/no secondary range named 'nope'/);
      expect(
        failure(() => cloud.replaceAliasRanges(nic.id, [{ cidr: '10.9.0.0/28', rangeName: 'pods' }])).message,
      ).toMatch(/not within secondary range 'pods'/);
      expect(
        failure(() => cloud.replaceAliasRanges(nic.id, [{ cidr: '10.4.0.0/28', rangeName: 'pods' }])),
      ).toMatchObject({ code: 'CLOUD_INVALID', message: expect.stringMatching(/overlaps addresses in use/) });
      expect(
        failure(() =>
          cloud.replaceAliasRanges(nic.id, [
            { cidr: '10.4.0.16/28', rangeName: 'pods' },
            { cidr: '10.4.0.16/28', rangeName: 'pods' },
          ]),
        ).message,
      ).toMatch(/listed twice/);
      expect(
        failure(() => cloud.replaceAliasRanges(nic.id, [{ prefixLength: 20, rangeName: 'pods' }])).message,
      ).toMatch(/cannot be carved/);
      expect(
        failure(() =>
          cloud.replaceAliasRanges(
            nic.id,
            Array.from({ length: 151 }, () => ({ prefixLength: 32, rangeName: 'pods' })),
          ),
        ).code,
      ).toBe('CLOUD_IP_LIMIT');
      // Primary-range aliases may not take GCE's reserved addresses.
      expect(failure(() => cloud.replaceAliasRanges(nic.id, [{ cidr: '10.128.0.1' }])).message).toMatch(
        /reserved by the cloud/,
      );
      expect(cloud.revision).toBe(before);
    },
  );
});

describe('persistence', () => {
  it('round-trips secondary ranges, alias ranges and the reserved counts', () => {
    const { cloud, nic, pods } = node();
    cloud.replaceAliasRanges(nic.id, [{ prefixLength: 28, rangeName: 'pods' }]);
    const copy = SimCloud.fromJSON(JSON.parse(JSON.stringify(cloud.toJSON())));
    expect(copy.toJSON()).toEqual(cloud.toJSON());
    expect(copy.toJSON().subnetReserved).toEqual(GCE_RESERVED);
    expect(copy.secondaryRangeAllocations(pods.id)).toEqual(cloud.secondaryRangeAllocations(pods.id));
    // The copy allocates from the same state: the taken block stays taken for another node.
    const taken = copy.getInterface(nic.id).prefixes[0]!;
    const other = copy.getInstance(seedGceNode(copy, { instanceName: 'gke-node-2' })).interfaces[0]!;
    expect(failure(() => copy.replaceAliasRanges(other.id, [{ cidr: taken, rangeName: 'pods' }])).message).toMatch(
      /overlaps addresses in use/,
    );
  });

  it('loads a state saved before secondary ranges existed (EC2 reserved counts)', () => {
    const cloud = new SimCloud();
    cloud.seedNode({ instanceType: 'm5.large', subnetCidr: '10.0.1.0/24' });
    const old = cloud.toJSON() as unknown as Record<string, unknown>;
    delete old.secondaryRanges;
    delete old.subnetReserved;
    const loaded = SimCloud.fromJSON(old);
    expect(loaded.describeSecondaryRanges()).toEqual([]);
    expect(loaded.describeSubnets()[0]!.availableAddresses).toBe(250);
  });

  it("rejects a prefix that lies in no range of its interface's subnet", () => {
    const { cloud, nic } = node();
    const state = cloud.toJSON();
    state.interfaces.find((n) => n.id === nic.id)!.prefixes = ['10.77.0.0/28'];
    expect(() => SimCloud.fromJSON(state)).toThrow(/outside subnet .* and its secondary ranges/);
  });
});
