/**
 * classifyFailure as a table: one row per (action, error) with what must follow. The errors are the typed
 * classes every provider maps its SDK's errors into, so a row means the same on every cloud.
 */
import { describe, expect, it } from 'vitest';
import { classifyFailure, type FailureOutcome } from '../../ipamd/pool/classify-failure.js';
import type { PoolAction } from '../../ipamd/pool/planner.js';
import {
  CloudUnavailableError,
  ConfigError,
  IpLimitError,
  IpamError,
  NicLimitError,
  NoPrefixBlockError,
  SubnetFullError,
  ThrottledError,
  UnauthorizedError,
  type CloudErrorInit,
} from '../../providers/errors.js';

const init = (cloudCode: string): CloudErrorInit => ({ provider: 'x', operation: 'op', cloudCode, message: 'no' });
const full = new SubnetFullError(init('SubnetIsFull'));
const noPrefix = new NoPrefixBlockError(init('IP_SPACE_EXHAUSTED'));
const a = 'subnet-a';
const b = 'subnet-b';

const assignPrefix: PoolAction = { kind: 'assign', interfaceId: 'eni-1', blockKind: 'prefix', count: 1 };
const assignIp: PoolAction = { kind: 'assign', interfaceId: 'eni-1', blockKind: 'ip', count: 3 };
const create = (blockKind: 'ip' | 'prefix', ...subnets: string[]): PoolAction => {
  const [first, ...rest] = subnets.map((subnetId) => ({ subnetId }));
  return { kind: 'createInterface', blockKind, count: 1, subnet: first, otherSubnets: rest };
};
const unplaced: PoolAction = { kind: 'createInterface', blockKind: 'prefix', count: 1 };
const release: PoolAction = { kind: 'release', interfaceId: 'eni-1', cidrs: ['10.0.0.5/32'] };
const del: PoolAction = { kind: 'deleteInterface', interfaceId: 'eni-1' };

const blocked = (code: string, cloudCode: string, err: Error) => ({
  kind: 'blockGrowth',
  code,
  cloudCode,
  reason: `${cloudCode}: ${err.message}`,
});

const rows: Array<[string, PoolAction, unknown, FailureOutcome | object]> = [
  ['full subnet on assign', assignIp, full, blocked('CLOUD_SUBNET_FULL', 'SubnetIsFull', full)],
  [
    'full subnet, another candidate left',
    create('ip', a, b),
    full,
    { kind: 'tryNextSubnet', next: { ...create('ip', b), otherSubnets: [] } },
  ],
  ['full subnet, last candidate', create('ip', a), full, blocked('CLOUD_SUBNET_FULL', 'SubnetIsFull', full)],
  [
    'no prefix block on one interface',
    assignPrefix,
    noPrefix,
    { kind: 'tryOtherInterfaces', interfaceId: 'eni-1', cloudCode: 'IP_SPACE_EXHAUSTED' },
  ],
  [
    'no prefix block, another candidate left',
    create('prefix', a, b),
    noPrefix,
    {
      kind: 'tryNextSubnet',
      next: create('prefix', b),
      noPrefixIn: { subnetId: a, cloudCode: 'IP_SPACE_EXHAUSTED' },
    },
  ],
  [
    'no prefix block in the last candidate',
    create('prefix', a),
    noPrefix,
    {
      kind: 'noPrefixLeft',
      cloudCode: 'IP_SPACE_EXHAUSTED',
      detail: noPrefix.message,
      noPrefixIn: { subnetId: a, cloudCode: 'IP_SPACE_EXHAUSTED' },
    },
  ],
  [
    'no candidate without a prefix shortage (placement)',
    unplaced,
    noPrefix,
    { kind: 'noPrefixLeft', cloudCode: 'IP_SPACE_EXHAUSTED', detail: noPrefix.message },
  ],
  [
    'no prefix block for a /32 request: a full subnet',
    create('ip', a, b),
    noPrefix,
    { kind: 'tryNextSubnet', next: { ...create('ip', b), otherSubnets: [] } },
  ],
  [
    'no prefix block for a /32 request on the last candidate',
    create('ip', a),
    noPrefix,
    blocked('CLOUD_NO_PREFIX_BLOCK', 'IP_SPACE_EXHAUSTED', noPrefix),
  ],
  [
    'unauthorized growth: no next candidate',
    create('ip', a, b),
    new UnauthorizedError(init('UnauthorizedOperation')),
    blocked('CLOUD_UNAUTHORIZED', 'UnauthorizedOperation', new UnauthorizedError(init('UnauthorizedOperation'))),
  ],
  ['address limit', assignIp, new IpLimitError(init('PrivateIpAddressLimitExceeded')), { kind: 'resyncFirst' }],
  ['attachment limit', create('ip', a), new NicLimitError(init('AttachmentLimitExceeded')), { kind: 'resyncFirst' }],
  ['unauthorized release', release, new UnauthorizedError(init('UnauthorizedOperation')), { kind: 'retryLater' }],
  ['full subnet on a delete', del, full, { kind: 'retryLater' }],
  ['throttled', assignIp, new ThrottledError(init('RequestLimitExceeded')), { kind: 'retryLater' }],
  ['cloud unavailable', create('ip', a, b), new CloudUnavailableError(init('503')), { kind: 'retryLater' }],
  ['no subnet to create in', unplaced, new IpamError('INTERNAL', 'no subnet'), { kind: 'retryLater' }],
  ['bad Pod subnet config', unplaced, new ConfigError('PodSubnetConfig/x', 'missing'), { kind: 'retryLater' }],
  ['not an IpamError', assignIp, new Error('boom'), { kind: 'retryLater' }],
];

describe('classifyFailure', () => {
  it.each(rows)('%s', (_name, action, err, expected) => {
    expect(classifyFailure(action, err)).toEqual(expected);
  });

  it('carries the neutral code as the cloud code when the error is not a cloud error', () => {
    const err = new IpamError('CLOUD_NO_PREFIX_BLOCK', 'remembered refusal');
    expect(classifyFailure(unplaced, err)).toMatchObject({ kind: 'noPrefixLeft', cloudCode: 'CLOUD_NO_PREFIX_BLOCK' });
  });
});
