/**
 * The Azure emulator's refusals on the wire, driven by the real `@azure/arm-network` client (and plain fetch where
 * the SDK cannot express the request): Azure's codes, statuses and wording, and what a refusal leaves unchanged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CloudUnavailableError, ConflictError, ThrottledError } from '../../../providers/errors.js';
import type { AzureEmulator } from '../../../providers/azure/emulator/index.js';
import { cloudIpconfigs, emulator, NODES_ID, RG, sdk, SUB, subnetFree, withIpc } from './helpers.js';

let emu: AzureEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
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
    const url =
      `${emu.url}/subscriptions/${SUB}/resourceGroups/${RG}` +
      '/providers/Microsoft.Network/networkInterfaces/node1-nic';
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
