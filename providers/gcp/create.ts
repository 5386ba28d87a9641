/**
 * @module gcp create
 * Builds a {@link GcpProvider} for the node this process runs on: identity
 * from the metadata server (overridable), then the Compute clients (the SDK
 * is loaded at this point, not before).
 */
import { createComputeApi, type ComputeEndpoint } from './compute.js';
import { GceMetadataClient } from './metadata.js';
import { GcpProvider } from './provider.js';
import type { GcpClock, Logger } from './types.js';

export interface GcpSettings {
  /** Undefined: compute.googleapis.com over HTTPS. */
  computeEndpoint?: ComputeEndpoint;
  /** `GCE_METADATA_HOST` or `metadata.google.internal`. */
  metadataHost: string;
  /** Static bearer token; undefined: Application Default Credentials (on GCE: the metadata server's token). */
  accessToken?: string;
  /** Overrides of what the metadata server says. */
  project?: string;
  zone?: string;
  instance?: string;
  podsRangeName: string;
  blockPrefixLength: number;
  maxAliasRanges: number;
  fingerprintRetries: number;
  operationTimeoutMs: number;
}

export async function createGcpProvider(s: GcpSettings, clock: GcpClock, log?: Logger): Promise<GcpProvider> {
  const id = await new GceMetadataClient(s.metadataHost, clock).identity();
  const target = { project: s.project ?? id.project, zone: s.zone ?? id.zone, instance: s.instance ?? id.instance };
  const compute = await createComputeApi({
    projectId: target.project,
    ...(s.computeEndpoint ? { endpoint: s.computeEndpoint } : {}),
    ...(s.accessToken !== undefined ? { accessToken: s.accessToken } : {}),
    clock,
    operationTimeoutMs: s.operationTimeoutMs,
  });
  log?.info(
    {
      ...target,
      metadata: s.metadataHost,
      endpoint: s.computeEndpoint
        ? `${s.computeEndpoint.protocol}://${s.computeEndpoint.host}:${s.computeEndpoint.port}`
        : 'compute.googleapis.com',
      auth: s.accessToken !== undefined ? 'static token' : 'application default credentials',
    },
    'gcp provider ready',
  );
  return new GcpProvider({
    compute,
    target,
    mac: id.mac,
    clock,
    podsRangeName: s.podsRangeName,
    blockPrefixLength: s.blockPrefixLength,
    maxAliasRanges: s.maxAliasRanges,
    fingerprintRetries: s.fingerprintRetries,
    ...(log ? { log } : {}),
  });
}
