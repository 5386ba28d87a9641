/**
 * The emulator's IAM policy evaluator (providers/aws/emulator/iam-policy.ts) against the rules of the IAM User
 * Guide it cites: wildcards and case in actions, explicit deny over allow, implicit deny, missing keys,
 * negated operators, Null, IfExists, the ForAllValues/ForAnyValue set qualifiers (empty sets included) and ARN
 * matching; and the documents it refuses.
 */
import { describe, expect, it } from 'vitest';
import {
  allowOnly,
  IamPolicy,
  MalformedPolicyError,
  type IamStatement,
  type RequestContext,
} from '../../../providers/aws/emulator/iam-policy.js';

const ENI = 'arn:aws:ec2:us-east-1:123456789012:network-interface/eni-0abc';
const SUBNET = 'arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0abc';

function policy(...Statement: IamStatement[]): IamPolicy {
  return IamPolicy.parse({ Version: '2012-10-17', Statement });
}

function allows(p: IamPolicy, action: string, resource = ENI, context: RequestContext = {}): boolean {
  return p.evaluate({ action, resource, context }).allowed;
}

/** One Allow statement on network interfaces with this Condition. */
function when(Condition: IamStatement['Condition']): IamPolicy {
  return policy({
    Effect: 'Allow',
    Action: 'ec2:DeleteNetworkInterface',
    Resource: 'arn:aws:ec2:*:*:network-interface/*',
    Condition,
  });
}

const del = (p: IamPolicy, context: RequestContext) => allows(p, 'ec2:DeleteNetworkInterface', ENI, context);

describe('IAM policy evaluation: actions and resources', () => {
  it('matches actions case-insensitively, with * and ? wildcards; NotAction inverts', () => {
    const p = policy({
      Effect: 'Allow',
      Action: ['ec2:Describe*', 'EC2:deletenetworkinterface', 'ec2:?ttachNetworkInterface'],
      Resource: '*',
    });
    expect(allows(p, 'ec2:DescribeSubnets', '*')).toBe(true);
    expect(allows(p, 'ec2:DeleteNetworkInterface')).toBe(true);
    expect(allows(p, 'ec2:AttachNetworkInterface')).toBe(true);
    expect(allows(p, 'ec2:DetachNetworkInterface')).toBe(false); // `?` is one character, not "De"
    expect(allows(p, 'ec2:CreateTags')).toBe(false); // implicit deny
    const not = policy({ Effect: 'Allow', NotAction: 'ec2:Delete*', Resource: '*' });
    expect(allows(not, 'ec2:CreateTags')).toBe(true);
    expect(allows(not, 'ec2:DeleteNetworkInterface')).toBe(false);
  });

  it('matches resources by ARN with wildcards; `*` alone is every resource; NotResource inverts', () => {
    const p = policy({ Effect: 'Allow', Action: 'ec2:*', Resource: 'arn:aws:ec2:*:*:network-interface/*' });
    expect(allows(p, 'ec2:DeleteNetworkInterface')).toBe(true);
    expect(allows(p, 'ec2:CreateNetworkInterface', SUBNET)).toBe(false);
    expect(allows(p, 'ec2:DescribeSubnets', '*')).toBe(false); // an ARN pattern is not "no resource"
    const not = policy({ Effect: 'Allow', Action: 'ec2:*', NotResource: 'arn:aws:ec2:*:*:subnet/*' });
    expect(allows(not, 'ec2:DeleteNetworkInterface')).toBe(true);
    expect(allows(not, 'ec2:CreateNetworkInterface', SUBNET)).toBe(false);
  });

  it('an explicit Deny wins over any Allow and is reported with its Sid; no statement is an implicit deny', () => {
    const p = policy(
      { Sid: 'All', Effect: 'Allow', Action: 'ec2:*', Resource: '*' },
      { Sid: 'NoDelete', Effect: 'Deny', Action: 'ec2:DeleteNetworkInterface', Resource: '*' },
    );
    const denied = p.evaluate({ action: 'ec2:DeleteNetworkInterface', resource: ENI, context: {} });
    expect(denied).toEqual({ allowed: false, explicitDeny: true, matched: [{ sid: 'NoDelete', effect: 'Deny' }] });
    expect(p.evaluate({ action: 'ec2:CreateTags', resource: ENI, context: {} })).toMatchObject({
      allowed: true,
      matched: [{ sid: 'All' }],
    });
    const none = policy({ Effect: 'Allow', Action: 'ec2:CreateTags', Resource: '*' });
    expect(none.evaluate({ action: 'ec2:DeleteNetworkInterface', resource: ENI, context: {} })).toEqual({
      allowed: false,
      explicitDeny: false,
      matched: [],
    });
    expect(allows(IamPolicy.parse(allowOnly(['CreateTags'])), 'ec2:CreateTags')).toBe(true);
    expect(allows(IamPolicy.parse(allowOnly([])), 'ec2:CreateTags')).toBe(false);
  });
});

