/**
 * The Azure emulator on the wire, driven by the real `@azure/arm-network`
 * client (and plain fetch where the SDK cannot express the request).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NetworkInterface } from '@azure/arm-network';
import { CloudUnavailableError, ConflictError, ThrottledError } from '../../../providers/errors.js';
import {
  AZURE_DEFAULTS,
  openAzureWorld,
  seededWorld,
  startAzureEmulator,
  type AzureEmulator,
} from '../../../providers/azure/emulator/index.js';
import { VirtualClock } from '../../../ipamd/util/clock.js';
import { cloudIpconfigs, emulator, ETAG_RE, NODES_ID, RG, sdk, SUB, subnetFree } from './helpers.js';

let emu: AzureEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

const withIpc = (nic: NetworkInterface, ...extra: Array<Record<string, unknown>>): NetworkInterface => ({
  ...nic,
  ipConfigurations: [...(nic.ipConfigurations ?? []), ...(extra as NetworkInterface['ipConfigurations'] & object[])],
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

describe('errors', () => {
  it('rejects static addresses outside the subnet, in the reserved range, or in use, with Azure codes', async () => {
    emu = await emulator({ secondaryIps: 1 }, { lro: { mode: 'sync' } });
    const net = await sdk(emu);
    const nic = await net.networkInterfaces.get(RG, 'node1-nic');
    const used = nic.ipConfigurations![1]!.privateIPAddress!;
    const put = (ip: string) =>
      net.networkInterfaces
        .beginCreateOrUpdateAndWait(
          RG,
          'node1-nic',
          withIpc(nic, {
            name: 's',
            privateIPAllocationMethod: 'Static',
            privateIPAddress: ip,
            subnet: { id: NODES_ID },
          }),
        )
        .catch((e: unknown) => e);
    expect(await put('10.241.0.10')).toMatchObject({ statusCode: 400, code: 'PrivateIPAddressNotInSubnet' });
    expect(await put('10.240.0.2')).toMatchObject({ statusCode: 400, code: 'PrivateIPAddressInReservedRange' });
    expect(await put(used)).toMatchObject({ statusCode: 400, code: 'PrivateIPAddressIsAllocated' });
    expect(await put('10.240.0.200')).toMatchObject({
      ipConfigurations: expect.arrayContaining([
        expect.objectContaining({ name: 's', privateIPAddress: '10.240.0.200' }),
      ]),
    });
  });

  it('answers SubnetIsFull synchronously (400) and allocates nothing', async () => {
    emu = await emulator({ subnetCidr: '10.240.0.0/28' }, { lro: { mode: 'sync' } });
    const net = await sdk(emu);
    const nic = await net.networkInterfaces.get(RG, 'node1-nic');
    const free = subnetFree(emu);
    expect(free).toBe(10); // 16 - 5 reserved - the primary
    const many = Array.from({ length: 11 }, (_, i) => ({ name: `x${i}`, subnet: { id: NODES_ID } }));
    const err = await net.networkInterfaces
      .beginCreateOrUpdateAndWait(RG, 'node1-nic', withIpc(nic, ...many))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ statusCode: 400, code: 'SubnetIsFull' });
    expect((err as Error).message).toBe(
      'Subnet nodes with address prefix 10.240.0.0/28 does not have enough capacity for 11 IP addresses.',
    );
    expect(subnetFree(emu)).toBe(free);
    expect(cloudIpconfigs(emu).size).toBe(0);
  });

  it('can report SubnetIsFull in the operation result, as the Network RP does', async () => {
    emu = await emulator({ subnetCidr: '10.240.0.0/28' }, { lro: { asyncAllocationErrors: true } });
    const net = await sdk(emu);
    const nic = await net.networkInterfaces.get(RG, 'node1-nic');
    const many = Array.from({ length: 11 }, (_, i) => ({ name: `x${i}`, subnet: { id: NODES_ID } }));
    const err = await net.networkInterfaces
      .beginCreateOrUpdateAndWait(RG, 'node1-nic', withIpc(nic, ...many), { updateIntervalInMs: 10 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(
      /^The long-running operation has failed\. SubnetIsFull\. Subnet nodes with address prefix/,
    );
    expect(cloudIpconfigs(emu).size).toBe(0);
  });

  it('rolls a failed operation back: additions released, removals restored, NIC Failed', async () => {
    emu = await emulator({ secondaryIps: 2 });
    const net = await sdk(emu);
    const before = cloudIpconfigs(emu);
    const free = subnetFree(emu);
    emu.faults.failNext(
      'CompleteOperation',
      1,
      () =>
        new CloudUnavailableError({
          provider: 'azure',
          operation: 'CompleteOperation',
          cloudCode: 'NetworkingInternalOperationError',
          message: 'injected',
        }),
    );
    const nic = await net.networkInterfaces.get(RG, 'node1-nic');
    const body = {
      ...nic,
      ipConfigurations: [
        ...nic.ipConfigurations!.filter((c) => c.name !== 'ipconfig2'),
        { name: 'new1', subnet: { id: NODES_ID } },
      ],
    };
    const err = await net.networkInterfaces
      .beginCreateOrUpdateAndWait(RG, 'node1-nic', body, { updateIntervalInMs: 10 })
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      /^The long-running operation has failed\. NetworkingInternalOperationError\./,
    );
    expect(cloudIpconfigs(emu)).toEqual(before);
    expect(subnetFree(emu)).toBe(free);
    expect((await net.networkInterfaces.get(RG, 'node1-nic')).provisioningState).toBe('Failed');
  });

  it('throttles with 429 + Retry-After, which the SDK honours when its retries are on', async () => {
    emu = await emulator({}, { retryAfterMs: 1000 });
    emu.faults.failNext(
      'GetNetworkInterface',
      1,
      () =>
        new ThrottledError({
          provider: 'azure',
          operation: 'GetNetworkInterface',
          cloudCode: 'TooManyRequests',
          message: 'throttled',
        }),
    );
    const net = await sdk(emu, 1);
    await net.networkInterfaces.get(RG, 'node1-nic');
    const [first, second] = emu.log();
    expect(first).toMatchObject({ status: 429, code: 'TooManyRequests' });
    expect(second).toMatchObject({ status: 200 });
    // Retry-After is whole seconds; the SDK waited for it (a lower bound, not a speed check).
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(990);
  });

  it('answers an injected 409 AnotherOperationInProgress with status 409', async () => {
    emu = await emulator();
    emu.faults.failNext(
      'PutNetworkInterface',
      1,
      () =>
        new ConflictError({
          provider: 'azure',
          operation: 'PutNetworkInterface',
          cloudCode: 'AnotherOperationInProgress',
          message: 'busy',
        }),
    );
    const net = await sdk(emu);
    const nic = await net.networkInterfaces.get(RG, 'node1-nic');
    await expect(net.networkInterfaces.beginCreateOrUpdateAndWait(RG, 'node1-nic', nic)).rejects.toMatchObject({
      statusCode: 409,
      code: 'AnotherOperationInProgress',
    });
  });

  it('needs api-version and a bearer token on ARM routes', async () => {
    emu = await emulator();
    const url = `${emu.url}/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/networkInterfaces/node1-nic`;
    const noAuth = await fetch(`${url}?api-version=2025-05-01`);
    expect(noAuth.status).toBe(401);
    expect(await noAuth.json()).toMatchObject({ error: { code: 'AuthenticationFailed' } });
    const noVersion = await fetch(url, { headers: { authorization: 'Bearer x' } });
    expect(noVersion.status).toBe(400);
    expect(await noVersion.json()).toMatchObject({ error: { code: 'MissingApiVersionParameter' } });
    const ok = await fetch(`${url}?api-version=2025-05-01`, { headers: { authorization: 'Bearer x' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-ms-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('limits a NIC to 256 ipConfigurations', async () => {
    emu = await emulator({ subnetCidr: '10.240.0.0/22' }, { lro: { mode: 'sync' } });
    const net = await sdk(emu);
    const nic = await net.networkInterfaces.get(RG, 'node1-nic');
    const ipcs = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `m${i}`, subnet: { id: NODES_ID } }));
    await expect(
      net.networkInterfaces.beginCreateOrUpdateAndWait(RG, 'node1-nic', withIpc(nic, ...ipcs(256))),
    ).rejects.toMatchObject({ statusCode: 400 });
    const ok = await net.networkInterfaces.beginCreateOrUpdateAndWait(RG, 'node1-nic', withIpc(nic, ...ipcs(255)));
    expect(ok.ipConfigurations).toHaveLength(256);
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
      `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/aks-np1-vmss/virtualMachines/3/networkInterfaces/aks-np1-nic`,
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
