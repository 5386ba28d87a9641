/**
 * @module azure managed-identity credential
 * A TokenCredential for the VM's managed identity that asks IMDS's token
 * endpoint itself (`GET /metadata/identity/oauth2/token`, header
 * `Metadata: true`; MicrosoftDocs `how-to-use-vm-token.md`): the request
 * `ManagedIdentityCredential` makes through MSAL on a VM. MSAL and
 * @azure/identity are not loaded for it: measured in bench:memory (azure-mi
 * against azure-msal rows), they cost the daemon's heap about 2 MiB and its
 * start-up peak about 7 MiB.
 *
 * - `AZURE_CLIENT_ID` picks a user-assigned identity (`client_id=`).
 * - The token endpoint's host is `AZURE_POD_IDENTITY_AUTHORITY_HOST` when
 *   set (the variable MSAL and @azure/identity honour), else IMDS's.
 * - A token is reused until half its lifetime is gone (MSAL's `refresh_in`
 *   for tokens of 2 h or more; managed-identity tokens live about 24 h), or
 *   until 5 minutes before expiry for shorter ones. Concurrent callers share
 *   one request.
 * - No retries here: the daemon's CloudCaller retries the ARM call, which
 *   asks again. Failures come out typed (`mapAzureError`, operation
 *   `imds.token`): IMDS's 400 "Identity not found" as a request the cloud
 *   refuses, 429/5xx as throttling or unavailability.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import type { Clock } from '../clock.js';
import { mapAzureError } from './errors.js';
import { httpRequest } from '../http-request.js';

export interface ManagedIdentityOptions {
  /** Base URL of the token endpoint (IMDS, or AZURE_POD_IDENTITY_AUTHORITY_HOST). */
  endpoint: string;
  /** Client id of a user-assigned identity; unset, the VM's system-assigned one. */
  clientId?: string;
  /** Wall-clock time (tokens carry wall-clock expiries) and the request timeout. */
  clock: Clock;
}

const API_VERSION = '2018-02-01';
const TIMEOUT_MS = 5000;
const TWO_HOURS_MS = 2 * 3_600_000;
const EARLY_MS = 5 * 60_000;

interface Held {
  token: AccessToken;
  refreshAt: number;
}

export class ManagedIdentityCredential implements TokenCredential {
  private readonly held = new Map<string, Held>();
  private readonly pending = new Map<string, Promise<AccessToken>>();

  constructor(private readonly o: ManagedIdentityOptions) {}

  async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken | null> {
    const list = Array.isArray(scopes) ? scopes : [scopes];
    if (list.length !== 1) throw new Error(`managed identity takes one scope, got ${list.length}`);
    // IMDS takes a resource, not a scope: "https://management.azure.com/.default" → "https://management.azure.com".
    const resource = list[0]!.replace(/\/\.default$/, '');
    const h = this.held.get(resource);
    if (h && this.o.clock.now() < h.refreshAt) return h.token;
    let p = this.pending.get(resource);
    if (!p) {
      p = this.request(resource).finally(() => this.pending.delete(resource));
      this.pending.set(resource, p);
    }
    return p;
  }

  private async request(resource: string): Promise<AccessToken> {
    const q = new URLSearchParams({ 'api-version': API_VERSION, resource });
    if (this.o.clientId) q.set('client_id', this.o.clientId);
    const url = `${this.o.endpoint}/metadata/identity/oauth2/token?${q}`;
    const timeout = new AbortController();
    const done = new AbortController();
    this.o.clock.sleep(TIMEOUT_MS, done.signal).then(
      () => timeout.abort(new Error(`IMDS token endpoint did not answer within ${TIMEOUT_MS} ms`)),
      () => undefined,
    );
    let res;
    try {
      res = await httpRequest(url, { headers: { Metadata: 'true' }, signal: timeout.signal });
    } catch (err) {
      throw mapAzureError(err, 'imds.token');
    } finally {
      done.abort();
    }
    const body = parse(res.text);
    if (res.status !== 200 || typeof body?.access_token !== 'string') {
      const why = body?.error_description ?? body?.error ?? res.text.slice(0, 200);
      throw mapAzureError(
        {
          name: 'RestError',
          statusCode: res.status === 200 ? 502 : res.status,
          message: `IMDS token ${res.status}: ${String(why)}`,
          response: { headers: res.headers },
        },
        'imds.token',
      );
    }
    const now = this.o.clock.now();
    const expiresOn = Number(body.expires_on) * 1000;
    const expires = Number.isFinite(expiresOn) && expiresOn > 0 ? expiresOn : now + Number(body.expires_in) * 1000;
    const life = expires - now;
    const token: AccessToken = { token: body.access_token, expiresOnTimestamp: expires, tokenType: 'Bearer' };
    this.held.set(resource, { token, refreshAt: life >= TWO_HOURS_MS ? now + life / 2 : expires - EARLY_MS });
    return token;
  }
}

interface TokenBody {
  access_token?: unknown;
  expires_on?: unknown;
  expires_in?: unknown;
  error?: unknown;
  error_description?: unknown;
}

function parse(text: string): TokenBody | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' ? (v as TokenBody) : undefined;
  } catch {
    return undefined;
  }
}
