/**
 * @module azure emulator IMDS route
 * `GET /metadata/instance[/compute|/network]` and `/metadata/versions`, with
 * Azure IMDS's own checks, in the order it documents them
 * (MicrosoftDocs/azure-compute-docs `articles/virtual-machines/instance-metadata-service.md`,
 * "Security and authentication" and "Versioning"):
 *
 * - `X-Forwarded-For` present, or `Metadata: true` missing → 400;
 * - `api-version` missing or not one IMDS serves → 400 with the documented
 *   body: "Bad request. api-version is invalid or was not specified in the
 *   request. For more information refer to aka.ms/azureimds" and the three
 *   newest versions in `newest-versions`;
 * - `/metadata/versions` needs no api-version and lists them all.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AzureWorld } from './azure-world.js';
import { imdsJson } from './json-views.js';

/** The api-versions Azure IMDS serves, newest first (the list in the document above). */
export const IMDS_API_VERSIONS: readonly string[] = [
  '2025-04-07',
  '2024-07-17',
  '2024-03-15',
  '2023-11-15',
  '2023-07-01',
  '2021-12-13',
  '2021-11-15',
  '2021-11-01',
  '2021-10-01',
  '2021-08-01',
  '2021-05-01',
  '2021-03-01',
  '2021-02-01',
  '2021-01-01',
  '2020-12-01',
  '2020-10-01',
  '2020-09-01',
  '2020-07-15',
  '2020-06-01',
  '2019-11-01',
  '2019-08-15',
  '2019-08-01',
  '2019-06-04',
  '2019-06-01',
  '2019-04-30',
  '2019-03-11',
  '2019-02-01',
  '2018-10-01',
  '2018-04-02',
  '2018-02-01',
  '2017-12-01',
  '2017-10-01',
  '2017-08-01',
  '2017-04-02',
  '2017-03-01',
];

export const IMDS_BAD_VERSION =
  'Bad request. api-version is invalid or was not specified in the request. ' +
  'For more information refer to aka.ms/azureimds';

export interface ImdsReply {
  status: number;
  body: unknown;
}

function header(req: { headers: IncomingHttpHeaders }, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Answers an IMDS request for `vmName` (undefined: the world has no VM). `document` is what IMDS knows of the
 * VM right now: by default the live view; the server passes a lagging one (emulator-kit/metadata-timeline.ts).
 */
export function imdsReply(
  world: AzureWorld,
  url: URL,
  req: { headers: IncomingHttpHeaders },
  vmName?: string,
  document: (vm: string) => Record<string, unknown> = (vm) => imdsJson(world, vm),
): ImdsReply {
  const bad = (error: string): ImdsReply => ({ status: 400, body: { error } });
  if (header(req, 'x-forwarded-for') !== undefined) return bad('Bad request. X-Forwarded-For header is not allowed.');
  const metadata = header(req, 'metadata')?.toLowerCase() === 'true';
  if (!metadata) return bad('Bad request. Required metadata header not specified');
  const path = url.pathname.replace(/\/+$/, '').toLowerCase();
  if (path === '/metadata/versions') return { status: 200, body: { apiVersions: [...IMDS_API_VERSIONS].reverse() } };
  if (!IMDS_API_VERSIONS.includes(url.searchParams.get('api-version') ?? '')) {
    return { status: 400, body: { error: IMDS_BAD_VERSION, 'newest-versions': IMDS_API_VERSIONS.slice(0, 3) } };
  }
  if (!vmName) return { status: 404, body: { error: 'Not found' } };
  const all = document(vmName);
  const sub = path.replace(/^\/metadata\/instance\/?/, '');
  if (sub === '') return { status: 200, body: all };
  if (sub === 'compute' || sub === 'network') return { status: 200, body: all[sub] };
  return { status: 404, body: { error: 'Not found' } };
}
