/**
 * @module azure emulator errors
 * An ARM error response: HTTP status, `{"error":{"code","message","details"}}`
 * (cloud-apis.md §4.6), and extra headers (Retry-After). The SimCloud's typed
 * errors are turned into these in one place, {@link fromCloudError}.
 */
import { CloudError } from '../../errors.js';

export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): { error: { code: string; message: string; details: unknown[] } } {
    return { error: { code: this.code, message: this.message, details: [] } };
  }
}

const STATUS_OF_CODE: Record<string, number> = {
  AnotherOperationInProgress: 409,
  PreconditionFailed: 412,
  PreconditionFailedEtagMismatch: 412,
  TooManyRequests: 429,
  RetryableError: 429,
};

/** HTTP status ARM uses for a typed cloud error. */
export function statusOf(err: CloudError): number {
  const byCode = STATUS_OF_CODE[err.cloudCode];
  if (byCode) return byCode;
  switch (err.code) {
    case 'CLOUD_THROTTLED':
      return 429;
    case 'CLOUD_NOT_FOUND':
      return 404;
    case 'CLOUD_CONFLICT':
      return 409;
    case 'CLOUD_UNAUTHORIZED':
      return 403;
    case 'CLOUD_UNAVAILABLE':
      return 500;
    default:
      return 400;
  }
}

/**
 * The ARM response for a typed cloud error; throttling always carries Retry-After (the SDK retries 429 only with it).
 */
export function fromCloudError(err: CloudError, defaultRetryAfterMs: number): ArmError {
  const status = statusOf(err);
  const headers: Record<string, string> = {};
  if (status === 429 || status === 503) {
    headers['retry-after'] = String(Math.max(0, Math.ceil((err.retryAfterMs ?? defaultRetryAfterMs) / 1000)));
  }
  // The SimCloud prefixes messages with "provider operation: code:"; ARM messages are the text alone.
  const prefix = `${err.provider} ${err.operation}: ${err.cloudCode}: `;
  const message = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
  return new ArmError(status, err.cloudCode, message, headers);
}

export function toArmError(err: unknown, defaultRetryAfterMs: number): ArmError {
  if (err instanceof ArmError) return err;
  if (CloudError.isCloud(err)) return fromCloudError(err, defaultRetryAfterMs);
  return new ArmError(500, 'InternalServerError', `emulator error: ${(err as Error)?.message ?? String(err)}`);
}
