/**
 * The daemon's own managed-identity credential (providers/azure/managed-identity.ts) against a loopback
 * stand-in for IMDS's token endpoint (test/helpers/imds-token-server.ts), and how AZURE_CREDENTIAL
 * chooses it (providers/azure/config.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, InvalidCloudRequestError } from '../../../providers/errors.js';
import { parseAzureSettings } from '../../../providers/azure/index.js';
import { ManagedIdentityCredential } from '../../../providers/azure/managed-identity.js';
import type { Clock } from '../../../providers/clock.js';
import { startTokenServer, type TokenServer } from '../../helpers/imds-token-server.js';

/** Wall time the test moves by hand; sleeps (the request timeout) never fire. */
function handClock(start = Date.now()): Clock & { t: number } {
  return {
    t: start,
    now() {
      return this.t;
    },
    sleep: (_ms, signal) =>
      new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')))),
  };
}

let server: TokenServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('ManagedIdentityCredential', () => {
  it('asks IMDS for the resource of the scope, with the identity named, and reuses the token', async () => {
    server = await startTokenServer({ lifetimeS: 24 * 3600 });
    const clock = handClock(Date.now());
    const cred = new ManagedIdentityCredential({ endpoint: server.url, clientId: 'client-1', clock });
    const [a, b] = await Promise.all([
      cred.getToken('https://management.azure.com/.default'),
      cred.getToken(['https://management.azure.com/.default']),
    ]);
    expect(a?.token).toBe('vpc-ipam-bench-mi-token-1');
    expect(b).toEqual(a);
    expect(server.issued()).toBe(1);
    const q = server.lastQuery()!;
    expect(q.get('resource')).toBe('https://management.azure.com');
    expect(q.get('client_id')).toBe('client-1');
    expect(q.get('api-version')).toBe('2018-02-01');
    expect(a!.expiresOnTimestamp).toBeGreaterThan(clock.t + 23 * 3600_000);
    // Reused until half its lifetime is gone, then asked for again.
    clock.t += 11 * 3600_000;
    expect((await cred.getToken('https://management.azure.com/.default'))?.token).toBe(a!.token);
    clock.t += 2 * 3600_000;
    expect((await cred.getToken('https://management.azure.com/.default'))?.token).toBe('vpc-ipam-bench-mi-token-2');
  });

  it("maps IMDS's refusal (no identity on the VM) to a typed cloud error", async () => {
    server = await startTokenServer({
      fail: { status: 400, body: { error: 'invalid_request', error_description: 'Identity not found' } },
    });
    const cred = new ManagedIdentityCredential({ endpoint: server.url, clock: handClock() });
    const err = await cred.getToken('https://management.azure.com/.default').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidCloudRequestError);
    expect((err as Error).message).toMatch(/Identity not found/);
    expect((err as InvalidCloudRequestError).operation).toBe('imds.token');
  });

  it('refuses more than one scope', async () => {
    const cred = new ManagedIdentityCredential({ endpoint: 'http://127.0.0.1:9', clock: handClock() });
    await expect(cred.getToken(['a/.default', 'b/.default'])).rejects.toThrow(/one scope/);
  });
});

describe('AZURE_CREDENTIAL', () => {
  const arm = { AZURE_ARM_ENDPOINT: 'https://management.azure.com' };
  it('defaults to managed-identity on Azure, and to default when a DefaultAzureCredential variable is set', () => {
    expect(parseAzureSettings(arm).credential).toBe('managed-identity');
    for (const k of ['AZURE_FEDERATED_TOKEN_FILE', 'AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH'])
      expect(parseAzureSettings({ ...arm, [k]: '/x' }).credential).toBe('default');
    expect(parseAzureSettings({ AZURE_ARM_ENDPOINT: 'http://127.0.0.1:1' }).credential).toBe('static');
  });

  it('takes the token host from AZURE_POD_IDENTITY_AUTHORITY_HOST, else IMDS, and refuses unknown kinds', () => {
    expect(parseAzureSettings(arm).identityEndpoint).toBe('http://169.254.169.254');
    const s = parseAzureSettings({ ...arm, AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://127.0.0.1:8080/' });
    expect(s.identityEndpoint).toBe('http://127.0.0.1:8080');
    expect(() => parseAzureSettings({ ...arm, AZURE_CREDENTIAL: 'msal' })).toThrow(ConfigError);
  });
});
