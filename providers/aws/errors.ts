/**
 * @module aws errors
 * The one place that looks inside `@aws-sdk/client-ec2` errors (and IMDS
 * failures) and turns them into the typed errors of `providers/errors.ts`.
 * The SDK names an error after EC2's `<Code>` (cloud-apis.md §1.4), so the
 * mapping is by name, except where EC2 answers the generic
 * `InvalidParameterValue` and only its message says what happened:
 * - "There aren't sufficient free Ipv4 addresses or prefixes": no room, for
 *   /32 requests too (cilium/cilium#31016, amazon-vpc-cni-k8s#3105). It is
 *   {@link NoPrefixBlockError} when the call asked for prefixes, else
 *   {@link SubnetFullError}, so the reconciler's sibling-subnet and
 *   fallback-to-IPs logic takes the branch it would for the specific codes
 *   (the VPC CNI misses this form);
 * - "Network interface 'eni-…' is currently in use.": DeleteNetworkInterface
 *   while the ENI is attached or still detaching (amazon-vpc-cni-k8s#1399,
 *   gruntwork-io/cloud-nuke#1132), a {@link ConflictError} that a retry
 *   after the detach completes gets past.
 *
 * `UnauthorizedOperation` is an {@link UnauthorizedError} whose message names the IAM action and where the
 * policies are: the rest of EC2's answer is an opaque encoded message (decoded by
 * `aws sts decode-authorization-message`).
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

/**
 * The interface or instance is mid-change: the same call may work shortly. `InvalidNetworkInterface.InUse` is
 * EC2's code for attaching an ENI that is attached ("Interface: [eni-…] in use.", terraform-provider-aws#27513).
 */
const CONFLICT = new Set([
  'InvalidNetworkInterface.InUse',
  'IncorrectState',
  'IncorrectInstanceState',
  'ConcurrentTagAccess',
]);

/**
 * Answers that a retry of the same request can never get past, whatever their status:
 * - `IdempotentParameterMismatch`: a ClientToken came back with other parameters (create-tokens.ts keeps the
 *   whole request to avoid it); retrying with that token fails the same way, so it is not a conflict to wait out;
 * - `DryRunOperation` (412): the request only checked permissions and changed nothing, so it is never success.
 */
const FINAL = new Set(['IdempotentParameterMismatch', 'DryRunOperation']);

const UNAVAILABLE = new Set([
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'Unknown',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

const NETWORK =
  /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ECONNABORTED|UND_ERR_\w+)$/;

/** Message of EC2's generic "no room" answer (code InvalidParameterValue), for /32s and prefixes. */
export const CAPACITY_SHORTAGE_TEXT = "There aren't sufficient free Ipv4 addresses or prefixes";

/** Message of DeleteNetworkInterface on an ENI still attached or detaching (code InvalidParameterValue). */
const IN_USE = /^Network interface '[^']+' is currently in use\.?$/;

/** What the failed call asked for, where an answer's meaning depends on it. */
export interface Ec2CallContext {
  /** The addresses it requested: the generic "no room" means no prefix block only for prefixes. */
  addresses?: 'ip' | 'prefix';
}

/** What an operator needs to fix an IAM refusal, ahead of EC2's own (opaque) text. */
function iamRefusal(operation: string, init: CloudErrorInit): string {
  // Tag-on-create is authorised as CreateTags too, and either may be the one refused.
  const also = operation === 'CreateNetworkInterface' ? ' (or ec2:CreateTags for its tags)' : '';
  const where = 'the policies are in docs/aws.md "IAM: least privilege"';
  return `the IAM policy does not allow ec2:${operation}${also} on a resource it names; ${where}: ${init.message}`;
}

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
export function mapEc2Error(err: unknown, operation: string, call: Ec2CallContext = {}): CloudError {
  if (CloudError.isCloud(err)) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as SdkErrorShape;
  const netCode = e.code ?? e.cause?.code;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name && e.name !== 'Error' ? e.name : (netCode ?? 'Unknown');
  const init: CloudErrorInit = { provider: 'aws', operation, cloudCode: name, message: e.message ?? name, cause: err };

  // RequestLimitExceeded (503 on EC2) is throttling, retried with backoff and jitter (ec2-api.ts, CloudCaller).
  if (THROTTLING.has(name) || status === 429) return new ThrottledError(init);
  if (FINAL.has(name)) return new InvalidCloudRequestError(init);
  if (name === 'InsufficientFreeAddressesInSubnet') return new SubnetFullError(init);
  if (name === 'InsufficientCidrBlocks') return new NoPrefixBlockError(init);
  if (name === 'InvalidParameterValue' && (e.message ?? '').includes(CAPACITY_SHORTAGE_TEXT)) {
    return call.addresses === 'prefix' ? new NoPrefixBlockError(init) : new SubnetFullError(init);
  }
  if (name === 'InvalidParameterValue' && IN_USE.test(e.message ?? '')) return new ConflictError(init);
  if (name === 'AttachmentLimitExceeded') return new NicLimitError(init);
  if (name === 'PrivateIpAddressLimitExceeded') return new IpLimitError(init);
  if (name.endsWith('.NotFound')) return new CloudNotFoundError(init);
  if (name === 'UnauthorizedOperation') return new UnauthorizedError({ ...init, message: iamRefusal(operation, init) });
  if (UNAUTHORIZED.has(name) || status === 401 || status === 403) return new UnauthorizedError(init);
  if (CONFLICT.has(name)) return new ConflictError(init);
  if (
    UNAVAILABLE.has(name) ||
    (netCode !== undefined && NETWORK.test(netCode)) ||
    (status !== undefined && status >= 500) ||
    e.$fault === 'server'
  ) {
    return new CloudUnavailableError(init);
  }
  return new InvalidCloudRequestError(init);
}
