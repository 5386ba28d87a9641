/**
 * Error mapping (providers/azure/errors.ts) on the shapes the SDK really
 * produces: RestErrors from the emulator through `@azure/arm-network`, and
 * core-lro's plain Error for a failed operation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  CloudNotFoundError,
  CloudUnavailableError,
  ConflictError,
  InvalidCloudRequestError,
  SubnetFullError,
  ThrottledError,
  UnauthorizedError,
} from '../../../providers/errors.js';
import { mapAzureError, retryAfterMs } from '../../../providers/azure/index.js';
import type { AzureEmulator } from '../../../providers/azure/emulator/index.js';
import { emulator, RG, sdk } from './helpers.js';

let emu: AzureEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

describe('mapAzureError on real SDK errors', () => {
  it('maps status and ARM code of RestErrors, with Retry-After', async () => {
    emu = await emulator({}, { retryAfterMs: 3000 });
    const net = await sdk(emu);
    const cases: Array<[() => Error, string, unknown, Record<string, unknown>]> = [
      [
        () => new ThrottledError({ provider: 'azure', operation: 'x', cloudCode: 'TooManyRequests', message: 'm' }),
        'TooManyRequests',
        ThrottledError,
        { retryAfterMs: 3000 },
      ],
      [
        () =>
          new ConflictError({
            provider: 'azure',
            operation: 'x',
            cloudCode: 'AnotherOperationInProgress',
            message: 'm',
          }),
        'AnotherOperationInProgress',
        ConflictError,
        {},
      ],
      [
        () =>
          new UnauthorizedError({ provider: 'azure', operation: 'x', cloudCode: 'AuthorizationFailed', message: 'm' }),
        'AuthorizationFailed',
        UnauthorizedError,
        {},
      ],
      [
        () =>
          new CloudUnavailableError({
            provider: 'azure',
            operation: 'x',
            cloudCode: 'InternalServerError',
            message: 'm',
          }),
        'InternalServerError',
        CloudUnavailableError,
        {},
      ],
    ];
    for (const [make, code, Cls, extra] of cases) {
      emu.faults.failNext('GetNetworkInterface', 1, make);
      const raw = await net.networkInterfaces.get(RG, 'node1-nic').catch((e: unknown) => e);
      const mapped = mapAzureError(raw, 'networkInterfaces.get');
      expect(mapped).toBeInstanceOf(Cls);
      expect(mapped).toMatchObject({
        cloudCode: code,
        provider: 'azure',
        operation: 'networkInterfaces.get',
        ...extra,
      });
    }
    const missing = mapAzureError(
      await net.networkInterfaces.get(RG, 'nope').catch((e: unknown) => e),
      'networkInterfaces.get',
    );
    expect(missing).toBeInstanceOf(CloudNotFoundError);
    expect(missing.cloudCode).toBe('NotFound');
  });

  it('maps a failed long-running operation by its captured code, or by the core-lro message', () => {
    const lroErr = new Error(
      'The long-running operation has failed. SubnetIsFull. Subnet nodes with address prefix 10.0.0.0/28 does not ' +
        'have enough capacity for 3 IP addresses.',
    );
    const parsed = mapAzureError(lroErr, 'op');
    expect(parsed).toBeInstanceOf(SubnetFullError);
    expect(parsed.message).toBe(
      'azure op: SubnetIsFull: Subnet nodes with address prefix 10.0.0.0/28 does not have enough capacity for 3 IP ' +
        'addresses.',
    );
    const captured = mapAzureError(new Error('The long-running operation has failed'), 'op', {
      code: 'AnotherOperationInProgress',
      message: 'busy',
    });
    expect(captured).toBeInstanceOf(ConflictError);
    expect(mapAzureError(new Error('The long-running operation has failed. Weird. x'), 'op')).toBeInstanceOf(
      CloudUnavailableError,
    );
  });

  it('treats connection failures as unavailable and invalid requests as not retryable', async () => {
    emu = await emulator();
    const net = await sdk(emu);
    const nic = await net.networkInterfaces.get(RG, 'node1-nic');
    const bad = await net.networkInterfaces
      .beginCreateOrUpdateAndWait(RG, 'node1-nic', { ...nic, ipConfigurations: [] })
      .catch((e: unknown) => e);
    const mapped = mapAzureError(bad, 'put');
    expect(mapped).toBeInstanceOf(InvalidCloudRequestError);
    expect(mapped.retryable).toBe(false);
    await emu.close();
    emu = undefined;
    const down = mapAzureError(await net.networkInterfaces.get(RG, 'node1-nic').catch((e: unknown) => e), 'get');
    expect(down).toBeInstanceOf(CloudUnavailableError);
    expect(down.retryable).toBe(true);
  });
});

describe('retryAfterMs', () => {
  const h = (m: Record<string, string>) => (n: string) => m[n];
  it('reads retry-after-ms, x-ms-retry-after-ms, seconds and HTTP dates', () => {
    expect(retryAfterMs(h({ 'retry-after-ms': '250' }), 0)).toBe(250);
    expect(retryAfterMs(h({ 'x-ms-retry-after-ms': '40' }), 0)).toBe(40);
    expect(retryAfterMs(h({ 'retry-after': '7' }), 0)).toBe(7000);
    expect(retryAfterMs(h({ 'retry-after': 'Thu, 01 Jan 1970 00:00:05 GMT' }), 2000)).toBe(3000);
    expect(retryAfterMs(h({ 'retry-after': 'soon' }), 0)).toBeUndefined();
    expect(retryAfterMs(h({}), 0)).toBeUndefined();
  });
});
