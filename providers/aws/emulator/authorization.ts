/**
 * @module ec2 authorization and DryRun
 * The emulator's IAM check and the two answers that depend on it. Each request is put to the caller's policy
 * (iam-policy.ts) once per resource it touches (iam-requests.ts); every one must be allowed:
 *
 * - a denied request is 403 `UnauthorizedOperation` "You are not authorized to perform this operation.
 *   Encoded authorization failure message: <opaque>" (EC2's wording in aws-amplify/amplify-cli#10116 and
 *   trailofbits/algo#14369). The opaque part stands for what `sts:DecodeAuthorizationMessage` would decode: the
 *   action, the resource ARN refused and the context keys it was judged on, whether a Deny matched
 *   (`explicitDeny`) and which statements did (the fields of DecodeAuthorizationMessage's JSON, as decoded in
 *   awsdocs/amazon-ec2-user-guide#234); {@link decodeAuthorizationMessage} reads it back for tests.
 * - `DryRun=true` "checks whether you have the required permissions for the action, without actually making the
 *   request … If you have the required permissions, the error response is DryRunOperation. Otherwise, it is
 *   UnauthorizedOperation." (EC2 API reference, every action's DryRun parameter): 412 `DryRunOperation` "Request
 *   would have succeeded, but DryRun flag is set." (the real envelope captured in getmoto/moto#1980), no change.
 */
import type { AuthorizationRequest, Decision, IamPolicy } from './iam-policy.js';
import { QueryError, type QueryParams } from './query.js';
import { EMULATOR_ACCOUNT_ID } from './render.js';

export const DRY_RUN_MESSAGE = 'Request would have succeeded, but DryRun flag is set.';
const UNAUTHORIZED_PREFIX = 'You are not authorized to perform this operation. Encoded authorization failure message: ';
const PRINCIPAL = `arn:aws:iam::${EMULATOR_ACCOUNT_ID}:user/emulator`;

/** A request IAM refused: the first of its resources not allowed, and why. */
export interface Denial {
  request: AuthorizationRequest;
  decision: Decision;
}

/** The first of `requests` the policy does not allow; undefined when all are (or there is no policy). */
export function firstDenial(policy: IamPolicy | undefined, requests: AuthorizationRequest[]): Denial | undefined {
  if (!policy) return undefined;
  for (const request of requests) {
    const decision = policy.evaluate(request);
    if (!decision.allowed) return { request, decision };
  }
  return undefined;
}

/** The fields `sts:DecodeAuthorizationMessage` returns for a refused request. */
export interface DecodedAuthorization {
  allowed: boolean;
  explicitDeny: boolean;
  /** The Deny statements that matched (explicit deny); empty for an implicit deny. */
  matchedStatements: { items: Array<{ statementId: string; effect: 'DENY' }> };
  failures: { items: unknown[] };
  context: {
    principal: { arn: string };
    action: string;
    resource: string;
    conditions: { items: Array<{ key: string; values: { items: Array<{ value: string }> } }> };
  };
}

/** 403 UnauthorizedOperation for a denial, with the encoded authorization failure message. */
export function unauthorized(denial: Denial): QueryError {
  const { request, decision } = denial;
  const conditions = Object.entries(request.context).map(([key, v]) => ({
    key,
    values: { items: (typeof v === 'string' ? [v] : [...v]).map((value) => ({ value })) },
  }));
  const statements = decision.explicitDeny ? decision.matched : [];
  const decoded: DecodedAuthorization = {
    allowed: false,
    explicitDeny: decision.explicitDeny,
    matchedStatements: { items: statements.map((s) => ({ statementId: s.sid ?? '', effect: 'DENY' as const })) },
    failures: { items: [] },
    context: {
      principal: { arn: PRINCIPAL },
      action: request.action,
      resource: request.resource,
      conditions: { items: conditions },
    },
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
