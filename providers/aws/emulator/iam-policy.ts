/**
 * @module iam policy evaluation
 * The part of IAM the EC2 emulator needs to answer as an account with a scoped role would: one
 * identity-based policy document, evaluated for one (action, resource, request context) at a time, as the
 * IAM User Guide describes it:
 *
 * - "Policy evaluation logic" and "The difference between explicit and implicit denies": a Deny statement that
 *   applies wins over any Allow (explicit deny); otherwise an Allow that applies allows; otherwise the request
 *   is implicitly denied.
 * - "IAM JSON policy elements: Action / NotAction": action names are case-insensitive, with `*` and `?`
 *   wildcards. "Resource / NotResource": `*`/`?` wildcards; a `*` is matched across colons here, since IAM lets
 *   a segment's trailing `*` run past them.
 * - "Condition operators" and "Conditions with multiple context keys or values": all operators of a statement
 *   must hold and all keys of an operator; the values given for one key are OR-ed, and NOR-ed for a negated
 *   operator. "If the key that you specify in a policy condition is not present in the request context, the
 *   values do not match and the condition is false", except that it is true for a negated operator
 *   (`StringNotEquals`, `ArnNotLike`…), for `…IfExists`, and `Null` tests exactly that. Condition key names are
 *   case-insensitive, values are not (except `…IgnoreCase` and `Bool`). `ArnEquals` and `ArnLike` both compare
 *   each of the six colon-separated parts of an ARN on its own, wildcards allowed.
 * - "Single-valued vs. multivalued context keys": `ForAllValues:` holds when every value in the request matches
 *   a policy value, and also "if there are no context keys in the request" (or the set is empty);
 *   `ForAnyValue:` when at least one does, so never for a missing key.
 *
 * Not modelled: policy variables (a policy still holding `${…}` is refused, so a placeholder left
 * unsubstituted fails loudly instead of denying everything), the Numeric, Date, IpAddress and Binary
 * operators, Principal (identity policies have none), and other policy types (boundaries, SCPs, sessions).
 */
import { globMatch } from '../../sim/filters.js';

type OneOrMany<T> = T | readonly T[];
export type ConditionValue = string | number | boolean;

export interface IamStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: OneOrMany<string>;
  NotAction?: OneOrMany<string>;
  Resource?: OneOrMany<string>;
  NotResource?: OneOrMany<string>;
  /** operator → context key → value(s). */
  Condition?: Record<string, Record<string, OneOrMany<ConditionValue>>>;
}

export interface IamPolicyDocument {
  Version?: string;
  Statement: OneOrMany<IamStatement>;
}

/** What IAM knows of one resource of a request, by key; a list for a multivalued key (`aws:TagKeys`). */
export type RequestContext = Readonly<Record<string, string | readonly string[]>>;

export interface AuthorizationRequest {
  /** `ec2:CreateNetworkInterface` */
  action: string;
  /** The resource's ARN, or `*` for actions that have none. */
  resource: string;
  context: RequestContext;
}

export interface Decision {
  allowed: boolean;
  explicitDeny: boolean;
  /** The statements that decided: the Deny ones that applied when explicitly denied, else the Allow ones. */
  matched: Array<{ sid: string | undefined; effect: 'Allow' | 'Deny' }>;
}

/** A document IAM would refuse (MalformedPolicyDocument), or one using what is not modelled here. */
export class MalformedPolicyError extends Error {}

type Matcher = (policy: string, value: string) => boolean;

function arnParts(arn: string): string[] | undefined {
  const parts = arn.split(':');
  return parts.length < 6 ? undefined : [...parts.slice(0, 5), parts.slice(5).join(':')];
}

const arnMatch: Matcher = (p, v) => {
  const [want, have] = [arnParts(p), arnParts(v)];
  // A pattern with no colon at all (`*`) is a plain wildcard; one with too few parts is no ARN and matches none.
  if (!want) return !p.includes(':') && globMatch(p, v);
  return have !== undefined && want.every((part, i) => globMatch(part, have[i]!));
};

const exact: Matcher = (p, v) => p === v;
const ignoringCase: Matcher = (p, v) => p.toLowerCase() === v.toLowerCase();

const OPERATORS: Readonly<Record<string, { match: Matcher; negated: boolean }>> = {
  StringEquals: { match: exact, negated: false },
  StringNotEquals: { match: exact, negated: true },
  StringEqualsIgnoreCase: { match: ignoringCase, negated: false },
  StringNotEqualsIgnoreCase: { match: ignoringCase, negated: true },
  StringLike: { match: globMatch, negated: false },
  StringNotLike: { match: globMatch, negated: true },
  ArnEquals: { match: arnMatch, negated: false },
  ArnLike: { match: arnMatch, negated: false },
  ArnNotEquals: { match: arnMatch, negated: true },
  ArnNotLike: { match: arnMatch, negated: true },
  Bool: { match: ignoringCase, negated: false },
};

interface Condition {
  /** Lower-cased: condition key names are case-insensitive. */
  key: string;
  values: string[];
  /** `Null`: holds when the key's absence is what `values` says. */
  isNull: boolean;
  set: 'all' | 'any' | undefined;
  ifExists: boolean;
  match: Matcher;
  negated: boolean;
}

function list<T>(v: OneOrMany<T> | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? [...(v as readonly T[])] : [v as T];
}

function noVariables(where: string, values: readonly string[]): void {
  const bad = values.find((v) => v.includes('${'));
  if (bad) throw new MalformedPolicyError(`${where}: policy variables are not modelled (substitute "${bad}" first)`);
}