describe('IAM policy evaluation: conditions', () => {
  const TAG = 'aws:ResourceTag/vpc-ipam.io/cluster-name';

  it('StringEquals: values OR-ed, case-sensitive value, case-insensitive key; a missing key is false', () => {
    const p = when({ StringEquals: { [TAG]: ['a', 'b'] } });
    expect(del(p, { [TAG]: 'b' })).toBe(true);
    expect(del(p, { 'AWS:RESOURCETAG/VPC-IPAM.IO/CLUSTER-NAME': 'a' })).toBe(true);
    expect(del(p, { [TAG]: 'A' })).toBe(false);
    expect(del(p, {})).toBe(false);
    expect(del(when({ StringEqualsIgnoreCase: { [TAG]: 'a' } }), { [TAG]: 'A' })).toBe(true);
  });

  it('negated operators are NOR over the values and true for a missing key', () => {
    const p = when({ StringNotEquals: { [TAG]: ['a', 'b'] } });
    expect(del(p, { [TAG]: 'c' })).toBe(true);
    expect(del(p, { [TAG]: 'a' })).toBe(false);
    expect(del(p, {})).toBe(true);
    expect(del(when({ StringNotLike: { [TAG]: 'prod-*' } }), { [TAG]: 'prod-1' })).toBe(false);
  });

  it('all operators and all keys must hold (AND)', () => {
    const p = when({
      StringEquals: { [TAG]: 'a', 'ec2:Region': 'us-east-1' },
      StringLike: { 'ec2:AvailabilityZone': 'us-east-1?' },
    });
    expect(del(p, { [TAG]: 'a', 'ec2:Region': 'us-east-1', 'ec2:AvailabilityZone': 'us-east-1a' })).toBe(true);
    expect(del(p, { [TAG]: 'a', 'ec2:Region': 'us-east-1', 'ec2:AvailabilityZone': 'us-west-2a' })).toBe(false);
    expect(del(p, { [TAG]: 'a', 'ec2:AvailabilityZone': 'us-east-1a' })).toBe(false);
  });

  it('Null: "true" holds when the key is missing (or empty), "false" when it is present', () => {
    const present = when({ Null: { 'aws:ResourceTag/vpc-ipam.io/instance-id': 'false' } });
    expect(del(present, { 'aws:ResourceTag/vpc-ipam.io/instance-id': 'i-0abc' })).toBe(true);
    expect(del(present, {})).toBe(false);
    const absent = when({ Null: { 'aws:TagKeys': true } });
    expect(del(absent, {})).toBe(true);
    expect(del(absent, { 'aws:TagKeys': [] })).toBe(true);
    expect(del(absent, { 'aws:TagKeys': ['k'] })).toBe(false);
  });

  it('…IfExists holds for a missing key and tests a present one', () => {
    const p = when({ StringEqualsIfExists: { [TAG]: 'a' } });
    expect(del(p, {})).toBe(true);
    expect(del(p, { [TAG]: 'a' })).toBe(true);
    expect(del(p, { [TAG]: 'b' })).toBe(false);
  });

  it('ForAllValues: every request value must match; true for a missing key or an empty set', () => {
    const p = when({ 'ForAllValues:StringEquals': { 'aws:TagKeys': ['mark', 'age'] } });
    expect(del(p, { 'aws:TagKeys': ['mark'] })).toBe(true);
    expect(del(p, { 'aws:TagKeys': ['mark', 'age'] })).toBe(true);
    expect(del(p, { 'aws:TagKeys': ['mark', 'owner'] })).toBe(false);
    expect(del(p, { 'aws:TagKeys': [] })).toBe(true);
    expect(del(p, {})).toBe(true); // why a scoped Allow pairs it with Null "false"
    const guarded = when({ 'ForAllValues:StringEquals': { 'aws:TagKeys': 'mark' }, Null: { 'aws:TagKeys': 'false' } });
    expect(del(guarded, {})).toBe(false);
    const none = when({ 'ForAllValues:StringNotLike': { 'aws:TagKeys': 'vpc-ipam.io/*' } });
    expect(del(none, { 'aws:TagKeys': ['team', 'cost'] })).toBe(true);
    expect(del(none, { 'aws:TagKeys': ['team', 'vpc-ipam.io/cluster-name'] })).toBe(false);
  });

  it('ForAnyValue: one matching request value is enough; false for a missing key or an empty set', () => {
    const p = when({ 'ForAnyValue:StringLike': { 'aws:TagKeys': 'vpc-ipam.io/*' } });
    expect(del(p, { 'aws:TagKeys': ['team', 'vpc-ipam.io/gc-marked-at'] })).toBe(true);
    expect(del(p, { 'aws:TagKeys': ['team'] })).toBe(false);
    expect(del(p, { 'aws:TagKeys': [] })).toBe(false);
    expect(del(p, {})).toBe(false);
    expect(del(when({ 'ForAnyValue:StringEqualsIfExists': { 'aws:TagKeys': 'x' } }), {})).toBe(true);
  });

  it('ArnEquals/ArnLike compare each ARN part with wildcards; ArnNotEquals negates', () => {
    const vpc = 'arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0abc';
    const p = when({ ArnEquals: { 'ec2:Vpc': 'arn:aws:ec2:*:*:vpc/vpc-0abc' } });
    expect(del(p, { 'ec2:Vpc': vpc })).toBe(true);
    expect(del(p, { 'ec2:Vpc': vpc.replace('vpc-0abc', 'vpc-0def') })).toBe(false);
    expect(del(p, {})).toBe(false);
    // A part's `*` stays in its part: the account may not hold a colon.
    expect(del(when({ ArnLike: { 'ec2:Vpc': 'arn:aws:ec2:*:vpc/*' } }), { 'ec2:Vpc': vpc })).toBe(false);
    expect(del(when({ ArnNotEquals: { 'ec2:Vpc': 'arn:aws:ec2:*:*:vpc/vpc-0abc' } }), { 'ec2:Vpc': vpc })).toBe(false);
  });

  it('Bool compares "true"/"false" whatever the case or JSON type', () => {
    const p = when({ Bool: { 'aws:SecureTransport': true } });
    expect(del(p, { 'aws:SecureTransport': 'TRUE' })).toBe(true);
    expect(del(p, { 'aws:SecureTransport': 'false' })).toBe(false);
    expect(del(p, {})).toBe(false);
  });

  it('a Deny with a condition denies only where the condition holds', () => {
    const p = policy(
      { Effect: 'Allow', Action: 'ec2:*', Resource: '*' },
      {
        Effect: 'Deny',
        Action: 'ec2:DeleteNetworkInterface',
        Resource: '*',
        Condition: { StringNotEquals: { [TAG]: 'mine' } },
      },
    );
    expect(del(p, { [TAG]: 'mine' })).toBe(true);
    expect(del(p, { [TAG]: 'theirs' })).toBe(false);
    expect(del(p, {})).toBe(false); // negated + missing key: the Deny applies
  });
});

