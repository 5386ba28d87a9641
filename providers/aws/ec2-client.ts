/**
 * @module ec2 client
 * Builds the `@aws-sdk/client-ec2` client. Retries: the SDK keeps its
 * standard retryer (throttling-aware backoff, retry quota) but with
 * AWS_MAX_ATTEMPTS (default 2) attempts, because ipamd's CloudCaller retries
 * each provider operation again (VPC_IPAM_CLOUD_MAX_ATTEMPTS, default 6)
 * with its own backoff and a node-wide pause after a throttle. Attempts
 * multiply: one logical operation makes at most 2 × 6 = 12 HTTP requests,
 * where the SDK default (3) under the CNI-style 10 would make 30.
 *
 * The SDK fills in a ClientToken for CreateNetworkInterface and keeps it
 * across its retries; the provider passes its own so that its retries keep
 * it too (create-tokens.ts). `DryRun=true` is refused before it is sent:
 * ipamd never means it (EC2 would answer 412 and change nothing).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { InvalidCloudRequestError } from '../errors.js';

export interface Ec2ClientOptions {
  region: string;
  /** Default: the SDK's regional endpoint (or AWS_ENDPOINT_URL_EC2, which the SDK reads itself). */
  endpoint?: string;
  /** Default: the SDK's credential chain (env, web identity, instance role…). Tests pass fake static ones. */
  credentials?: AwsCredentialIdentity;
  maxAttempts?: number;
  httpTimeoutMs?: number;
}

/** Fake credentials for the emulators: requests are signed as usual, nobody checks the signature. */
export const EMULATOR_CREDENTIALS: Readonly<AwsCredentialIdentity> = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'vpc-ipam-emulator-secret',
};

/** Refuses a command whose input says `DryRun: true`, before anything goes on the wire. */
export function refuseDryRun(client: EC2Client): EC2Client {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if ((args.input as { DryRun?: unknown }).DryRun === true) {
        const operation = context.commandName ?? 'EC2';
        const message = 'ipamd never sends DryRun=true: EC2 would only check permissions and change nothing';
        throw new InvalidCloudRequestError({ provider: 'aws', operation, cloudCode: 'DryRunRefused', message });
      }
      return next(args);
    },
    { step: 'initialize', name: 'vpcIpamRefuseDryRun' },
  );
  return client;
}

export function createEc2Client(o: Ec2ClientOptions): EC2Client {
  const client = new EC2Client({
    region: o.region,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    // A copy: the SDK annotates the object it is given (feature tracking), so a frozen one breaks it.
    ...(o.credentials ? { credentials: { ...o.credentials } } : {}),
    maxAttempts: o.maxAttempts ?? 2,
    retryMode: 'standard',
    requestHandler: {
      requestTimeout: o.httpTimeoutMs ?? 10_000,
      connectionTimeout: Math.min(o.httpTimeoutMs ?? 10_000, 3_000),
    },
  });
  return refuseDryRun(client);
}
