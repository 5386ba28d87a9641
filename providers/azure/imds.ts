/**
 * @module azure IMDS client
 * Reads `/metadata/instance` (cloud-apis.md §4.7). There is no Azure JS SDK
 * client for instance metadata, so this is a plain GET (`../http-request.ts`: not
 * `fetch`, which would load undici for this one call) with the mandatory
 * `Metadata: true` header and a configurable base URL (the emulator serves
 * IMDS on its own listener). IMDS tells who we are (VM,
 * scale set, subscription, resource group, NIC MACs); ARM is the authority
 * for everything the daemon would act on.
 *
 * IMDS refuses an api-version it does not serve with 400 and
 * `{"error":"Bad request. api-version is invalid or was not specified …",
 * "newest-versions":[…]}` (MicrosoftDocs/azure-compute-docs
 * `articles/virtual-machines/instance-metadata-service.md`, "Versioning"):
 * that is a setting to fix, so it is a ConfigError naming
 * AZURE_IMDS_API_VERSION and the versions IMDS offers, not a cloud failure
 * to retry.
 */
import { ConfigError } from '../errors.js';
import { mapAzureError } from './errors.js';
import { httpRequest, type HttpAnswer } from '../http-request.js';
import { normalizeMac } from './arm-ids.js';
import type { Clock } from '../clock.js';

export interface ImdsInstance {
  subscriptionId: string;
  resourceGroupName: string;
  location: string;
  name: string;
  vmSize: string;
  zone: string;
  /** Empty for a VM outside a scale set. */
  vmScaleSetName: string;
  /** ARM id of the VM (a scale-set VM's id ends in `virtualMachines/{instanceId}`). */
  resourceId: string;
  /** NIC MACs in IMDS order (the first is the primary NIC), lower-case colon form. */
  macs: string[];
}

interface RawImds {
  compute?: Record<string, string | undefined>;
  network?: { interface?: Array<{ macAddress?: string }> };
}

const TIMEOUT_MS = 5000;

export async function readImdsInstance(baseUrl: string, apiVersion: string, clock: Clock): Promise<ImdsInstance> {
  const url = `${baseUrl}/metadata/instance?api-version=${encodeURIComponent(apiVersion)}&format=json`;
  // The timeout runs on the injected clock; `done` cancels it once the answer is in.
  const timeout = new AbortController();
  const done = new AbortController();
  clock.sleep(TIMEOUT_MS, done.signal).then(
    () => timeout.abort(new Error(`IMDS did not answer within ${TIMEOUT_MS} ms`)),
    () => undefined,
  );
  let res: HttpAnswer;
  try {
    res = await httpRequest(url, { headers: { Metadata: 'true' }, signal: timeout.signal });
  } catch (err) {
    throw mapAzureError(err, 'imds.instance');
  } finally {
    done.abort();
  }
  const text = res.text;
  if (res.status === 400) refuseVersion(text, apiVersion);
  if (res.status < 200 || res.status > 299) {
    throw mapAzureError(
      {
        name: 'RestError',
        statusCode: res.status,
        message: `IMDS ${res.status}: ${text.slice(0, 200)}`,
        response: { headers: res.headers },
      },
      'imds.instance',
    );
  }
  let raw: RawImds;
  try {
    raw = JSON.parse(text) as RawImds;
  } catch {
    throw mapAzureError(
      { name: 'RestError', statusCode: 502, message: `IMDS answered non-JSON: ${text.slice(0, 200)}` },
      'imds.instance',
    );
  }
  const c = raw.compute ?? {};
  const need = (k: string): string => {
    const v = c[k];
    if (typeof v !== 'string' || v === '')
      throw mapAzureError(
        { name: 'RestError', statusCode: 502, message: `IMDS compute.${k} is missing` },
        'imds.instance',
      );
    return v;
  };
  const macs = (raw.network?.interface ?? [])
    .map((i) => normalizeMac(i.macAddress ?? ''))
    .filter((m): m is string => m !== undefined);
  return {
    subscriptionId: need('subscriptionId'),
    resourceGroupName: need('resourceGroupName'),
    location: need('location'),
    name: need('name'),
    vmSize: need('vmSize'),
    zone: c.zone ?? '',
    vmScaleSetName: c.vmScaleSetName ?? '',
    resourceId: need('resourceId'),
    macs,
  };
}

/** Throws the ConfigError for IMDS's "api-version is invalid" answer; returns for any other 400. */
function refuseVersion(text: string, apiVersion: string): void {
  let body: { error?: unknown; 'newest-versions'?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return;
  }
  if (typeof body.error !== 'string' || !/api-version is invalid/i.test(body.error)) return;
  const newest = Array.isArray(body['newest-versions']) ? body['newest-versions'].join(', ') : 'unknown';
  const why = `IMDS does not serve api-version ${apiVersion}; its newest are ${newest}`;
  throw new ConfigError('AZURE_IMDS_API_VERSION', why);
}
