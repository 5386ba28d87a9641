/**
 * Test and bench helper: a loopback stand-in for the managed-identity token endpoint of Azure IMDS
 * (`GET /metadata/identity/oauth2/token?api-version=…&resource=…`, header `Metadata: true`), so
 * bench:memory can run the daemon on the credential a real node uses (`AZURE_CREDENTIAL=default`)
 * without leaving the machine. The daemon is pointed at it with `AZURE_POD_IDENTITY_AUTHORITY_HOST`,
 * the variable @azure/identity and MSAL document for a non-default IMDS host (AAD Pod Identity), and
 * which the daemon's own managed-identity credential honours too.
 *
 * It runs in the caller's process (in bench:memory, not counted in the daemon's). It answers as IMDS
 * does (MicrosoftDocs `active-directory/managed-identities-azure-resources/how-to-use-vm-token.md`):
 * numbers as strings, `expires_on` in seconds since the epoch.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TokenServer {
  /** `http://127.0.0.1:<port>`: the value for AZURE_POD_IDENTITY_AUTHORITY_HOST. */
  url: string;
  /** The query of the last token request (resource, client_id, api-version). */
  lastQuery(): URLSearchParams | undefined;
  /** Tokens handed out (a credential that caches asks once per lifetime). */
  issued(): number;
  close(): Promise<void>;
}

export interface TokenServerOptions {
  /** Token lifetime in seconds (IMDS: about 24 h). */
  lifetimeS?: number;
  /** Answer every token request with this status and body instead (IMDS's errors). */
  fail?: { status: number; body: unknown };
}

export async function startTokenServer(o: TokenServerOptions = {}): Promise<TokenServer> {
  const LIFETIME_S = o.lifetimeS ?? 3600;
  let issued = 0;
  let last: URLSearchParams | undefined;
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    // MSAL asks for the path with a trailing slash; IMDS serves both.
    if (u.pathname.replace(/\/$/, '') !== '/metadata/identity/oauth2/token') return send(404, { error: 'not_found' });
    // IMDS refuses a request without the header (and a proxied one), so a credential that forgets it fails here.
    if (req.headers.metadata !== 'true' || req.headers['x-forwarded-for'] !== undefined)
      return send(400, { error: 'invalid_request', error_description: 'Required metadata header not specified' });
    last = u.searchParams;
    const resource = u.searchParams.get('resource');
    if (!resource || !u.searchParams.get('api-version'))
      return send(400, { error: 'invalid_request', error_description: 'resource and api-version are required' });
    if (o.fail) return send(o.fail.status, o.fail.body);
    issued++;
    const now = Math.floor(Date.now() / 1000);
    send(200, {
      access_token: `vpc-ipam-bench-mi-token-${issued}`,
      client_id: u.searchParams.get('client_id') ?? '00000000-0000-0000-0000-000000000000',
      expires_in: String(LIFETIME_S),
      expires_on: String(now + LIFETIME_S),
      ext_expires_in: String(LIFETIME_S),
      not_before: String(now),
      resource,
      token_type: 'Bearer',
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    issued: () => issued,
    lastQuery: () => last,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
