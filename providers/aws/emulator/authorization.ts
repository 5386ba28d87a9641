/**
 * @module ec2 authorization and DryRun
 * The emulator's IAM check (an allow-list of actions, as a least-privilege
 * policy grants them) and the two answers that depend on it:
 *
 * - a denied action is 403 `UnauthorizedOperation` "You are not authorized to
 *   perform this operation. Encoded authorization failure message: <opaque>"
 *   (EC2's wording in aws-amplify/amplify-cli#10116 and trailofbits/algo#14369).
 *   The opaque part stands for what `sts:DecodeAuthorizationMessage` would
 *   decode; {@link decodeAuthorizationMessage} reads it back for tests.
 * - `DryRun=true` "checks whether you have the required permissions for the
 *   action, without actually making the request … If you have the required
 *   permissions, the error response is DryRunOperation. Otherwise, it is
 *   UnauthorizedOperation." (EC2 API reference, every action's DryRun
 *   parameter): 412 `DryRunOperation` "Request would have succeeded, but DryRun
 *   flag is set." (the real envelope captured in getmoto/moto#1980), and no change.
 *
 * Tagging at creation (`TagSpecification.N`) also needs `ec2:CreateTags`, as
 * IAM authorises it.
 */
import { QueryError, type QueryParams } from './query.js';
import { EMULATOR_ACCOUNT_ID } from './render.js';

export const DRY_RUN_MESSAGE = 'Request would have succeeded, but DryRun flag is set.';
const UNAUTHORIZED_PREFIX = 'You are not authorized to perform this operation. Encoded authorization failure message: ';
const PRINCIPAL = `arn:aws:iam::${EMULATOR_ACCOUNT_ID}:user/emulator`;

/** The IAM action a request needs and the policy does not grant, if any. */
export function deniedAction(
  allowed: ReadonlySet<string> | undefined,
  action: string,
  p: QueryParams,
): string | undefined {
  if (!allowed) return undefined;
  if (!allowed.has(action)) return action;
  if (p.hasAny('TagSpecification') && !allowed.has('CreateTags')) return 'CreateTags';
  return undefined;
}

/** The fields `sts:DecodeAuthorizationMessage` returns for an implicit deny (no statement allows it). */
export interface DecodedAuthorization {
  allowed: boolean;
  explicitDeny: boolean;
  matchedStatements: { items: unknown[] };
  failures: { items: unknown[] };
  context: { principal: { arn: string }; action: string; resource: string };
}

/** 403 UnauthorizedOperation for `ec2:<denied>`, with the encoded authorization failure message. */
export function unauthorized(denied: string): QueryError {
  const decoded: DecodedAuthorization = {
    allowed: false,
    explicitDeny: false,
    matchedStatements: { items: [] },
    failures: { items: [] },
    context: { principal: { arn: PRINCIPAL }, action: `ec2:${denied}`, resource: '*' },
  };
  const encoded = Buffer.from(JSON.stringify(decoded)).toString('base64url');
  return new QueryError('UnauthorizedOperation', UNAUTHORIZED_PREFIX + encoded, 403);
}

/** What a test's `sts:DecodeAuthorizationMessage` would say about an UnauthorizedOperation message. */
export function decodeAuthorizationMessage(message: string): DecodedAuthorization | undefined {
  const at = message.indexOf(UNAUTHORIZED_PREFIX);
  if (at < 0) return undefined;
  const encoded = message.slice(at + UNAUTHORIZED_PREFIX.length).trim();
  try {
    return JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as DecodedAuthorization;
  } catch {
    return undefined;
  }
}

/** Throws 412 DryRunOperation when the (authorised) request asks for a dry run. */
export function answerDryRun(p: QueryParams): void {
  if (p.bool('DryRun') === true) throw new QueryError('DryRunOperation', DRY_RUN_MESSAGE, 412);
}
