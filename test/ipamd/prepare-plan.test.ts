/**
 * The prepare step (pure): the prefix fallback's state goes in, the actions (probes included), the subnet for a
 * new interface and the growth step come out. Numbers as in prefix mode on an m5.large.
 */
import { describe, expect, it } from 'vitest';
import type { WarmTargets } from '../../ipamd/config.js';
import { placeInterface, type CreateInterfaceAction } from '../../ipamd/pool/place-interface.js';
import type { FallbackView } from '../../ipamd/pool/prefix-fallback.js';
import { preparePlan, type PlanInput } from '../../ipamd/pool/prepare-plan.js';
import { iface, M5_LARGE, PLAN_CTX, snap } from '../helpers/pool-snapshots.js';

const targets: WarmTargets = { warmInterfaces: 1, warmIps: 0, minimumIps: 0, warmPrefixes: 1 };
const none: FallbackView = { enabled: false, ipMode: false, exhausted: new Map() };
const exhaustedA = (enabled: boolean): FallbackView => ({
  enabled,
  ipMode: false,
  exhausted: new Map([['subnet-a', 'InvalidParameterValue']]),
});
/** Both interfaces in subnet-a with room, and no interface can be added. */
const stuck = snap(
  [
    iface({ id: 'eni-0', deviceIndex: 0, subnetId: 'subnet-a' }),
    iface({ id: 'eni-1', deviceIndex: 1, subnetId: 'subnet-a' }),
  ],
  { mode: 'prefix', blockSize: 16, waiting: 1 },
);
const input = (x: Partial<PlanInput>): PlanInput => ({
  snapshot: stuck,
  targets,
  limits: { ...M5_LARGE, maxInterfaces: 2 },
  ctx: PLAN_CTX,
  fallback: none,
  fallbackIps: false,
  ...x,
});

describe('preparePlan', () => {
  it('grows prefixes on the first interface when nothing is exhausted', () => {
    const { plan, step } = preparePlan(input({}));
    expect(plan.actions).toEqual([{ kind: 'assign', interfaceId: 'eni-0', blockKind: 'prefix', count: 1 }]);
    expect(step).toBeUndefined();
  });

  it('no prefix left and no fallback: pauses growth naming the code the cloud gave', () => {
    const { plan, step } = preparePlan(input({ fallback: exhaustedA(false) }));
    expect(plan.actions).toEqual([]);
    expect(step).toEqual({
      kind: 'blockGrowth',
      code: 'CLOUD_NO_PREFIX_BLOCK',
      cloudCode: 'InvalidParameterValue',
      reason: expect.stringMatching(/^InvalidParameterValue: no free prefix block in any candidate subnet \(every/),
    });
  });

  it('no prefix left with PREFIX_FALLBACK_TO_IPS: plans /32s and asks to start the IP window', () => {
    const { plan, step } = preparePlan(input({ fallback: exhaustedA(true) }));
    expect(step).toMatchObject({ kind: 'enterIpMode' });
    // One prefix short, asked for as 16 /32s.
    expect(plan.actions).toEqual([
      { kind: 'assign', interfaceId: 'eni-0', blockKind: 'ip', count: 9 },
      { kind: 'assign', interfaceId: 'eni-1', blockKind: 'ip', count: 7 },
    ]);
  });

  it('inside the IP window grows /32s and decides nothing more', () => {
    const { plan, step } = preparePlan(input({ fallback: { ...exhaustedA(true), ipMode: true } }));
    expect(step).toBeUndefined();
    expect(plan.actions.map((a) => a.kind === 'assign' && a.blockKind)).toEqual(['ip', 'ip']);
  });

  it('while growth is paused it asks for no step', () => {
    const ctx = { ...PLAN_CTX, growthBlockedUntil: stuck.now + 1, growthBlockedReason: 'x' };
    expect(preparePlan(input({ fallback: exhaustedA(false), ctx })).step).toBeUndefined();
  });

  it('after the window, with every slot holding a fallback /32, probes with one /32 given back', () => {
    const slots = Array.from({ length: 9 }, (_, i) => `10.0.0.${20 + i}/32`);
    const full = snap([iface({ id: 'eni-0', deviceIndex: 0, blocks: 9, freeFallbackIps: slots.slice(0, 1) })], {
      mode: 'prefix',
      blockSize: 16,
      waiting: 1,
    });
    const { plan, step } = preparePlan(
      input({ snapshot: full, limits: { ...M5_LARGE, maxInterfaces: 1 }, fallbackIps: true }),
    );
    expect(step).toBeUndefined();
    expect(plan.actions).toEqual([
      { kind: 'release', interfaceId: 'eni-0', cidrs: ['10.0.0.20/32'] },
      { kind: 'assign', interfaceId: 'eni-0', blockKind: 'prefix', count: 1 },
    ]);
    expect(plan.reason).toMatch(/probing for a prefix block in place of a fallback \/32$/);
  });
});

describe('placeInterface', () => {
  const prefixNic: CreateInterfaceAction = { kind: 'createInterface', blockKind: 'prefix', count: 1 };
  const candidates = [{ subnetId: 'subnet-a' }, { subnetId: 'subnet-b', securityGroups: ['sg-1'] }];

  it('skips subnets without prefix blocks and keeps the rest to try next', () => {
    expect(placeInterface(prefixNic, candidates, none, 'sim')).toEqual({
      ok: true,
      action: { ...prefixNic, subnet: candidates[0], otherSubnets: [candidates[1]] },
    });
    expect(placeInterface(prefixNic, candidates, exhaustedA(false), 'sim')).toEqual({
      ok: true,
      action: { ...prefixNic, subnet: candidates[1], otherSubnets: [] },
    });
  });

  it('an interface for /32s may go where prefixes ran out', () => {
    const ipNic: CreateInterfaceAction = { ...prefixNic, blockKind: 'ip' };
    expect(placeInterface(ipNic, candidates.slice(0, 1), exhaustedA(false), 'sim')).toMatchObject({
      ok: true,
      action: { subnet: candidates[0] },
    });
  });

  it('no candidate: the failure carries the code the cloud gave for the shortage, or the neutral one', () => {
    const onlyA = candidates.slice(0, 1);
    expect(placeInterface(prefixNic, onlyA, exhaustedA(false), 'aws')).toMatchObject({
      ok: false,
      error: { code: 'CLOUD_NO_PREFIX_BLOCK', cloudCode: 'InvalidParameterValue', provider: 'aws' },
    });
    expect(placeInterface(prefixNic, [], none, 'aws')).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
  });
});
