/**
 * @module ec2 client tokens
 * EC2 idempotency (AWS, "Ensuring idempotency in Amazon EC2 API requests",
 * https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html):
 * a client token is "a unique, case-sensitive string of up to 64 ASCII
 * characters"; a retry of a successful request "using the same client token
 * and the same parameters … succeeds without performing any further
 * actions", and with "one or more of the parameters … different" it "fails
 * with an `IdempotentParameterMismatch` error", worded "Arguments on this
 * idempotent request are inconsistent with arguments used in previous
 * request(s)." (quoted from EC2 in rust-lang/bors#830 and
 * hashicorp/terraform-provider-aws#39625).
 *
 * Tokens are per account (all emulators over one cloud share them, see
 * account.ts). Only a request that succeeded records its token, and a
 * DryRun never does. The emulator uses them for CreateNetworkInterface, the
 * one action it answers that takes a ClientToken. A token whose interface
 * has been deleted since is forgotten (what EC2 answers then is not
 * documented for ENIs).
 */
import { QueryError, type QueryParams } from './query.js';

export const IDEMPOTENT_MISMATCH =
  'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).';
const MAX_TOKEN_LENGTH = 64;

/** Parameters that do not make a request different: the token itself, and how the SDK signs and versions. */
const IGNORED = new Set(['ClientToken', 'Version', 'DryRun']);

/** A request's parameters, order-independent (the SDK sends member order, other clients may not). */
export function fingerprint(p: QueryParams): string {
  const kept = p.entries().filter(([k]) => !IGNORED.has(k));
  return JSON.stringify(kept.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export class ClientTokens {
  private readonly seen = new Map<string, { action: string; fingerprint: string; resourceId: string }>();

  /**
   * What an earlier success with this token made (for the same action and parameters), undefined when the
   * token is new; throws `IdempotentParameterMismatch` when it came with other parameters.
   */
  replay(action: string, token: string, p: QueryParams, exists: (id: string) => boolean): string | undefined {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || !/^[\x20-\x7e]+$/.test(token)) {
      // UNVERIFIED wording: EC2 documents the limit, not its answer to a longer token.
      const text = `Value for parameter clientToken is invalid: up to ${MAX_TOKEN_LENGTH} ASCII characters`;
      throw new QueryError('InvalidParameterValue', text);
    }
    const prior = this.seen.get(token);
    if (!prior) return undefined;
    if (!exists(prior.resourceId)) {
      this.seen.delete(token);
      return undefined;
    }
    if (prior.action !== action || prior.fingerprint !== fingerprint(p)) {
      throw new QueryError('IdempotentParameterMismatch', IDEMPOTENT_MISMATCH);
    }
    return prior.resourceId;
  }

  /** A request with this token succeeded and made `resourceId`. */
  record(action: string, token: string, p: QueryParams, resourceId: string): void {
    this.seen.set(token, { action, fingerprint: fingerprint(p), resourceId });
  }
}