describe('IAM policy documents the evaluator refuses', () => {
  it.each([
    ['no Statement', {}],
    ['an unknown Version', { Version: '2020-01-01', Statement: [] }],
    ['a bad Effect', { Statement: [{ Effect: 'Maybe', Action: '*', Resource: '*' }] }],
    ['Action and NotAction', { Statement: [{ Effect: 'Allow', Action: '*', NotAction: 'x', Resource: '*' }] }],
    ['no Resource', { Statement: [{ Effect: 'Allow', Action: '*' }] }],
    [
      'an unmodelled operator',
      { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { NumericLessThan: { k: 1 } } }] },
    ],
    [
      'Null with a qualifier',
      {
        Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { 'ForAllValues:Null': { k: 'true' } } }],
      },
    ],
    [
      'Null with another value',
      { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { Null: { k: 'yes' } } }] },
    ],
    [
      'an unsubstituted placeholder',
      {
        Statement: [
          { Effect: 'Allow', Action: '*', Resource: '*', Condition: { StringEquals: { k: '${CLUSTER_NAME}' } } },
        ],
      },
    ],
    [
      'a placeholder in a key',
      {
        Statement: [
          {
            Effect: 'Allow',
            Action: '*',
            Resource: '*',
            Condition: { StringEquals: { 'aws:ResourceTag/kubernetes.io/cluster/${CLUSTER_NAME}': 'owned' } },
          },
        ],
      },
    ],
    [
      'a placeholder in a resource',
      { Statement: [{ Effect: 'Allow', Action: '*', Resource: 'arn:aws:ec2:*:*:vpc/${VPC_ID}' }] },
    ],
  ])('%s', (_name, doc) => {
    expect(() => IamPolicy.parse(doc)).toThrow(MalformedPolicyError);
  });

  it('takes a single Statement object and non-string condition values', () => {
    const p = IamPolicy.parse({
      Statement: { Effect: 'Allow', Action: 'ec2:CreateTags', Resource: '*', Condition: { Bool: { k: false } } },
    });
    expect(allows(p, 'ec2:CreateTags', ENI, { k: 'false' })).toBe(true);
  });
});
