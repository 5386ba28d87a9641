/**
 * The Azure emulator on the wire, driven by the real `@azure/arm-network`
 * client (and plain fetch where the SDK cannot express the request).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AZURE_DEFAULTS,
  openAzureWorld,
  seededWorld,
  startAzureEmulator,
  type AzureEmulator,
} from '../../../providers/azure/emulator/index.js';
import { VirtualClock } from '../../../ipamd/util/clock.js';
import { cloudIpconfigs, emulator, ETAG_RE, NODES_ID, RG, sdk, SUB, subnetFree, withIpc } from './helpers.js';

let emu: AzureEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

describe('NIC GET and PUT', () => {
  it('serves the NIC in the shape the SDK flattens', async () => {
    emu = await emulator();
    const net = await sdk(emu);
    const nic = await net.networkInterfaces.get(RG, 'node1-nic');
    expect(nic).toMatchObject({ name: 'node1-nic', provisioningState: 'Succeeded', primary: true, location: 'eastus' });
    expect(nic.etag).toMatch(ETAG_RE);
    expect(nic.macAddress).toMatch(/^([0-9A-F]{2}-){5}[0-9A-F]{2}$/);
    expect(nic.virtualMachine?.id).toBe(
      `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/node1`,
    );
    expect(nic.ipConfigurations).toHaveLength(1);
    expect(nic.ipConfigurations![0]).toMatchObject({
      name: 'ipconfig1',
      primary: true,
      provisioningState: 'Succeeded',
      subnet: { id: NODES_ID },
    });
  });

  it('runs a PUT as a long-running operation polled to Succeeded, then the SDK re-reads the NIC', async () => {
    // A virtual clock: the operation ends when the test moves time, never by racing the SDK.
    const clock = new VirtualClock(Date.now());
    emu = await emulator({}, { clock, lro: { durationMs: 1000 } });
    const net = await sdk(emu);
    const before = subnetFree(emu);
    const nic = await net.networkInterfaces.get(RG, 'node1-nic');
    const extra = { name: 'extra1', privateIPAllocationMethod: 'Dynamic', subnet: { id: NODES_ID }, primary: false };
    const body = withIpc(nic, extra);
    // begin… sends the PUT and polls once: InProgress.
    const poller = await net.networkInterfaces.beginCreateOrUpdate(RG, 'node1-nic', body);
    expect(poller.isDone()).toBe(false);
    await clock.advance(1000);
    await poller.poll();
    const out = poller.getResult()!;
    const added = out.ipConfigurations!.find((c) => c.name === 'extra1')!;
    expect(added.provisioningState).toBe('Succeeded');
    expect(added.privateIPAddress).toMatch(/^10\.240\.0\.\d+$/);
    // A new GUID etag when accepted and again when it succeeded.
    expect(out.etag).toMatch(ETAG_RE);
    expect(out.etag).not.toBe(nic.etag);
    expect(subnetFree(emu)).toBe(before - 1);
    expect(emu.log().map((e) => `${e.method} ${e.action}`)).toEqual([
      'GET GetNetworkInterface',
      'PUT PutNetworkInterface',
      'GET GetOperation',
      'GET GetOperation',
      'GET GetNetworkInterface',
    ]);
  });

  it('in sync mode answers Succeeded at once and the SDK does not poll', async () => {
    emu = await emulator({}, { lro: { mode: 'sync' } });
    const net = await sdk(emu);
    const nic = await net.networkInterfaces.get(RG, 'node1-nic');
    const out = await net.networkInterfaces.beginCreateOrUpdateAndWait(
      RG,
      'node1-nic',
      withIpc(nic, { name: 'a', subnet: { id: NODES_ID } }),
    );
    expect(out.ipConfigurations!.map((c) => c.name)).toEqual(['ipconfig1', 'a']);
    expect(emu.calls()).toEqual({ GetNetworkInterface: 1, PutNetworkInterface: 1 });
  });

  it('lags IMDS behind ARM by imdsDelayMs on the emulator clock, when asked to', async () => {
    const clock = new VirtualClock(Date.now());
    emu = await emulator({}, { clock, lro: { mode: 'sync' }, imdsDelayMs: 2_000 });
    const url = `${emu.url}/metadata/instance/network?api-version=2021-02-01`;
    const imds = async () => JSON.stringify(await (await fetch(url, { headers: { Metadata: 'true' } })).json());
    const before = await imds();
    const net = await sdk(emu);
    const nic = await net.networkInterfaces.get(RG, 'node1-nic');
    const extra = { name: 'extra1', privateIPAllocationMethod: 'Dynamic', subnet: { id: NODES_ID }, primary: false };
    const out = await net.networkInterfaces.beginCreateOrUpdateAndWait(RG, 'node1-nic', withIpc(nic, extra));
    const ip = out.ipConfigurations!.find((c) => c.name === 'extra1')!.privateIPAddress!;
    expect(await imds()).toBe(before); // ARM has the address; IMDS not yet
    await clock.advance(1_999);
    expect(await imds()).toBe(before);
    await clock.advance(1);
    expect(await imds()).toContain(`"${ip}"`);
  });

  it('shows new ipConfigurations as Updating while the operation runs, and refuses a second PUT with 409', async () => {
    const clock = new VirtualClock(Date.now());
    emu = await emulator({}, { clock, lro: { durationMs: 1000 } });
    const net = await sdk(emu);
    const nic = await net.networkInterfaces.get(RG, 'node1-nic');
    const poller = await net.networkInterfaces.beginCreateOrUpdate(
      RG,
      'node1-nic',
      withIpc(nic, { name: 'slow', subnet: { id: NODES_ID } }),
      { updateIntervalInMs: 10 },
    );
    const during = await net.networkInterfaces.get(RG, 'node1-nic');
    expect(during.provisioningState).toBe('Updating');
    expect(during.ipConfigurations!.find((c) => c.name === 'slow')!.provisioningState).toBe('Updating');
    const err = await net.networkInterfaces
      .beginCreateOrUpdateAndWait(RG, 'node1-nic', during)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ statusCode: 409, code: 'AnotherOperationInProgress' });
    expect((err as Error).message).toContain(
      `/subscriptions/${SUB}/providers/Microsoft.Network/locations/eastus/operations/`,
    );
    await clock.advance(1000);
    await poller.pollUntilDone();
    expect(cloudIpconfigs(emu).get('slow')?.state).toBe('Succeeded');
  });

  it('answers 412 to a stale If-Match and changes nothing', async () => {
    emu = await emulator();
    const net = await sdk(emu);
    const nic = await net.networkInterfaces.get(RG, 'node1-nic');
    await net.networkInterfaces.beginCreateOrUpdateAndWait(
      RG,
      'node1-nic',
      withIpc(nic, { name: 'first', subnet: { id: NODES_ID } }),
      { updateIntervalInMs: 10 },
    );
    const free = subnetFree(emu);
    const err = await net.networkInterfaces
      .beginCreateOrUpdateAndWait(RG, 'node1-nic', withIpc(nic, { name: 'second', subnet: { id: NODES_ID } }), {
        requestOptions: { customHeaders: { 'If-Match': nic.etag! } },
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ statusCode: 412, code: 'PreconditionFailedEtagMismatch' });
    const now = (await net.networkInterfaces.get(RG, 'node1-nic')).etag!;
    const message = `Etag provided in if-match header ${nic.etag} does not match etag ${now} of resource.`;
    expect((err as Error).message).toBe(message);
    expect([...cloudIpconfigs(emu).keys()]).toEqual(['first']);
    expect(subnetFree(emu)).toBe(free);
  });

  it('deletes ipConfigurations left out of the body and gives their addresses back', async () => {
    emu = await emulator({ secondaryIps: 3 }, { lro: { mode: 'sync' } });
    const net = await sdk(emu);
    const free = subnetFree(emu);
    const nic = await net.networkInterfaces.get(RG, 'node1-nic');
    const keep = nic.ipConfigurations!.filter((c) => c.name !== 'ipconfig3');
    const out = await net.networkInterfaces.beginCreateOrUpdateAndWait(RG, 'node1-nic', {
      ...nic,
      ipConfigurations: keep,
    });
    expect(out.ipConfigurations!.map((c) => c.name)).toEqual(['ipconfig1', 'ipconfig2', 'ipconfig4']);
    expect(subnetFree(emu)).toBe(free + 1);
  });
});

describe('subnets, usages, VNet', () => {
  it('reports ipConfigurations, $expand addresses and usage', async () => {
    emu = await emulator({ secondaryIps: 2 });
    const net = await sdk(emu);
    const s = await net.subnets.get(RG, 'vnet1', 'nodes');
    expect(s).toMatchObject({ addressPrefix: AZURE_DEFAULTS.subnetCidr, provisioningState: 'Succeeded' });
    expect(s.ipConfigurations).toHaveLength(3);
    expect(s.ipConfigurations![0]!.privateIPAddress).toBeUndefined();
    const ex = await net.subnets.get(RG, 'vnet1', 'nodes', { expand: 'ipConfigurations' });
    expect(ex.ipConfigurations!.every((c) => /^10\.240\.0\.\d+$/.test(c.privateIPAddress ?? ''))).toBe(true);
    const usages = [];
    for await (const u of net.virtualNetworks.listUsage(RG, 'vnet1')) usages.push(u);
    expect(usages).toEqual([expect.objectContaining({ id: NODES_ID, currentValue: 3, limit: 251, unit: 'Count' })]);
    const vnet = await net.virtualNetworks.get(RG, 'vnet1');
    expect(vnet.addressSpace?.addressPrefixes).toEqual(['10.240.0.0/16']);
  });

  it('leaves the ipConfigurations list out above the configured limit (large subnets in ARM)', async () => {
    emu = await emulator({ secondaryIps: 4 }, { subnetIpConfigListLimit: 3 });
    const net = await sdk(emu);
    expect((await net.subnets.get(RG, 'vnet1', 'nodes')).ipConfigurations).toBeUndefined();
  });
});

describe('IMDS', () => {
  it('requires Metadata: true and describes the VM, its NICs and succeeded addresses', async () => {
    emu = await emulator({ secondaryIps: 2, zone: '2' });
    const url = `${emu.url}/metadata/instance?api-version=2021-02-01`;
    expect((await fetch(url)).status).toBe(400);
    expect((await fetch(url, { headers: { Metadata: 'true', 'X-Forwarded-For': '1.2.3.4' } })).status).toBe(400);
    const doc = (await (await fetch(url, { headers: { Metadata: 'true' } })).json()) as {
      compute: Record<string, string>;
      network: {
        interface: Array<{
          macAddress: string;
          ipv4: { ipAddress: Array<{ privateIpAddress: string }>; subnet: Array<{ address: string; prefix: string }> };
        }>;
      };
    };
    expect(doc.compute).toMatchObject({
      name: 'node1',
      subscriptionId: SUB,
      resourceGroupName: RG,
      vmSize: 'Standard_D4s_v5',
      zone: '2',
      vmScaleSetName: '',
      location: 'eastus',
    });
    expect(doc.network.interface).toHaveLength(1);
    expect(doc.network.interface[0]!.macAddress).toMatch(/^[0-9A-F]{12}$/);
    expect(doc.network.interface[0]!.ipv4.ipAddress).toHaveLength(3);
    expect(doc.network.interface[0]!.ipv4.subnet).toEqual([{ address: '10.240.0.0', prefix: '24' }]);
    const net = (await (
      await fetch(`${emu.url}/metadata/instance/network?api-version=2021-02-01`, { headers: { Metadata: 'true' } })
    ).json()) as object;
    expect(net).toEqual(doc.network);
  });
});

describe('scale sets and persistence', () => {
  it('serves a uniform scale-set VM NIC only under its VMSS path', async () => {
    emu = await emulator({ vmName: 'aks-np1', vmss: { name: 'aks-np1-vmss', instanceId: '3' } });
    const net = await sdk(emu);
    const nic = await net.networkInterfaces.getVirtualMachineScaleSetNetworkInterface(
      RG,
      'aks-np1-vmss',
      '3',
      'aks-np1-nic',
    );
    expect(nic.id).toBe(
      `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute` +
        '/virtualMachineScaleSets/aks-np1-vmss/virtualMachines/3/networkInterfaces/aks-np1-nic',
    );
    await expect(net.networkInterfaces.get(RG, 'aks-np1-nic')).rejects.toMatchObject({ statusCode: 404 });
    const listed = [];
    for await (const n of net.networkInterfaces.listVirtualMachineScaleSetVMNetworkInterfaces(RG, 'aks-np1-vmss', '3'))
      listed.push(n.name);
    expect(listed).toEqual(['aks-np1-nic']);
    const meta = (await (
      await fetch(`${emu.url}/metadata/instance/compute?api-version=2021-02-01`, { headers: { Metadata: 'true' } })
    ).json()) as Record<string, string>;
    expect(meta).toMatchObject({ name: 'aks-np1-vmss_3', vmScaleSetName: 'aks-np1-vmss' });
    expect(meta.resourceId).toMatch(/virtualMachineScaleSets\/aks-np1-vmss\/virtualMachines\/3$/);
  });

  it('keeps names, addresses and etags in the saved SimCloud', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'azworld-')), 'azure-cloud.json');
    const first = openAzureWorld(file, () => seededWorld({ vmName: 'node1' }));
    expect(first.created).toBe(true);
    emu = await startAzureEmulator({ world: first.world, onChange: first.save, lro: { mode: 'sync' } });
    const net = await sdk(emu);
    const nic = await net.networkInterfaces.get(RG, 'node1-nic');
    const out = await net.networkInterfaces.beginCreateOrUpdateAndWait(
      RG,
      'node1-nic',
      withIpc(nic, { name: 'kept', subnet: { id: NODES_ID } }),
    );
    await emu.close();
    const again = openAzureWorld(file, () => {
      throw new Error('must load, not create');
    });
    expect(again.created).toBe(false);
    emu = await startAzureEmulator({ world: again.world });
    const reread = await (await sdk(emu)).networkInterfaces.get(RG, 'node1-nic');
    expect(reread.etag).toBe(out.etag);
    expect(reread.ipConfigurations!.map((c) => [c.name, c.privateIPAddress])).toEqual(
      out.ipConfigurations!.map((c) => [c.name, c.privateIPAddress]),
    );
  });
});