function compileCondition(operator: string, key: string, raw: OneOrMany<ConditionValue>): Condition {
  let base = operator;
  let set: Condition['set'];
  if (base.startsWith('ForAllValues:')) [set, base] = ['all', base.slice('ForAllValues:'.length)];
  else if (base.startsWith('ForAnyValue:')) [set, base] = ['any', base.slice('ForAnyValue:'.length)];
  const ifExists = base.endsWith('IfExists');
  if (ifExists) base = base.slice(0, -'IfExists'.length);
  const values = list(raw).map(String);
  noVariables(`Condition ${operator} ${key}`, [key, ...values]);
  const common = { key: key.toLowerCase(), values, set, ifExists };
  if (base === 'Null') {
    if (set || ifExists) throw new MalformedPolicyError(`${operator}: Null takes no set qualifier or IfExists`);
    if (!values.every((v) => v === 'true' || v === 'false'))
      throw new MalformedPolicyError(`Null ${key}: values must be "true" or "false"`);
    return { ...common, isNull: true, match: exact, negated: false };
  }
  const op = Object.hasOwn(OPERATORS, base) ? OPERATORS[base] : undefined;
  if (!op) throw new MalformedPolicyError(`condition operator ${operator} is not modelled`);
  return { ...common, isNull: false, ...op };
}

function holds(c: Condition, have: readonly string[] | undefined): boolean {
  // An empty set counts as missing: `ForAllValues` holds, `ForAnyValue` and plain operators find nothing.
  const absent = have === undefined || have.length === 0;
  if (c.isNull) return c.values.some((v) => (v === 'true') === absent);
  if (absent) return c.ifExists || c.set === 'all' || (c.set === undefined && c.negated);
  const hit = (v: string) => c.values.some((p) => c.match(p, v));
  const ok = (v: string) => (c.negated ? !hit(v) : hit(v));
  if (c.set === 'all') return have.every(ok);
  if (c.set === 'any') return have.some(ok);
  return c.negated ? !have.some(hit) : have.some(hit);
}

class Statement {
  readonly sid: string | undefined;
  readonly effect: 'Allow' | 'Deny';
  private readonly actions: string[];
  private readonly notAction: boolean;
  private readonly resources: string[];
  private readonly notResource: boolean;
  private readonly conditions: Condition[];

  constructor(s: IamStatement, index: number) {
    const where = `Statement[${index}]${s.Sid ? ` (${s.Sid})` : ''}`;
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny')
      throw new MalformedPolicyError(`${where}: Effect must be Allow or Deny, not ${String(s.Effect)}`);
    if ((s.Action === undefined) === (s.NotAction === undefined))
      throw new MalformedPolicyError(`${where}: exactly one of Action and NotAction`);
    if ((s.Resource === undefined) === (s.NotResource === undefined))
      throw new MalformedPolicyError(`${where}: exactly one of Resource and NotResource`);
    this.sid = s.Sid;
    this.effect = s.Effect;
    this.notAction = s.Action === undefined;
    this.actions = list(s.Action ?? s.NotAction).map((a) => a.toLowerCase());
    this.notResource = s.Resource === undefined;
    this.resources = list(s.Resource ?? s.NotResource);
    noVariables(`${where} Resource`, this.resources);
    this.conditions = Object.entries(s.Condition ?? {}).flatMap(([operator, byKey]) => {
      if (typeof byKey !== 'object' || byKey === null)
        throw new MalformedPolicyError(`${where}: Condition ${operator} must map keys to values`);
      return Object.entries(byKey).map(([key, values]) => compileCondition(operator, key, values));
    });
  }

  appliesTo(action: string, resource: string, context: ReadonlyMap<string, readonly string[]>): boolean {
    const a = action.toLowerCase();
    if (this.actions.some((p) => globMatch(p, a)) === this.notAction) return false;
    const r = this.resources.some((p) => p === '*' || globMatch(p, resource));
    if (r === this.notResource) return false;
    return this.conditions.every((c) => holds(c, context.get(c.key)));
  }
}

/** A parsed policy document; {@link IamPolicy.evaluate} decides one request. */
export class IamPolicy {
  private constructor(private readonly statements: readonly Statement[]) {}

  /** Checks and compiles a document; throws {@link MalformedPolicyError} for one IAM (or this model) refuses. */
  static parse(doc: IamPolicyDocument | unknown): IamPolicy {
    const d = doc as Partial<IamPolicyDocument> | null;
    if (typeof d !== 'object' || d === null || d.Statement === undefined)
      throw new MalformedPolicyError('a policy document needs a Statement');
    if (d.Version !== undefined && d.Version !== '2012-10-17' && d.Version !== '2008-10-17')
      throw new MalformedPolicyError(`unknown policy Version ${String(d.Version)}`);
    return new IamPolicy(list(d.Statement).map((s, i) => new Statement(s, i)));
  }

  evaluate(req: AuthorizationRequest): Decision {
    const context = new Map<string, readonly string[]>();
    for (const [k, v] of Object.entries(req.context)) context.set(k.toLowerCase(), typeof v === 'string' ? [v] : v);
    const applying = this.statements.filter((s) => s.appliesTo(req.action, req.resource, context));
    const denies = applying.filter((s) => s.effect === 'Deny');
    const decided = denies.length ? denies : applying;
    const matched = decided.map((s) => ({ sid: s.sid, effect: s.effect }));
    return { allowed: denies.length === 0 && applying.length > 0, explicitDeny: denies.length > 0, matched };
  }
}

/** A policy allowing exactly these EC2 actions (`CreateTags` or `ec2:CreateTags`) on every resource. */
export function allowOnly(actions: Iterable<string>): IamPolicyDocument {
  const Action = [...actions].map((a) => (a.includes(':') ? a : `ec2:${a}`));
  return { Version: '2012-10-17', Statement: [{ Sid: 'AllowOnly', Effect: 'Allow', Action, Resource: '*' }] };
}
