/**
 * @module azure credential
 * Authentication for the ARM client.
 *
 * - Production: `managed-identity.ts` (the VM's identity straight from IMDS)
 *   or `DefaultAzureCredential`; `credential-factory.ts` picks by
 *   `AZURE_CREDENTIAL`.
 * - Emulator: {@link StaticTestCredential}, a real `@azure/core-auth`
 *   TokenCredential that hands out a fixed token. It is only ever used with a
 *   loopback endpoint, so the token cannot reach Azure.
 *
 * The SDK's bearer-token policy refuses plain-HTTP URLs (cloud-apis.md §4.1).
 * For an `http://127.x` emulator we replace it with
 * {@link loopbackBearerPolicy}, which still asks the credential for a token
 * and sends it, so the credential path is exercised end to end.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';

export class StaticTestCredential implements TokenCredential {
  calls = 0;
  constructor(
    private readonly token = 'vpc-ipam-emulator-token',
    private readonly lifetimeMs = 3_600_000,
    // Library code takes time from the daemon's Clock; the default is for tests and scripts.
    private readonly now: () => number = () => Date.now(),
  ) {}

  async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken | null> {
    void scopes;
    this.calls++;
    return { token: this.token, expiresOnTimestamp: this.now() + this.lifetimeMs };
  }
}

/** The structural shape of a core-rest-pipeline policy (kept local: that package is the SDK's, not ours). */
export interface PipelinePolicyLike {
  name: string;
  sendRequest(
    request: { headers: { set(name: string, value: string): void } },
    next: (request: never) => Promise<unknown>,
  ): Promise<unknown>;
}

/** Bearer tokens over plain HTTP, allowed only because the endpoint is loopback (checked by the caller). */
export function loopbackBearerPolicy(credential: TokenCredential, scope: string): PipelinePolicyLike {
  return {
    name: 'vpcIpamLoopbackBearerPolicy',
    async sendRequest(request, next) {
      const t = await credential.getToken(scope);
      if (t) request.headers.set('authorization', `Bearer ${t.token}`);
      return next(request as never);
    },
  };
}

/** True for http(s)://127.0.0.0/8, localhost or [::1]. */
export function isLoopbackUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  const h = u.hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
