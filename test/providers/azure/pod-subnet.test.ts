/**
 * The adapter against the strict Azure emulator (issue 13), through the real
 * SDKs: the Pod-subnet mode on a second NIC created with the VM (found by
 * subnet or tag, the other NICs excluded, host data of that NIC), the old
 * cross-subnet write refused, the start error when the node pool gave no Pod
 * NIC, Retry-After honoured on the injected clock, the etag-mismatch 412 as
 * a ConflictError, and an IMDS api-version IMDS does not serve.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock, type Clock } from '../../../ipamd/util/clock.js';
import { ConfigError, ConflictError, InvalidCloudRequestError, type CloudError } from '../../../providers/errors.js';
import { ArmClient } from '../../../providers/azure/arm-client.js';
import { normalizeMac } from '../../../providers/azure/arm-ids.js';
import { IPCONFIG_PREFIX, StaticTestCredential } from '../../../providers/azure/index.js';
import { REALISTIC_LRO, type AzureEmulator } from '../../../providers/azure/emulator/index.js';
import { emulator, imdsNetwork, nicIdOf, NODES_ID, PODS_ID, plusOneBody, provider, SUB } from './helpers.js';
import { subnetFree, withPodNic } from './helpers.js';

let emu: AzureEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

const fail = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as CloudError & ConfigError,
  );
const POD_NIC = nicIdOf('node1-pod-nic');
const imdsMacs = async (e: AzureEmulator) => (await imdsNetwork(e)).interface.map((i) => normalizeMac(i.macAddress));

describe('Pod subnet on a second NIC', () => {
  it('puts Pod addresses on the NIC in AZURE_POD_SUBNET_ID, as the host sees it, the primary excluded', async () => {
    emu = await emulator(withPodNic('10.240.16.0/24', false), { lro: { mode: 'sync' } });
    const p = provider(emu, { AZURE_POD_SUBNET_ID: PODS_ID });
    const [primary, pod] = (await p.describeNode()).interfaces;
    expect(primary).toMatchObject({ deviceIndex: 0, subnetId: NODES_ID });
    expect(primary!.excluded).toMatch(/Pod NIC node1-pod-nic/);
    expect(pod).toMatchObject({ id: POD_NIC, deviceIndex: 1, subnetId: PODS_ID, subnetCidr: '10.240.16.0/24' });
    expect(pod!.excluded).toBeUndefined();
    expect(pod!.primaryIp).toMatch(/^10\.240\.16\.\d+$/);
    // Device index 1 (route table 2) and the MAC the host's second link has, as IMDS lists them.
    expect(await imdsMacs(emu)).toEqual([primary!.mac, pod!.mac]);
    const added = await p.assignAddresses(pod!.id, { kind: 'ip', count: 3 });
    expect(added.every((b) => b.cidr.startsWith('10.240.16.'))).toBe(true);
    expect(subnetFree(emu, 'pods')).toBe(251 - 1 - 3);
    const cidrs = (bs: Array<{ cidr: string }>) => bs.map((b) => b.cidr).sort();
    expect(cidrs((await p.describeNode()).interfaces[1]!.blocks)).toEqual(cidrs(added));
    await p.unassignAddresses(pod!.id, added);
    expect(subnetFree(emu, 'pods')).toBe(250);
  });

  it('finds the Pod NIC by its tag without AZURE_POD_SUBNET_ID; untagged, every NIC is used', async () => {
    emu = await emulator(withPodNic());
    const [primary, pod] = (await provider(emu).describeNode()).interfaces;
    expect(primary!.excluded).toMatch(/Pod NIC node1-pod-nic/);
    expect(pod).toMatchObject({ id: POD_NIC, subnetId: PODS_ID });
    await emu.close();
    emu = await emulator(withPodNic('10.240.16.0/24', false));
    expect((await provider(emu).describeNode()).interfaces.map((i) => i.excluded)).toEqual([undefined, undefined]);
  });

  it('grows a scale-set VM Pod NIC through the VM model, the other NIC configuration untouched', async () => {
    emu = await emulator({ vmName: 'aks-np1', vmss: { name: 'aks-np1-vmss', instanceId: '0' }, ...withPodNic() });
    const p = provider(emu, { AZURE_POD_SUBNET_ID: PODS_ID });
    const pod = (await p.describeNode()).interfaces[1]!;
    expect(pod.id).toMatch(/aks-np1-vmss\/virtualMachines\/0\/networkInterfaces\/aks-np1-pod-nic$/);
    const added = await p.assignAddresses(pod.id, { kind: 'ip', count: 2 });
    expect(added.every((b) => b.cidr.startsWith('10.240.16.'))).toBe(true);
    expect(emu.world.ipConfigs(emu.world.nic('aks-np1-nic')!)).toHaveLength(1);
    const puts = emu.log().filter((e) => e.method === 'PUT');
    expect(puts.map((e) => [e.action, e.status])).toEqual([['PutVirtualMachineScaleSetVM', 200]]);
  });
});

describe('what Azure refuses', () => {
  it('refuses the old write (a Pod-subnet ipConfiguration on the node NIC): a non-retryable error', async () => {
    emu = await emulator(withPodNic());
    const clock = { now: () => Date.now(), sleep: async () => {} };
    const credential = new StaticTestCredential();
    const o = { ...clock, endpoint: emu.url, subscriptionId: SUB, credential, lroPollIntervalMs: 1 };
    const arm = await ArmClient.create(o);
    const nic = await arm.getNic(nicIdOf('node1-nic'));
    // Exactly what the adapter sent before issue 13.
    const old = { name: `${IPCONFIG_PREFIX}old`, primary: false as const, subnet: { id: PODS_ID } };
    const add = [{ ...old, privateIPAllocationMethod: 'Dynamic' as const }];
    const err = await fail(arm.updateIpConfigs(nicIdOf('node1-nic'), nic, { add, remove: [] }));
    expect(err).toBeInstanceOf(InvalidCloudRequestError);
    expect(err).toMatchObject({ cloudCode: 'IpConfigurationsOnSameNicCannotUseDifferentSubnets', retryable: false });
  });

  it('refuses to start when no NIC is in AZURE_POD_SUBNET_ID, saying what the pool must provide', async () => {
    emu = await emulator({ podSubnet: { name: 'pods', cidr: '10.240.16.0/24' } });
    const err = await fail(provider(emu, { AZURE_POD_SUBNET_ID: PODS_ID }).describeNode());
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.variable).toBe('AZURE_POD_SUBNET_ID');
    expect(err!.message).toMatch(/no NIC of .*\/node1 is in .*\/pods \(node1-nic in .*subnets\/nodes\)/);
    expect(err!.message).toMatch(/must create every VM \(or the scale set model\) with a second NIC in the Pod subnet/);
    expect(emu.calls().PutNetworkInterface).toBeUndefined();
  });

  it('refuses a tagged Pod NIC outside AZURE_POD_SUBNET_ID, and a tag on two NICs', async () => {
    emu = await emulator(withPodNic());
    const wrong = await fail(provider(emu, { AZURE_POD_SUBNET_ID: NODES_ID }).describeNode());
    expect(wrong).toMatchObject({ variable: 'AZURE_POD_SUBNET_ID' });
    expect(wrong!.message).toMatch(/node1-pod-nic is tagged .* not in .*subnets\/nodes/);
    emu.world.cloud.createTags([emu.world.nic('node1-nic')!.id], { 'vpc-ipam.io/pod-nic': 'true' });
    const two = await fail(provider(emu).describeNode());
    expect(two).toMatchObject({ variable: 'vpc-ipam.io/pod-nic', message: expect.stringMatching(/on 2 NICs/) });
  });

  it('turns an IMDS api-version IMDS does not serve into a ConfigError naming the newest ones', async () => {
    emu = await emulator();
    const err = await fail(provider(emu, { AZURE_IMDS_API_VERSION: '2021-02-02' }).describeNode());
    expect(err).toBeInstanceOf(ConfigError);
    const newest = '2025-04-07, 2024-07-17, 2024-03-15';
    const why = `IMDS does not serve api-version 2021-02-02; its newest are ${newest}`;
    expect(err!.message).toBe(`AZURE_IMDS_API_VERSION: ${why}`);
  });

  it('maps 412 PreconditionFailedEtagMismatch (a writer between GET and PUT) to a ConflictError', async () => {
    emu = await emulator({}, { lro: { mode: 'sync' } });
    const p = provider(emu);
    await p.describeNode();
    emu.afterNicRead = (name) => {
      emu!.afterNicRead = undefined;
      emu!.operations.put(emu!.world.nic(name)!, plusOneBody('x'), undefined, 'sync');
    };
    const err = await fail(p.assignAddresses(nicIdOf('node1-nic'), { kind: 'ip', count: 1 }));
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({ cloudCode: 'PreconditionFailedEtagMismatch', retryable: true });
  });
});

describe('long-running operations at Azure pace', () => {
  it('waits the Retry-After of each InProgress poll on the injected clock, and polls no more than needed', async () => {
    const vc = new VirtualClock(Date.now());
    emu = await emulator({}, { clock: vc, lro: REALISTIC_LRO });
    const slept: number[] = [];
    // The adapter's waits advance the emulator's clock; timers with a signal (IMDS timeout) stay virtual timers.
    const clock: Clock = {
      now: () => vc.now(),
      sleep: (ms, signal) => (signal ? vc.sleep(ms, signal) : (slept.push(ms), vc.advance(ms))),
    };
    const p = provider(emu, {}, clock);
    await p.describeNode();
    const added = await p.assignAddresses(nicIdOf('node1-nic'), { kind: 'ip', count: 1 });
    expect(added).toHaveLength(1);
    expect(slept).toEqual([10_000]);
    expect(
      emu
        .log()
        .filter((e) => e.action === 'GetOperation')
        .map((e) => e.retryAfter),
    ).toEqual(['10', undefined]);
  });
});
