/**
 * The Azure adapter's failures against the emulator, through the real SDK: typed errors, and the concurrency
 * rules (etag 412, 409 in progress, failed operations, an ambiguous outcome adopted instead of repeated).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CloudUnavailableError, ConflictError, IpamError, ThrottledError } from '../../../providers/errors.js';
import { IPCONFIG_PREFIX } from '../../../providers/azure/index.js';
import { NIC, caller, fail } from './provider-harness.js';
import type { AzureEmulator } from '../../../providers/azure/emulator/index.js';
import { cloudIpconfigs, emulator, NODES_ID, plusOneBody, provider, subnetFree } from './helpers.js';
let emu: AzureEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

const uniq = (xs: string[]) => new Set(xs).size === xs.length;

describe('errors', () => {
  it('maps SubnetIsFull to SubnetFullError, synchronous or in the operation result, allocating nothing', async () => {
    for (const asyncAllocationErrors of [false, true]) {
      emu = await emulator({ subnetCidr: '10.240.0.0/28' }, { lro: { asyncAllocationErrors } });
      const p = provider(emu);
      await p.describeNode();
      const err = await fail(p.assignAddresses(NIC, { kind: 'ip', count: 11 }));
      expect(err).toMatchObject({
        code: 'CLOUD_SUBNET_FULL',
        cloudCode: 'SubnetIsFull',
        provider: 'azure',
        retryable: false,
      });
      expect(err!.message).toContain('does not have enough capacity for 11 IP addresses');
      expect(cloudIpconfigs(emu).size).toBe(0);
      expect(await p.assignAddresses(NIC, { kind: 'ip', count: 10 })).toHaveLength(10);
      await emu.close();
      emu = undefined;
    }
  });

  it('maps 429 to ThrottledError with retryAfterMs from Retry-After, which the CloudCaller waits out', async () => {
    emu = await emulator({}, { retryAfterMs: 1000 });
    const p = provider(emu);
    await p.describeNode();
    const tooMany = () =>
      new ThrottledError({
        provider: 'azure',
        operation: 'PutNetworkInterface',
        cloudCode: 'TooManyRequests',
        message: 'slow down',
      });
    emu.faults.failNext('PutNetworkInterface', 1, tooMany);
    const err = await fail(p.assignAddresses(NIC, { kind: 'ip', count: 1 }));
    expect(err).toBeInstanceOf(ThrottledError);
    expect(err).toMatchObject({ cloudCode: 'TooManyRequests', retryAfterMs: 1000, retryable: true });
    emu.faults.failNext('PutNetworkInterface', 1, tooMany);
    const added = await caller().call('assignAddresses', () => p.assignAddresses(NIC, { kind: 'ip', count: 1 }));
    expect(added).toHaveLength(1);
    const puts = emu.log().filter((e) => e.action === 'PutNetworkInterface');
    const [throttled, ok] = puts.slice(-2);
    expect(throttled!.status).toBe(429);
    expect(ok!.status).toBe(200);
    const getAfter = emu.log().find((e) => e.action === 'GetNetworkInterface' && e.at > throttled!.at)!;
    expect(getAfter.at - throttled!.at).toBeGreaterThanOrEqual(990); // Retry-After honoured (a lower bound)
  });

  it(
    'resolves a second writer between our GET and PUT (412) by re-reading: nothing lost, nothing ' + 'duplicated',
    async () => {
      emu = await emulator({ secondaryIps: 1 }, { lro: { mode: 'sync' } });
      const p = provider(emu);
      await p.describeNode();
      let armed = true;
      emu.afterNicRead = (name) => {
        if (!armed) return;
        armed = false;
        // Someone else (the AKS RP, another tool) adds an ipConfiguration right after our read.
        const nic = emu!.world.nic(name)!;
        const body = {
          properties: {
            ipConfigurations: [
              ...emu!.world.ipConfigs(nic).map((c) => ({
                name: c.name,
                properties: { primary: c.primary, subnet: { id: NODES_ID }, privateIPAddress: c.ip },
              })),
              { name: 'other-writer', properties: { subnet: { id: NODES_ID } } },
            ],
          },
        };
        emu!.operations.put(nic, body, undefined, 'sync');
      };
      const added = await caller().call('assignAddresses', () => p.assignAddresses(NIC, { kind: 'ip', count: 2 }));
      expect(
        emu
          .log()
          .filter((e) => e.action === 'PutNetworkInterface')
          .map((e) => e.status),
      ).toEqual([412, 200]);
      const cloud = cloudIpconfigs(emu);
      expect([...cloud.keys()]).toEqual(expect.arrayContaining(['ipconfig2', 'other-writer']));
      expect(cloud.size).toBe(4);
      expect(uniq([...cloud.values()].map((c) => c.ip))).toBe(true);
      expect(added.map((b) => b.cidr.replace('/32', ''))).toEqual(
        [...cloud.entries()].filter(([n]) => n.startsWith(IPCONFIG_PREFIX)).map(([, c]) => c.ip),
      );
    },
  );

  it('maps 409 AnotherOperationInProgress to ConflictError and succeeds once the other operation ends', async () => {
    emu = await emulator();
    const p = provider(emu);
    await p.describeNode();
    const nic = emu.world.nic('node1-nic')!;
    // Someone else's operation, nobody polls it: it ends by itself after 300 ms.
    emu.operations.put(nic, plusOneBody('theirs'), undefined, 'async', 300);
    const err = await fail(p.assignAddresses(NIC, { kind: 'ip', count: 1 }));
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({ cloudCode: 'AnotherOperationInProgress', retryable: true });
    // Retries until the other operation ends.
    const added = await caller(100).call('assignAddresses', () => p.assignAddresses(NIC, { kind: 'ip', count: 1 }));
    expect(added).toHaveLength(1);
    const names = [...cloudIpconfigs(emu).keys()];
    expect(names).toHaveLength(2);
    expect(names).toContain('theirs');
    expect(cloudIpconfigs(emu).get(names.find((n) => n.startsWith(IPCONFIG_PREFIX))!)!.ip).toBe(
      added[0]!.cidr.replace('/32', ''),
    );
  });

  it('leaves nothing half-done when the long-running operation fails, and reports its code', async () => {
    emu = await emulator({ secondaryIps: 2 });
    const p = provider(emu);
    const inv = await p.describeNode();
    const before = cloudIpconfigs(emu);
    const free = subnetFree(emu);
    let atFailure: { ipconfigs: Map<string, unknown>; free: number } | undefined;
    emu.operations.onOperationDone = (op) => {
      if (op.status === 'Failed') atFailure = { ipconfigs: cloudIpconfigs(emu!), free: subnetFree(emu!) };
    };
    const injected = () =>
      new CloudUnavailableError({
        provider: 'azure',
        operation: 'CompleteOperation',
        cloudCode: 'NetworkingInternalOperationError',
        message: 'An error occurred.',
      });
    emu.faults.failNext('CompleteOperation', 1, injected);
    const err = await fail(p.assignAddresses(NIC, { kind: 'ip', count: 3 }));
    expect(err).toMatchObject({
      code: 'CLOUD_UNAVAILABLE',
      cloudCode: 'NetworkingInternalOperationError',
      message: 'azure networkInterfaces.createOrUpdate: NetworkingInternalOperationError: An error occurred.',
    });
    expect(atFailure).toEqual({ ipconfigs: before, free });
    // A shrink whose operation fails keeps the addresses where they were.
    emu.faults.failNext('CompleteOperation', 1, injected);
    expect(await fail(p.unassignAddresses(NIC, inv.interfaces[0]!.blocks))).toMatchObject({
      code: 'CLOUD_UNAVAILABLE',
    });
    expect(cloudIpconfigs(emu)).toEqual(before);
    // Retried as the CloudCaller would: exactly the requested addresses, no strays.
    emu.faults.failNext('CompleteOperation', 1, injected);
    const added = await caller().call('assignAddresses', () => p.assignAddresses(NIC, { kind: 'ip', count: 3 }));
    expect(added).toHaveLength(3);
    expect(cloudIpconfigs(emu).size).toBe(5);
    expect(subnetFree(emu)).toBe(free - 3);
  });

  it('adopts addresses from a write whose answer was lost instead of asking again', async () => {
    emu = await emulator();
    const p = provider(emu);
    await p.describeNode();
    // The operation succeeds, then the SDK's final GET of the NIC fails: our call sees an error.
    emu.operations.onOperationDone = () => {
      emu!.faults.failNext(
        'GetNetworkInterface',
        1,
        () =>
          new CloudUnavailableError({
            provider: 'azure',
            operation: 'GetNetworkInterface',
            cloudCode: 'InternalServerError',
            message: 'lost',
          }),
      );
      emu!.operations.onOperationDone = undefined;
    };
    const err = await fail(p.assignAddresses(NIC, { kind: 'ip', count: 2 }));
    expect(IpamError.is(err) && err.code).toBe('CLOUD_UNAVAILABLE');
    expect(cloudIpconfigs(emu).size).toBe(2);
    const puts = emu.calls().PutNetworkInterface;
    const again = await p.assignAddresses(NIC, { kind: 'ip', count: 2 });
    expect(emu.calls().PutNetworkInterface).toBe(puts); // nothing asked twice
    expect(again.map((b) => b.cidr).sort()).toEqual([...cloudIpconfigs(emu).values()].map((c) => `${c.ip}/32`).sort());
  });

  it('refuses to grow past 256 ipConfigurations per NIC', async () => {
    emu = await emulator({ subnetCidr: '10.240.0.0/22' }, { lro: { mode: 'sync' } });
    const p = provider(emu);
    await p.describeNode();
    expect(await p.assignAddresses(NIC, { kind: 'ip', count: 255 })).toHaveLength(255);
    expect(await fail(p.assignAddresses(NIC, { kind: 'ip', count: 1 }))).toMatchObject({ code: 'CLOUD_IP_LIMIT' });
  });
});
