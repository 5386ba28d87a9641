/**
 * The Azure adapter against the emulator, through the real SDK: node discovery and limits, growth and shrink by
 * ipConfiguration, and the monitor's exhaustion input. Typed errors and the concurrency rules are in
 * provider-errors.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyzeSubnet, RESERVED_RULES } from '../../../ipamd/monitor/subnet-space.js';
import type { CloudProvider } from '../../../providers/types.js';
import { IPCONFIG_PREFIX } from '../../../providers/azure/index.js';
import { NIC, caller, fail } from './provider-harness.js';
import type { AzureEmulator } from '../../../providers/azure/emulator/index.js';
import { cloudIpconfigs, emulator, NODES_ID, PODS_ID, plusOneBody, provider } from './helpers.js';
import { withPodNic } from './helpers.js';

let emu: AzureEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

describe('describeNode and limits', () => {
  it('finds the VM from IMDS and the NIC from ARM, with succeeded secondaries as /32 blocks', async () => {
    emu = await emulator({ secondaryIps: 2, zone: '3' });
    const p: CloudProvider = provider(emu);
    const inv = await p.describeNode();
    expect(inv).toMatchObject({
      instanceId: 'node1',
      instanceType: 'Standard_D4s_v5',
      zone: '3',
      vpcCidrs: ['10.240.0.0/16'],
    });
    expect(inv.vpcId).toMatch(/virtualNetworks\/vnet1$/);
    const nic = inv.interfaces[0]!;
    expect(nic).toMatchObject({
      id: NIC,
      deviceIndex: 0,
      subnetId: NODES_ID,
      subnetCidr: '10.240.0.0/24',
      securityGroups: [],
    });
    expect(nic.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(nic.blocks.map((b) => b.cidr).sort()).toEqual(
      [...cloudIpconfigs(emu).values()].map((c) => `${c.ip}/32`).sort(),
    );
    expect(await p.getLimits(inv.instanceType)).toEqual({
      instanceType: 'Standard_D4s_v5',
      maxInterfaces: 1,
      ipv4PerInterface: 256,
      supportsIps: true,
      supportsPrefixes: false,
      prefixLength: 28,
      canCreateInterfaces: false,
    });
  });

  it('does not count an ipConfiguration whose operation has not succeeded', async () => {
    emu = await emulator();
    const p = provider(emu);
    await p.describeNode();
    const nic = emu.world.nic('node1-nic')!;
    // An operation that outlasts the test (close() ends it).
    emu.operations.put(nic, plusOneBody('later'), undefined, 'async', 60_000);
    expect(cloudIpconfigs(emu).get('later')?.state).toBe('Updating');
    expect((await p.describeNode()).interfaces[0]!.blocks).toEqual([]);
  });

  it('finds a uniform scale-set VM NIC under its VMSS path', async () => {
    emu = await emulator({ vmName: 'aks-np1', vmss: { name: 'aks-np1-vmss', instanceId: '0' }, secondaryIps: 1 });
    const inv = await provider(emu).describeNode();
    expect(inv.instanceId).toBe('aks-np1-vmss_0');
    expect(inv.interfaces[0]!.id).toMatch(
      /virtualMachineScaleSets\/aks-np1-vmss\/virtualMachines\/0\/networkInterfaces\/aks-np1-nic$/,
    );
    expect(inv.interfaces[0]!.blocks).toHaveLength(1);
  });

  it('grows and shrinks a scale-set VM NIC through the VM model (Compute RP) with the VM etag', async () => {
    emu = await emulator({ vmName: 'aks-np1', vmss: { name: 'aks-np1-vmss', instanceId: '0' } });
    const p = provider(emu);
    const id = (await p.describeNode()).interfaces[0]!.id;
    const added = await p.assignAddresses(id, { kind: 'ip', count: 3 });
    expect(added).toHaveLength(3);
    expect(added.map((b) => b.cidr).sort()).toEqual(
      [...cloudIpconfigs(emu, 'aks-np1-nic').values()].map((c) => `${c.ip}/32`).sort(),
    );
    await p.unassignAddresses(id, added.slice(0, 2));
    expect([...cloudIpconfigs(emu, 'aks-np1-nic').values()].map((c) => `${c.ip}/32`)).toEqual([added[2]!.cidr]);
    const writes = emu.log().filter((e) => e.method === 'PUT');
    expect(writes.map((e) => [e.action, e.status])).toEqual([
      ['PutVirtualMachineScaleSetVM', 200],
      ['PutVirtualMachineScaleSetVM', 200],
    ]);
    // A second writer between our read of the VM model and our PUT: 412, then a re-read wins.
    let armed = true;
    emu.afterNicRead = (_nic, action) => {
      if (!armed || action !== 'GetVirtualMachineScaleSetVM') return;
      armed = false;
      const nic = emu!.world.nic('aks-np1-nic')!;
      emu!.operations.put(
        nic,
        {
          properties: {
            ipConfigurations: [
              ...emu!.world
                .ipConfigs(nic)
                .map((c) => ({ name: c.name, properties: { primary: c.primary, subnet: { id: NODES_ID } } })),
              { name: 'rp-added', properties: { subnet: { id: NODES_ID } } },
            ],
          },
        },
        undefined,
        'sync',
      );
    };
    await caller().call('assignAddresses', () => p.assignAddresses(id, { kind: 'ip', count: 1 }));
    expect(
      emu
        .log()
        .filter((e) => e.method === 'PUT')
        .map((e) => e.status)
        .slice(-2),
    ).toEqual([412, 200]);
    expect(cloudIpconfigs(emu, 'aks-np1-nic').size).toBe(3);
  });

  it('refuses interfaces and prefixes: Azure cannot hot-add NICs', async () => {
    emu = await emulator();
    const p = provider(emu);
    await p.describeNode();
    expect(await fail(p.createInterface({ subnetId: NODES_ID }))).toMatchObject({
      code: 'CLOUD_INVALID',
      cloudCode: 'OperationNotSupported',
    });
    expect(await fail(p.assignAddresses(NIC, { kind: 'prefix', count: 1 }))).toMatchObject({ code: 'CLOUD_INVALID' });
  });
});

describe('grow and shrink', () => {
  it('adds Dynamic ipConfigurations by read-modify-write with the etag, and removes named ones', async () => {
    emu = await emulator();
    const p = provider(emu);
    await p.describeNode();
    const added = await p.assignAddresses(NIC, { kind: 'ip', count: 4 });
    expect(added).toHaveLength(4);
    const cloud = cloudIpconfigs(emu);
    expect([...cloud.keys()].every((n) => n.startsWith(IPCONFIG_PREFIX))).toBe(true);
    expect(added.map((b) => b.cidr).sort()).toEqual([...cloud.values()].map((c) => `${c.ip}/32`).sort());
    const puts = emu.log().filter((e) => e.action === 'PutNetworkInterface');
    expect(puts).toHaveLength(1);
    await p.unassignAddresses(NIC, added.slice(0, 3));
    expect([...cloudIpconfigs(emu).values()].map((c) => `${c.ip}/32`)).toEqual([added[3]!.cidr]);
    // Already gone: no write at all.
    const before = emu.calls().PutNetworkInterface;
    await p.unassignAddresses(NIC, added.slice(0, 3));
    expect(emu.calls().PutNetworkInterface).toBe(before);
  });

  it("reports subnets with live usage and allocations with Azure's 5 reserved addresses", async () => {
    emu = await emulator({ secondaryIps: 2, podSubnet: { name: 'pods', cidr: '10.240.16.0/28' } });
    const p = provider(emu);
    const inv = await p.describeNode();
    const subnets = await p.listSubnets();
    expect(subnets.map((s) => [s.id, s.cidr, s.availableAddresses])).toEqual([
      [NODES_ID, '10.240.0.0/24', 248],
      [PODS_ID, '10.240.16.0/28', 11],
    ]);
    const alloc = await p.describeSubnetAllocations!(NODES_ID);
    const expected = [
      '10.240.0.0',
      '10.240.0.1',
      '10.240.0.2',
      '10.240.0.3',
      '10.240.0.255',
      inv.interfaces[0]!.primaryIp,
      ...[...cloudIpconfigs(emu).values()].map((c) => c.ip),
    ];
    expect(alloc.used.sort()).toEqual(expected.map((ip) => `${ip}/32`).sort());
    expect(alloc.subnet.availableAddresses).toBe(248);
  });
});

describe('exhaustion monitor input', () => {
  it(
    'gives the monitor used addresses that agree with ARM usage, other tenants and Pod-subnet addresses ' + 'included',
    async () => {
      emu = await emulator({ secondaryIps: 3, ...withPodNic('10.240.16.0/26') });
      const pods = emu.world.subnet('vnet1', 'pods')!;
      emu.world.cloud.occupyRandom(pods.id, 7, 'another tenant');
      const p = provider(emu, { AZURE_POD_SUBNET_ID: PODS_ID });
      const inv = await p.describeNode();
      await p.assignAddresses(inv.interfaces[1]!.id, { kind: 'ip', count: 5 });
      for (const id of [NODES_ID, PODS_ID]) {
        const alloc = await p.describeSubnetAllocations!(id);
        const space = analyzeSubnet(alloc.subnet.cidr, alloc.used, {
          reserved: RESERVED_RULES.azure,
          prefixLength: 28,
        });
        expect(space.free).toBe(alloc.subnet.availableAddresses);
      }
      const pod = await p.describeSubnetAllocations!(PODS_ID);
      // 64 - Azure's 5 - the other tenant's 7 - the Pod NIC's own address - our 5.
      expect(pod.subnet.availableAddresses).toBe(64 - 5 - 7 - 1 - 5);
    },
  );
});
