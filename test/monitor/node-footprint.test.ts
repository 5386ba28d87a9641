/**
 * The node footprint comes from the real planner: check it against the
 * warm-pool rules worked by hand (aws-vpc-cni.md §3) for m5.large
 * (3 interfaces × 10 IPv4, so 9 secondary slots each).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../ipamd/config.js';
import { nodeFootprint, type FootprintInput } from '../../ipamd/monitor/node-footprint.js';
import { ec2MaxPods, lookupEc2Limits } from '../../providers/limits/ec2-limits.js';

function input(env: Record<string, string>, type = 'm5.large', extra: Partial<FootprintInput> = {}): FootprintInput {
  const c = parseConfig(env);
  const l = lookupEc2Limits(type)!;
  return {
    limits: {
      maxInterfaces: Math.min(c.maxInterfaces ?? Infinity, l.maxInterfaces),
      slotsPerInterface: l.ipv4PerInterface - 1,
      canCreateInterfaces: true,
    },
    targets: c.targets,
    mode: c.prefixDelegation ? 'prefix' : 'ip',
    blockSize: c.prefixDelegation ? 16 : 1,
    ...extra,
  };
}

describe('nodeFootprint', () => {
  it('WARM_ENI_TARGET=1 (default): a full interface of warm IPs, a second one as soon as Pods eat into it', () => {
    const i = input({});
    expect(nodeFootprint(i, 0)).toMatchObject({
      interfaces: 1,
      blocks: 9,
      addresses: 9,
      warm: 9,
      subnetAddresses: 10,
      capacity: 27,
    });
    expect(nodeFootprint(i, 5)).toMatchObject({ interfaces: 2, blocks: 18, warm: 13, subnetAddresses: 20 });
    expect(nodeFootprint(i, 10)).toMatchObject({ interfaces: 3, blocks: 27, warm: 17, subnetAddresses: 30 });
  });

  it('WARM_IP_TARGET and MINIMUM_IP_TARGET keep exactly what they say', () => {
    expect(nodeFootprint(input({ WARM_IP_TARGET: '5' }), 0)).toMatchObject({
      interfaces: 1,
      blocks: 5,
      warm: 5,
      subnetAddresses: 6,
    });
    expect(nodeFootprint(input({ WARM_IP_TARGET: '2', MINIMUM_IP_TARGET: '12' }), 3)).toMatchObject({
      interfaces: 2,
      blocks: 12,
      warm: 9,
      subnetAddresses: 14,
    });
  });

  it('prefix delegation: WARM_PREFIX_TARGET=1 keeps a whole free /28', () => {
    const i = input({ ENABLE_PREFIX_DELEGATION: 'true' });
    expect(nodeFootprint(i, 0)).toMatchObject({
      interfaces: 1,
      blocks: 1,
      addresses: 16,
      warm: 16,
      subnetAddresses: 17,
      capacity: 27 * 16,
    });
    expect(nodeFootprint(i, 20)).toMatchObject({ blocks: 3, addresses: 48, warm: 28 });
  });

  it('caps Pods at the node capacity and reports the rest as unplaced; capacity matches max-pods − 2', () => {
    const f = nodeFootprint(input({}), 40);
    expect(f).toMatchObject({ pods: 27, unplaced: 13, interfaces: 3, blocks: 27, warm: 0 });
    const l = lookupEc2Limits('m5.large')!;
    expect(f.capacity).toBe(ec2MaxPods(l, { showMaxAllowed: true }) - 2);
  });

  it('custom networking: the primary hosts no Pods and is not in the Pod subnet', () => {
    const f = nodeFootprint(input({}, 'm5.large', { primaryUnusable: true }), 0);
    expect(f).toMatchObject({ interfaces: 2, subnetInterfaces: 1, blocks: 9, subnetAddresses: 10, capacity: 18 });
  });

  it('MAX_ENI limits the interfaces', () => {
    expect(nodeFootprint(input({ MAX_ENI: '1' }), 20)).toMatchObject({ interfaces: 1, pods: 9, unplaced: 11 });
  });
});
