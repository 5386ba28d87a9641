/**
 * @module aws errors
 * The one place that looks inside `@aws-sdk/client-ec2` errors (and IMDS
 * failures) and turns them into the typed errors of `providers/errors.ts`.
 * The SDK names an error after EC2's `<Code>` (cloud-apis.md §1.4), so the
 * mapping is by name; the single exception is EC2's second wording of prefix
 * exhaustion, `InvalidParameterValue` "There aren't sufficient free Ipv4
 * addresses or prefixes" (amazon-vpc-cni-k8s#3105), which only its message
 * tells apart from other invalid values. Both prefix-exhaustion forms become
 * {@link NoPrefixBlockError}, so the reconciler's sibling-subnet and
 * fallback-to-IPs logic sees one code (the VPC CNI misses the second form).
 */
import {
  CloudError,
  CloudNotFoundError,
  CloudUnavailableError,
  ConflictError,
  InvalidCloudRequestError,
  IpLimitError,
  NicLimitError,
  NoPrefixBlockError,
  SubnetFullError,
  ThrottledError,
  UnauthorizedError,
  type CloudErrorInit,
} from '../errors.js';

/** Codes the SDK's retryer also treats as throttling (smithy `THROTTLING_ERROR_CODES`). */
const THROTTLING = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'EC2ThrottledException',
  'SlowDown',
  'PriorRequestNotComplete',
  'BandwidthLimitExceeded',
  'LimitExceededException',
]);

const UNAUTHORIZED = new Set([
  'UnauthorizedOperation',
  'AuthFailure',
  'AccessDenied',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'OptInRequired',
  'Blocked',
  'CredentialsProviderError',
]);

/** The interface or instance is mid-change (e.g. still detaching): the same call may work shortly. */
const CONFLICT = new Set(['InvalidNetworkInterface.InUse', 'IncorrectState', 'IncorrectInstanceState', 'ConcurrentTagAccess', 'IdempotentParameterMismatch']);

const UNAVAILABLE = new Set(['InternalError', 'InternalFailure', 'ServiceUnavailable', 'Unavailable', 'Unknown', 'TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

const NETWORK = /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ECONNABORTED|UND_ERR_\w+)$/;

/** Message of EC2's second prefix-exhaustion wording. */
export const PREFIX_SHORTAGE_TEXT = "There aren't sufficient free Ipv4 addresses or prefixes";

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  cause?: { code?: string };
}

/**
 * Maps anything the EC2 SDK (or the IMDS client) threw during `operation`
 * to a CloudError. Errors that already are CloudErrors pass through, so
 * wrapping twice is harmless.
 */
export function mapEc2Error(err: unknown, operation: string): CloudError {
  if (CloudError.isCloud(err)) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as SdkErrorShape;
  const netCode = e.code ?? e.cause?.code;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name && e.name !== 'Error' ? e.name : (netCode ?? 'Unknown');
  const init: CloudErrorInit = { provider: 'aws', operation, cloudCode: name, message: e.message ?? name, cause: err };

  if (THROTTLING.has(name) || status === 429) return new ThrottledError(init);
  if (name === 'InsufficientFreeAddressesInSubnet') return new SubnetFullError(init);
  if (name === 'InsufficientCidrBlocks') return new NoPrefixBlockError(init);
  if (name === 'InvalidParameterValue' && (e.message ?? '').includes(PREFIX_SHORTAGE_TEXT)) return new NoPrefixBlockError(init);
  if (name === 'AttachmentLimitExceeded') return new NicLimitError(init);
  if (name === 'PrivateIpAddressLimitExceeded') return new IpLimitError(init);
  if (name.endsWith('.NotFound')) return new CloudNotFoundError(init);
  if (UNAUTHORIZED.has(name) || status === 401 || status === 403) return new UnauthorizedError(init);
  if (CONFLICT.has(name)) return new ConflictError(init);
  if (UNAVAILABLE.has(name) || (netCode !== undefined && NETWORK.test(netCode)) || (status !== undefined && status >= 500) || e.$fault === 'server') {
    return new CloudUnavailableError(init);
  }
  return new InvalidCloudRequestError(init);
}
