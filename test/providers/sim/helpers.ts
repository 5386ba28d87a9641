/**
 * @module sim test helpers
 * Shared fixtures: a seeded cloud with one node, and a driver that runs a
 * promise to completion on a VirtualClock by firing its timers in order.
 */
import { expect } from 'vitest';
import { VirtualClock } from '../../../ipamd/util/clock.js';
import { IpamError } from '../../../providers/errors.js';
import { SimCloud } from '../../../providers/sim/cloud.js';
import { FaultInjector } from '../../../providers/sim/faults.js';
import { LEGACY_LATENCY } from '../../../providers/sim/latency.js';
import { SimProvider, type SimProviderOptions } from '../../../providers/sim/sim-provider.js';

export const POD_TAG = { 'kubernetes.io/role/cni': '1' };

/** Runs the clock timer by timer until `p` settles; returns its value or rethrows. */
export async function drive<T>(clock: VirtualClock, p: Promise<T>): Promise<T> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await clock.advance(0);
  for (let i = 0; !done && i < 10_000; i++) {
    const next = clock.nextAt();
    if (next === undefined) break;
    await clock.runUntil(next);
  }
  return p;
}

/** The CloudError code and cloudCode a promise rejects with. */
export async function failure(p: Promise<unknown>): Promise<{ code: string; cloudCode?: string; operation?: string }> {
  try {
    await p;
  } catch (err) {
    if (!IpamError.is(err)) throw err;
    const e = err as IpamError & { cloudCode?: string; operation?: string };
    return { code: e.code, cloudCode: e.cloudCode, operation: e.operation };
  }
  expect.fail('expected a rejection');
}

/** Same as {@link failure} for synchronous calls. */
export function syncFailure(fn: () => unknown): { code: string; cloudCode?: string } {
  try {
    fn();
  } catch (err) {
    if (!IpamError.is(err)) throw err;
    const e = err as IpamError & { cloudCode?: string };
    return { code: e.code, cloudCode: e.cloudCode };
  }
  expect.fail('expected an error');
}

export interface NodeFixture {
  cloud: SimCloud;
  clock: VirtualClock;
  faults: FaultInjector;
  provider: SimProvider;
  instanceId: string;
  nodeSubnetId: string;
  podSubnetId: string;
}

/** A cloud with one node (node subnet 10.0.1.0/24, Pod subnet 10.0.2.0/24) and its provider. */
export function node(
  opts: { instanceType?: string; seed?: number; provider?: Partial<SimProviderOptions>; podSubnetCidr?: string } = {},
): NodeFixture {
  const clock = new VirtualClock(1_000_000);
  const cloud = new SimCloud({ seed: opts.seed ?? 7, clock });
  const instanceId = cloud.seedNode({
    instanceType: opts.instanceType ?? 'm5.large',
    subnetCidr: '10.0.1.0/24',
    podSubnetCidr: opts.podSubnetCidr ?? '10.0.2.0/24',
  });
  const faults = new FaultInjector({ clock });
  const provider = new SimProvider({ cloud, instanceId, clock, faults, ...opts.provider });
  const nodeSubnetId = cloud.getInstance(instanceId).subnetId;
  const podSubnetId = cloud.describeSubnets({ tags: POD_TAG })[0]!.id;
  return { cloud, clock, faults, provider, instanceId, nodeSubnetId, podSubnetId };
}

/** A cloud with a VPC, one large subnet and an instance of `type`. */
export function big(type: string, seed = 11) {
  const cloud = new SimCloud({ seed });
  const instanceId = cloud.seedNode({ instanceType: type, subnetCidr: '10.0.16.0/20' });
  const subnetId = cloud.getInstance(instanceId).subnetId;
  return { cloud, instanceId, subnetId };
}

/** The legacy table's latencies, per action. */
export const L = LEGACY_LATENCY.actions;
/** The legacy table: fixed metadata lag, detach done when it answers, a consistent cloud; exact times. */
export const legacy = { provider: { latency: LEGACY_LATENCY } };

/** An instance type like an Azure VM size: no prefixes, and no interface can be attached while it runs. */
export const AZURE_LIKE_TYPE = {
  instanceType: 'Standard_D4s_v5',
  maxInterfaces: 2,
  ipv4PerInterface: 256,
  supportsIps: true,
  supportsPrefixes: false,
  prefixLength: 32,
  canCreateInterfaces: false,
};
