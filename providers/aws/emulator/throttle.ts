/**
 * @module ec2 request throttling
 * EC2's request rate limiting, as AWS documents it ("Request throttling for
 * the Amazon EC2 API", https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html,
 * "Request token bucket sizes and refill rates"): per account and region,
 * "each API is evaluated individually" with its own token bucket; a request
 * takes one token, an empty bucket answers `RequestLimitExceeded`, and a
 * bucket refills at its rate up to its size. The defaults by category:
 *
 * | category | bucket | refill /s | actions the emulator answers |
 * |---|---|---|---|
 * | non-mutating | 100 | 20 | DescribeSubnets, DescribeInstanceTypes, filtered or paged Describe* |
 * | unfiltered and unpaginated non-mutating | 50 | 10 | DescribeInstances, DescribeNetworkInterfaces with neither |
 * | mutating | 50 | 5 | AttachNetworkInterface, DetachNetworkInterface |
 * | uncategorized (own sizes) | 100 | 5 | Create/DeleteNetworkInterface, Assign/UnassignPrivateIpAddresses, |
 * | | | | ModifyNetworkInterfaceAttribute |
 * | uncategorized (own sizes) | 100 | 10 | CreateTags, DeleteTags |
 *
 * "Unfiltered and unpaginated" is read strictly: a request with explicit ids
 * but no `Filter.N` and no `MaxResults`/`NextToken` has neither, so it takes
 * from the smaller bucket (the page does not say how ids count).
 *
 * Buckets run on the emulator's clock and hold fractional tokens (no
 * timers), so a test on a virtual clock refills them by moving time.
 */
import { TokenBucket, type RateLimit } from '../../sim/faults.js';
import type { TimeSource } from '../../sim/time.js';
import type { QueryParams } from './query.js';

export const NON_MUTATING: Readonly<RateLimit> = { burst: 100, rate: 20 };
export const UNFILTERED_NON_MUTATING: Readonly<RateLimit> = { burst: 50, rate: 10 };
export const MUTATING: Readonly<RateLimit> = { burst: 50, rate: 5 };

/** The page's "Uncategorized actions" table, for the actions the emulator answers. */
const UNCATEGORIZED: Readonly<Record<string, RateLimit>> = {
  CreateNetworkInterface: { burst: 100, rate: 5 },
  DeleteNetworkInterface: { burst: 100, rate: 5 },
  AssignPrivateIpAddresses: { burst: 100, rate: 5 },
  UnassignPrivateIpAddresses: { burst: 100, rate: 5 },
  ModifyNetworkInterfaceAttribute: { burst: 100, rate: 5 },
  CreateTags: { burst: 100, rate: 10 },
  DeleteTags: { burst: 100, rate: 10 },
};

/** The page's "Unfiltered and unpaginated non-mutating actions" that the emulator answers. */
const UNFILTERED_SUBSET: ReadonlySet<string> = new Set(['DescribeInstances', 'DescribeNetworkInterfaces']);

const NON_MUTATING_PREFIX = /^(Describe|List|Search|Get)/;

/** The bucket a request takes its token from: its key within the account, and the bucket's default size. */
export function bucketOf(action: string, p: QueryParams): { key: string; limit: RateLimit } {
  const own = UNCATEGORIZED[action];
  if (own) return { key: action, limit: own };
  if (!NON_MUTATING_PREFIX.test(action)) return { key: action, limit: MUTATING };
  const narrowed = p.hasAny('Filter') || p.has('MaxResults') || p.has('NextToken');
  if (UNFILTERED_SUBSET.has(action) && !narrowed) {
    return { key: `${action} (unfiltered)`, limit: UNFILTERED_NON_MUTATING };
  }
  return { key: action, limit: NON_MUTATING };
}

/** One account's request buckets, created on first use at EC2's default sizes. */
export class RequestBuckets {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly refused = new Map<string, number>();

  constructor(private readonly clock: TimeSource) {}

  /** Takes the request's token; false when its bucket is empty (the request is then throttled). */
  take(action: string, p: QueryParams): boolean {
    const { key, limit } = bucketOf(action, p);
    let b = this.buckets.get(key);
    if (!b) {
      b = new TokenBucket(this.clock, limit);
      this.buckets.set(key, b);
    }
    if (b.tryTake()) return true;
    this.refused.set(key, (this.refused.get(key) ?? 0) + 1);
    return false;
  }

  /** Requests refused so far, per bucket key (an action, or `Action (unfiltered)`). */
  throttled(): Record<string, number> {
    return Object.fromEntries(this.refused);
  }

  /** Tokens left in a bucket now (its full size if never used). */
  available(key: string): number | undefined {
    return this.buckets.get(key)?.available();
  }
}
