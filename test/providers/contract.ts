/**
 * @module CloudProvider contract
 * The expectations every CloudProvider must meet, written once against the
 * seam in `providers/types.ts` only, and run for each implementation (sim,
 * aws; azure and gcp can call {@link runProviderContract} the same way from
 * their own test files). Each case gets a fresh subject from the factory.
 *
 * What a subject provides: the provider for one node, a subnet in the node's
 * zone where interfaces may be created, and `close`. Capabilities (creating
 * interfaces, secondary IPs, prefixes) are read from `getLimits`, so a cloud
 * that cannot do something is checked for what it can.
 */
import { describe, expect, it } from 'vitest';
import { IpamError } from '../../providers/errors.js';
import type { CloudProvider, InstanceLimits, NodeInventory } from '../../providers/types.js';

export interface ContractSubject {
  provider: CloudProvider;
  /** Where createInterface may put a new interface (same VPC and zone as the node). */
  subnetId: string;
  close(): Promise<void>;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (IpamError.is(err)) return err.code;
    throw err;
  }
  return 'resolved';
}

function primaryOf(inv: NodeInventory) {
  const p = inv.interfaces.find((i) => i.deviceIndex === 0);
  if (!p) throw new Error('describeNode: no interface at device index 0');
  return p;
}

/** Registers the contract suite for one provider implementation. */
export function runProviderContract(name: string, make: () => Promise<ContractSubject>): void {
  const withSubject =
    (fn: (s: ContractSubject, limits: InstanceLimits, inv: NodeInventory) => Promise<void>) => async () => {
      const s = await make();
      try {
        const inv = await s.provider.describeNode();
        await fn(s, await s.provider.getLimits(inv.instanceType), inv);
      } finally {
        await s.close();
      }
    };

  describe(`CloudProvider contract: ${name}`, () => {
    it(
      'describes the node with its primary interface at device 0, and limits for its type',
      withSubject(async (s, limits, inv) => {
        expect(inv.instanceId).toBeTruthy();
        expect(inv.vpcCidrs.length).toBeGreaterThan(0);
        const primary = primaryOf(inv);
        expect(primary.primaryIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
        // The primary is never a block.
        expect(primary.blocks.some((b) => b.cidr === `${primary.primaryIp}/32`)).toBe(false);
        expect(limits.instanceType).toBe(inv.instanceType);
        expect(limits.maxInterfaces).toBeGreaterThanOrEqual(1);
        expect(limits.ipv4PerInterface).toBeGreaterThanOrEqual(2);
        expect(s.provider.name).toMatch(/^(sim|aws|azure|gcp)$/);
      }),
    );

    it(
      'lists subnets with live free counts and filters',
      withSubject(async (s, _l, inv) => {
        const [sub] = await s.provider.listSubnets({ ids: [s.subnetId] });
        expect(sub).toMatchObject({ id: s.subnetId, vpcId: inv.vpcId });
        expect(sub!.availableAddresses).toBeGreaterThan(0);
        const inVpc = await s.provider.listSubnets({ vpcId: inv.vpcId });
        expect(inVpc.map((x) => x.id)).toContain(s.subnetId);
        expect(await s.provider.listSubnets({ vpcId: 'vpc-0000000000000ffff' })).toEqual([]);
      }),
    );

    it(
      'assigns exactly the blocks it returns, and unassigns them idempotently',
      withSubject(async (s, limits, inv) => {
        const primary = primaryOf(inv);
        const kind = limits.supportsIps ? 'ip' : 'prefix';
        const added = await s.provider.assignAddresses(primary.id, { kind, count: 2 });
        expect(added).toHaveLength(2);
        for (const b of added) expect(b.kind).toBe(kind);
        const after = primaryOf(await s.provider.describeNode());
        for (const b of added) expect(after.blocks).toContainEqual(b);
        expect(await s.provider.assignAddresses(primary.id, { kind, count: 0 })).toEqual([]);
        await s.provider.unassignAddresses(primary.id, [added[0]!]);
        await s.provider.unassignAddresses(primary.id, added); // one already gone: not an error
        await s.provider.unassignAddresses(primary.id, added); // none left: not an error
        expect(
          primaryOf(await s.provider.describeNode()).blocks.filter((b) => added.some((a) => a.cidr === b.cidr)),
        ).toEqual([]);
      }),
    );

    it(
      'assigns named blocks, and delegates prefixes of the advertised length when supported',
      withSubject(async (s, limits, inv) => {
        const primary = primaryOf(inv);
        if (limits.supportsIps) {
          const [one] = await s.provider.assignAddresses(primary.id, { kind: 'ip', count: 1 });
          await s.provider.unassignAddresses(primary.id, [one!]);
          expect(await s.provider.assignAddresses(primary.id, { kind: 'ip', cidrs: [one!.cidr] })).toEqual([one]);
        }
        if (limits.supportsPrefixes) {
          const [p] = await s.provider.assignAddresses(primary.id, { kind: 'prefix', count: 1 });
          expect(p!.kind).toBe('prefix');
          expect(p!.cidr.endsWith(`/${limits.prefixLength}`)).toBe(true);
        }
      }),
    );

    it(
      'rejects malformed requests and unknown interfaces with typed errors',
      withSubject(async (s, _l, inv) => {
        const primary = primaryOf(inv);
        expect(
          await codeOf(s.provider.assignAddresses(primary.id, { kind: 'ip', count: 1, cidrs: ['10.0.0.9/32'] })),
        ).toBe('CLOUD_INVALID');
        expect(await codeOf(s.provider.assignAddresses(primary.id, { kind: 'ip', count: -1 }))).toBe('CLOUD_INVALID');
        const unknown = await codeOf(s.provider.assignAddresses('eni-0000000000000beef', { kind: 'ip', count: 1 }));
        expect(['CLOUD_NOT_FOUND', 'CLOUD_INVALID']).toContain(unknown);
      }),
    );

    it(
      'creates, attaches and deletes interfaces up to the limit, leaving nothing behind',
      withSubject(async (s, limits, inv) => {
        if (!limits.canCreateInterfaces) {
          expect(await codeOf(s.provider.createInterface({ subnetId: s.subnetId }))).not.toBe('resolved');
          return;
        }
        const kind = limits.supportsIps ? 'ip' : 'prefix';
        const made = [];
        for (let i = inv.interfaces.length; i < limits.maxInterfaces; i++) {
          const nic = await s.provider.createInterface({ subnetId: s.subnetId, initial: { kind, count: 1 } });
          expect(nic.deviceIndex).toBeGreaterThan(0);
          expect(nic.subnetId).toBe(s.subnetId);
          expect(nic.blocks).toHaveLength(1);
          made.push(nic);
        }
        expect(new Set(made.map((n) => n.deviceIndex)).size).toBe(made.length);
        expect((await s.provider.describeNode()).interfaces).toHaveLength(limits.maxInterfaces);
        expect(await codeOf(s.provider.createInterface({ subnetId: s.subnetId }))).toBe('CLOUD_NIC_LIMIT');
        for (const nic of made) await s.provider.deleteInterface(nic.id);
        await s.provider.deleteInterface(made[0]!.id); // already gone: success
        expect((await s.provider.describeNode()).interfaces.map((i) => i.id)).toEqual(inv.interfaces.map((i) => i.id));
      }),
    );
  });
}
