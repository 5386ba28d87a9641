/**
 * The GCP variables (docs/gcp.md §Variables): defaults, and every bad value
 * refused with the variable's name.
 */
import { describe, expect, it } from 'vitest';
import { readGcpSettings } from '../../../providers/gcp/settings.js';
import { ConfigError } from '../../../providers/errors.js';

describe('readGcpSettings', () => {
  it('defaults to GCE itself: metadata.google.internal, ADC, the pods range, /28 blocks, 150 ranges', () => {
    expect(readGcpSettings({})).toEqual({
      metadataHost: 'metadata.google.internal',
      podsRangeName: 'pods',
      blockPrefixLength: 28,
      maxAliasRanges: 150,
      fingerprintRetries: 5,
      operationTimeoutMs: 180_000,
    });
  });

  it('reads endpoint, metadata host, token, overrides and tuning', () => {
    const s = readGcpSettings({
      GCP_COMPUTE_ENDPOINT: 'http://127.0.0.1:8089',
      GCE_METADATA_HOST: '127.0.0.1:8089',
      GCP_ACCESS_TOKEN: 'tok',
      GCP_PROJECT: 'my-project-1',
      GCP_ZONE: 'europe-west1-b',
      GCP_INSTANCE_NAME: 'gke-pool-a-1',
      GCP_POD_RANGE_NAME: 'pods-2',
      GCP_ALIAS_BLOCK_PREFIX_LENGTH: '26',
      GCP_MAX_ALIAS_RANGES: '10',
      GCP_FINGERPRINT_RETRIES: '8',
      GCP_OPERATION_TIMEOUT_SECONDS: '60',
    });
    expect(s).toEqual({
      computeEndpoint: { protocol: 'http', host: '127.0.0.1', port: 8089 },
      metadataHost: '127.0.0.1:8089',
      accessToken: 'tok',
      project: 'my-project-1',
      zone: 'europe-west1-b',
      instance: 'gke-pool-a-1',
      podsRangeName: 'pods-2',
      blockPrefixLength: 26,
      maxAliasRanges: 10,
      fingerprintRetries: 8,
      operationTimeoutMs: 60_000,
    });
    expect(readGcpSettings({ GCP_COMPUTE_ENDPOINT: 'https://compute.example.test' }).computeEndpoint).toEqual({
      protocol: 'https',
      host: 'compute.example.test',
      port: 443,
    });
  });

  it.each([
    ['GCP_COMPUTE_ENDPOINT', 'not a url'],
    ['GCP_COMPUTE_ENDPOINT', 'ftp://127.0.0.1:21'],
    ['GCP_COMPUTE_ENDPOINT', 'http://10.0.0.1:80'],
    ['GCP_COMPUTE_ENDPOINT', 'http://127.0.0.1:80/compute/v1'],
    ['GCE_METADATA_HOST', 'http://169.254.169.254'],
    ['GCP_PROJECT', 'X'],
    ['GCP_ZONE', 'Europe West'],
    ['GCP_INSTANCE_NAME', '-node'],
    ['GCP_POD_RANGE_NAME', 'Pods'],
    ['GCP_ALIAS_BLOCK_PREFIX_LENGTH', '29'],
    ['GCP_ALIAS_BLOCK_PREFIX_LENGTH', '21'],
    ['GCP_ALIAS_BLOCK_PREFIX_LENGTH', '/28'],
    ['GCP_MAX_ALIAS_RANGES', '151'],
    ['GCP_FINGERPRINT_RETRIES', '0'],
    ['GCP_OPERATION_TIMEOUT_SECONDS', '1'],
  ])('%s=%s is refused by name', (name, value) => {
    let err: unknown;
    try {
      readGcpSettings({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(name);
  });
});
