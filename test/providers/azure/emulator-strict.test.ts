/**
 * The Azure emulator as strict as Azure (issue 13), through the real
 * `@azure/arm-network` and `@azure/arm-compute` clients: one subnet per NIC,
 * no NIC added to a running VM, a VM created with its Pod NIC, Retry-After 10
 * and operations that stay InProgress (on a virtual clock: no waiting), GUID
 * etags and 412 PreconditionFailedEtagMismatch, IMDS api-versions.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { NetworkInterface } from '@azure/arm-network';
import { VirtualClock } from '../../../ipamd/util/clock.js';
import { mapAzureError } from '../../../providers/azure/index.js';
import { IMDS_BAD_VERSION, NIC_SET_CODE, REALISTIC_LRO } from '../../../providers/azure/emulator/index.js';
import type { AzureEmulator } from '../../../providers/azure/emulator/index.js';
import { cloudIpconfigs, computeSdk, emulator, ETAG_RE, imdsNetwork, nicIdOf, NODES_ID, PODS_ID } from './helpers.js';
import { RG, sdk, subnetFree, withPodNic } from './helpers.js';

let emu: AzureEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

type Refusal = { statusCode?: number; code?: string; message: string };
const fail = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Refusal,
  );
const plus = (nic: NetworkInterface, name: string, subnetId: string): NetworkInterface => ({
  ...nic,
  ipConfigurations: [...(nic.ipConfigurations ?? []), { name, subnet: { id: subnetId } }],
});

describe('one NIC, one subnet', () => {
  it('refuses ipConfigurations of one NIC in two subnets with Azure code and wording, allocating nothing', async () => {
    emu = await emulator(withPodNic(), { lro: { mode: 'sync' } });
    const net = await sdk(emu);
    const nic = await net.networkInterfaces.get(RG, 'node1-nic');
    const free = subnetFree(emu, 'pods');
    const err = await fail(net.networkInterfaces.beginCreateOrUpdateAndWait(RG, 'node1-nic', plus(nic, 'p', PODS_ID)));
    expect(err).toMatchObject({ statusCode: 400, code: 'IpConfigurationsOnSameNicCannotUseDifferentSubnets' });
    const id = nicIdOf('node1-nic');
    const message =
      `IPConfigurations on a Nic ${id} cannot belong to different subnets. ` +
      `Subnets referred: ${NODES_ID};${PODS_ID}`;
    expect(err!.message).toBe(message);
    expect(subnetFree(emu, 'pods')).toBe(free);
    expect(cloudIpconfigs(emu).size).toBe(0);
  });

  it('creates the VM with its Pod NIC: second in IMDS and the VM model, in the Pod subnet', async () => {
    emu = await emulator(withPodNic(), { lro: { mode: 'sync' } });
    const net = await sdk(emu);
    const pod = await net.networkInterfaces.get(RG, 'node1-pod-nic');
    expect(pod).toMatchObject({ primary: false, tags: { 'vpc-ipam.io/pod-nic': 'true' } });
    expect(pod.ipConfigurations!.map((c) => [c.name, c.primary, c.subnet?.id])).toEqual([['ipconfig1', true, PODS_ID]]);
    const vm = await (await computeSdk(emu)).virtualMachines.get(RG, 'node1', { expand: 'instanceView' });
    expect(vm.networkProfile!.networkInterfaces!.map((n) => [n.id, n.primary])).toEqual([
      [nicIdOf('node1-nic'), true],
      [nicIdOf('node1-pod-nic'), false],
    ]);
    expect(vm.instanceView!.statuses!.map((s) => s.code)).toContain('PowerState/running');
    const imds = await imdsNetwork(emu);
    expect(imds.interface.map((i) => i.ipv4.subnet[0]!.address)).toEqual(['10.240.0.0', '10.240.16.0']);
    expect(imds.interface[1]!.macAddress).toBe(pod.macAddress!.replace(/-/g, ''));
    const out = await net.networkInterfaces.beginCreateOrUpdateAndWait(RG, 'node1-pod-nic', plus(pod, 'p1', PODS_ID));
    expect(out.ipConfigurations!.find((c) => c.name === 'p1')!.privateIPAddress).toMatch(/^10\.240\.16\.\d+$/);
  });
});

describe('no NIC added to a running VM', () => {
  it('refuses a VM update that adds or removes a NIC, accepts one that keeps them', async () => {
    emu = await emulator(withPodNic());
    const compute = await computeSdk(emu);
    const vm = await compute.virtualMachines.get(RG, 'node1');
    const nics = vm.networkProfile!.networkInterfaces!;
    const extra = { id: nicIdOf('node1-extra-nic'), primary: false };
    const three = { ...vm, networkProfile: { networkInterfaces: [...nics, extra] } };
    const added = await fail(compute.virtualMachines.beginCreateOrUpdateAndWait(RG, 'node1', three));
    expect(added).toMatchObject({ statusCode: 400, code: NIC_SET_CODE });
    expect(added!.message).toMatch(/must be stop-deallocated before network interfaces can be added to it or removed/);
    // The adapter's mapping: a request no retry can fix.
    const mapped = mapAzureError(added, 'vm');
    expect(mapped).toMatchObject({ code: 'CLOUD_INVALID', cloudCode: NIC_SET_CODE, retryable: false });
    const one = { networkProfile: { networkInterfaces: [nics[0]!] } };
    const removed = await fail(compute.virtualMachines.beginUpdateAndWait(RG, 'node1', one));
    expect(removed).toMatchObject({ statusCode: 400, code: NIC_SET_CODE });
    expect(removed!.message).toMatch(/with a single network interface must be stop-deallocated before it can be/);
    const same = await compute.virtualMachines.beginCreateOrUpdateAndWait(RG, 'node1', vm);
    expect(same.networkProfile!.networkInterfaces).toHaveLength(2);
  });

  it('refuses a single-NIC VM its second NIC, and a scale-set VM model a new NIC configuration', async () => {
    emu = await emulator({ vmName: 'aks-np1', vmss: { name: 'aks-np1-vmss', instanceId: '0' } });
    const compute = await computeSdk(emu);
    const vm = await compute.virtualMachineScaleSetVMs.get(RG, 'aks-np1-vmss', '0');
    const configs = vm.networkProfileConfiguration!.networkInterfaceConfigurations!;
    const second = { ...configs[0]!, name: 'aks-np1-pod-nic', primary: false };
    const body = { ...vm, networkProfileConfiguration: { networkInterfaceConfigurations: [...configs, second] } };
    const err = await fail(compute.virtualMachineScaleSetVMs.beginUpdateAndWait(RG, 'aks-np1-vmss', '0', body));
    expect(err).toMatchObject({ statusCode: 400, code: NIC_SET_CODE });
    expect(err!.message).toContain('with a single network interface must be stop-deallocated');
  });
});

describe('long-running operations at Azure pace', () => {
  it('sends Retry-After: 10 and stays InProgress for the configured time on the emulator clock', async () => {
    const clock = new VirtualClock(Date.now());
    emu = await emulator({}, { clock, lro: REALISTIC_LRO });
    const net = await sdk(emu);
    const nic = await net.networkInterfaces.get(RG, 'node1-nic');
    const headers: Array<string | undefined> = [];
    const poller = await net.networkInterfaces.beginCreateOrUpdate(RG, 'node1-nic', plus(nic, 'slow', NODES_ID), {
      onResponse: (raw) => headers.push(raw.headers.get('retry-after')),
    });
    // begin… sent the PUT and polled once.
    await clock.advance(REALISTIC_LRO.durationMs - 1);
    await poller.poll();
    expect(poller.isDone()).toBe(false);
    expect(cloudIpconfigs(emu).get('slow')?.state).toBe('Updating');
    await clock.advance(1);
    await poller.poll();
    expect(poller.isDone()).toBe(true);
    expect(cloudIpconfigs(emu).get('slow')?.state).toBe('Succeeded');
    // The accepted PUT and both InProgress polls asked for 10 s; the final answers did not.
    expect(headers.slice(0, 3)).toEqual(['10', '10', '10']);
    const polls = emu.log().filter((e) => e.action === 'GetOperation');
    expect(polls.map((e) => e.retryAfter)).toEqual(['10', '10', undefined]);
  });
});

describe('etags', () => {
  it('gives a NIC and its VM new GUID etags on every write; a stale If-Match on the VM gets 412', async () => {
    emu = await emulator(withPodNic(), { lro: { mode: 'sync' } });
    const net = await sdk(emu);
    const compute = await computeSdk(emu);
    const vm = await compute.virtualMachines.get(RG, 'node1');
    const nic = await net.networkInterfaces.get(RG, 'node1-pod-nic');
    expect([vm.etag, nic.etag].every((e) => ETAG_RE.test(e!))).toBe(true);
    const out = await net.networkInterfaces.beginCreateOrUpdateAndWait(RG, 'node1-pod-nic', plus(nic, 'p1', PODS_ID));
    expect(out.etag).toMatch(ETAG_RE);
    expect(out.etag).not.toBe(nic.etag);
    const after = await compute.virtualMachines.get(RG, 'node1');
    expect(after.etag).not.toBe(vm.etag);
    const err = await fail(compute.virtualMachines.beginCreateOrUpdateAndWait(RG, 'node1', vm, { ifMatch: vm.etag! }));
    expect(err).toMatchObject({ statusCode: 412, code: 'PreconditionFailedEtagMismatch' });
    const message = `Etag provided in if-match header ${vm.etag} does not match etag ${after.etag} of resource.`;
    expect(err!.message).toBe(message);
  });
});

describe('IMDS api-version', () => {
  it('serves only the versions Azure IMDS lists, refusing others with its documented body', async () => {
    emu = await emulator();
    const get = (q: string) => fetch(`${emu!.url}/metadata/instance${q}`, { headers: { Metadata: 'true' } });
    const expected = { error: IMDS_BAD_VERSION, 'newest-versions': ['2025-04-07', '2024-07-17', '2024-03-15'] };
    for (const q of ['', '?api-version=2099-01-01', '?api-version=2021-02-02']) {
      const r = await get(q);
      expect(r.status).toBe(400);
      expect(await r.json()).toEqual(expected);
    }
    expect((await get('?api-version=2017-04-02')).status).toBe(200);
    expect((await get('?api-version=2025-04-07')).status).toBe(200);
    const r = await fetch(`${emu.url}/metadata/versions`, { headers: { Metadata: 'true' } });
    const versions = (await r.json()) as { apiVersions: string[] };
    expect(versions.apiVersions[0]).toBe('2017-03-01');
    expect(versions.apiVersions).toContain('2021-02-01');
  });
});
