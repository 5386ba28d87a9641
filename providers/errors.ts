/**
 * @module errors
 * Typed errors with stable codes. Every provider maps its SDK's errors into
 * these exactly once; nothing else looks inside SDK errors or matches text.
 * Callers branch on `code` (and `retryable`), never on `message`.
 */

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'BAD_REQUEST'
  | 'POOL_EXHAUSTED'
  | 'NOT_FOUND'
  | 'CHECKPOINT_FAILED'
  | 'NETNS_FAILED'
  | 'NETNS_REFUSED'
  | 'CLOUD_THROTTLED'
  | 'CLOUD_SUBNET_FULL'
  | 'CLOUD_NO_PREFIX_BLOCK'
  | 'CLOUD_NIC_LIMIT'
  | 'CLOUD_IP_LIMIT'
  | 'CLOUD_NOT_FOUND'
  | 'CLOUD_UNAUTHORIZED'
  | 'CLOUD_CONFLICT'
  | 'CLOUD_INVALID'
  | 'CLOUD_UNAVAILABLE'
  | 'INTERNAL';

const BRAND = Symbol.for('vpc-ipam.IpamError');

export class IpamError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    (this as unknown as Record<symbol, boolean>)[BRAND] = true;
  }
  /** Works across duplicate module copies (bundled CLI + daemon). */
  static is(err: unknown): err is IpamError {
    return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** A configuration value was rejected; `variable` names the offending setting. */
export class ConfigError extends IpamError {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super('CONFIG_INVALID', `${variable}: ${message}`);
  }
}

/** A local API request was malformed; nothing was changed. */
export class BadRequestError extends IpamError {
  constructor(message: string) {
    super('BAD_REQUEST', message);
  }
}

/**
 * A container ID, interface name or network name broke the shared rules
 * (cni/contract/identifiers.ts). `problem` is the rule's stable code, the same
 * one the CNI plugin reports for the same name.
 */
export class InvalidIdentifierError extends BadRequestError {
  constructor(
    readonly field: string,
    readonly problem: string,
    message: string,
  ) {
    super(message);
  }
}

/** No address could be handed out in time (pool empty and could not grow). */
export class PoolExhaustedError extends IpamError {
  constructor(
    message: string,
    readonly reason?: string,
  ) {
    super('POOL_EXHAUSTED', message);
  }
}

export class CheckpointError extends IpamError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CHECKPOINT_FAILED', message, options);
  }
}

export class NetnsError extends IpamError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NETNS_FAILED', message, options);
  }
}

/** The target namespace is the host's or ipamd's own (or no network namespace): nothing was touched. */
export class NetnsRefusedError extends IpamError {
  constructor(message: string) {
    super('NETNS_REFUSED', message);
  }
}

export type CloudErrorCode = Extract<ErrorCode, `CLOUD_${string}`>;

export interface CloudErrorInit {
  provider: string;
  operation: string;
  /** The cloud's own error code, e.g. `InsufficientCidrBlocks`, `SubnetIsFull`, `IP_SPACE_EXHAUSTED`. */
  cloudCode: string;
  message: string;
  /** Server-suggested wait (e.g. Azure `Retry-After`), in ms. */
  retryAfterMs?: number;
  cause?: unknown;
}

/**
 * An error from a cloud API. `retryable` says whether the same call may
 * succeed later without anything else changing (throttling, conflicts,
 * transient outages); subnet-full and limits are not retryable as such, the
 * caller must back off or choose differently.
 */
export class CloudError extends IpamError {
  readonly provider: string;
  readonly operation: string;
  readonly cloudCode: string;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(code: CloudErrorCode, retryable: boolean, init: CloudErrorInit) {
    super(code, `${init.provider} ${init.operation}: ${init.cloudCode}: ${init.message}`, { cause: init.cause });
    this.provider = init.provider;
    this.operation = init.operation;
    this.cloudCode = init.cloudCode;
    this.retryable = retryable;
    this.retryAfterMs = init.retryAfterMs;
  }
  static isCloud(err: unknown): err is CloudError {
    return IpamError.is(err) && err.code.startsWith('CLOUD_') && 'cloudCode' in err;
  }
}

export class ThrottledError extends CloudError {
  constructor(init: CloudErrorInit) {
    super('CLOUD_THROTTLED', true, init);
  }
}
export class SubnetFullError extends CloudError {
  constructor(init: CloudErrorInit) {
    super('CLOUD_SUBNET_FULL', false, init);
  }
}
/** The subnet has free addresses but no free aligned prefix block (fragmentation). */
export class NoPrefixBlockError extends CloudError {
  constructor(init: CloudErrorInit) {
    super('CLOUD_NO_PREFIX_BLOCK', false, init);
  }
}
export class NicLimitError extends CloudError {
  constructor(init: CloudErrorInit) {
    super('CLOUD_NIC_LIMIT', false, init);
  }
}
export class IpLimitError extends CloudError {
  constructor(init: CloudErrorInit) {
    super('CLOUD_IP_LIMIT', false, init);
  }
}
export class CloudNotFoundError extends CloudError {
  constructor(init: CloudErrorInit) {
    super('CLOUD_NOT_FOUND', false, init);
  }
}
export class UnauthorizedError extends CloudError {
  constructor(init: CloudErrorInit) {
    super('CLOUD_UNAUTHORIZED', false, init);
  }
}
/** Concurrent modification (etag/fingerprint mismatch, operation in progress): re-read and retry. */
export class ConflictError extends CloudError {
  constructor(init: CloudErrorInit) {
    super('CLOUD_CONFLICT', true, init);
  }
}
export class InvalidCloudRequestError extends CloudError {
  constructor(init: CloudErrorInit) {
    super('CLOUD_INVALID', false, init);
  }
}
/** 5xx, timeouts, connection resets. */
export class CloudUnavailableError extends CloudError {
  constructor(init: CloudErrorInit) {
    super('CLOUD_UNAVAILABLE', true, init);
  }
}
