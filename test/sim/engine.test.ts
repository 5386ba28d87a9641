/**
 * The simulator against small traces whose outcome is worked out by hand
 * from the planner's rules and exact cloud latencies (every other call takes
 * 0 ms), and its determinism.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { simulate, type SimulationOptions } from '../../ipamd/sim/engine.js';
import { parseTrace } from '../../ipamd/sim/trace.js';
import {
  LEGACY_LATENCY,
  REALISTIC_LATENCY,
  ZERO_LATENCY,
  type LatencyOverrides,
  type SimAction,
} from '../../providers/sim/index.js';

/** Every call instantaneous except the ones given; a fixed metadata lag; detach at once; a consistent cloud. */
function only(actions: Partial<Record<SimAction, number>>, metadataPropagationMs = 0): LatencyOverrides {
  const lag = { metadataPropagationMs, metadataPropagationMaxMs: metadataPropagationMs };
  return { ...ZERO_LATENCY, actions: { ...ZERO_LATENCY.actions, ...actions }, ...lag };
}

const trace = (rows: string) => parseTrace(`t_seconds,op,pod\n${rows.trim()}\n`, 'test.csv');

async function run(o: Omit<SimulationOptions, 'trace'> & { rows: string }) {
  const { rows, ...rest } = o;
  return simulate({ ...rest, trace: trace(rows) });
}

describe('simulate: hand-computed traces', () => {
  it('WARM_IP_TARGET=1, assign 1 s: the second of two simultaneous ADDs waits exactly one assign', async () => {
    // Start: one assign (1 s) fills the warm IP, so the trace starts at virtual 1000 ms.
    // t=0: a takes the warm IP and triggers an assign (done at 1 s); b finds nothing and waits for it: 1000 ms.
    // t=1: b takes the new IP; the pool refills to 1 free by t=2. Idle: 0 until 2 s, then 1 until the end (10 s) = 8
    // IP·s.
    const r = await run({
      instanceType: 'm5.large',
      env: { WARM_IP_TARGET: '1' },
      latency: only({ AssignPrivateIpAddresses: 1000 }),
      rows: '0,add,a\n0,add,b\n10,del,a',
    });
    expect(r.startupMs).toBe(1000);
    expect(r.addOutcomes.map((o) => [o.pod, o.waitMs, o.waited])).toEqual([
      ['a', 0, false],
      ['b', 1000, true],
    ]);
    expect(r.idleIpSeconds).toBe(8);
    expect(r.result).toMatchObject({
      avgIdleIps: 0.8,
      peakIpsHeld: 3,
      podWaitP50Ms: 0,
      podWaitP99Ms: 1000,
      podWaitMaxMs: 1000,
      podsWaited: 1,
      failedAdds: 0,
      durationS: 10,
    });
    // Startup assign + the two refills; DescribeInstances at init and at the first tick's resync;
    // one DescribeNetworkInterfaces at init for interfaces an earlier run left detached.
    const calls = { AssignPrivateIpAddresses: 3, DescribeInstances: 2, DescribeNetworkInterfaces: 1 };
    expect(r.result.apiCalls.byAction).toEqual(calls);
    expect(r.result.apiCalls.total).toBe(6);
  });

  it('counts an address in cooldown as idle', async () => {
    // t=0: a takes the warm IP, a refill lands at 1 s (held 2, assigned 1: idle 1 for 4 s).
    // t=5: a leaves; its IP cools for 30 s, the other stays free: idle 2 for 15 s. t=20: b takes the free one.
    // 4 + 30 = 34 IP·s over 20 s.
    const r = await run({
      instanceType: 'm5.large',
      env: { WARM_IP_TARGET: '1' },
      latency: only({ AssignPrivateIpAddresses: 1000 }),
      rows: '0,add,a\n5,del,a\n20,add,b',
    });
    expect(r.idleIpSeconds).toBe(34);
    expect(r.result.avgIdleIps).toBe(1.7);
    expect(r.result.peakIpsHeld).toBe(2);
    expect(r.result.podsWaited).toBe(0);
    expect(r.timeline.find((s) => s.t === 5000)).toEqual({ t: 5000, held: 2, assigned: 0, cooling: 1 });
  });

  it('an ADD that needs a new interface waits create + attach + metadata (0.4 + 2 + 1 s)', async () => {
    // t3.nano: 1 secondary IP per interface, 2 interfaces. The warm IP fills the primary; the next needs interface 2.
    const r = await run({
      instanceType: 't3.nano',
      env: { WARM_IP_TARGET: '1' },
      latency: only({ CreateNetworkInterface: 400, AttachNetworkInterface: 2000 }, 1000),
      rows: '0,add,a\n0,add,b\n60,del,a\n60,del,b',
    });
    expect(r.addOutcomes.map((o) => o.waitMs)).toEqual([0, 3400]);
    expect(r.result.podsWaited).toBe(1);
    expect(r.result.failedAdds).toBe(0);
    expect(r.result.peakIpsHeld).toBe(2);
    // Held = assigned from 0 to 60 s (b takes the new interface's only address at once): no idle.
    expect(r.idleIpSeconds).toBe(0);
  });

  it(
    'on a full node an ADD fails at once when nothing is cooling, and waits for a cooling address ' + 'otherwise',
    async () => {
      // t3.nano holds 2 Pod addresses: a on the primary, b on the interface the refill attached (ready at 3.4 s).
      // t=20: c finds none, the node is at capacity and nothing cools: it fails without waiting.
      // t=30: a leaves (its address cools until 60 s). t=55: d waits for that address: 5000 ms (< the 10 s ADD wait).
      const r = await run({
        instanceType: 't3.nano',
        env: { WARM_IP_TARGET: '1' },
        latency: only({ CreateNetworkInterface: 400, AttachNetworkInterface: 2000 }, 1000),
        rows: '0,add,a\n10,add,b\n20,add,c\n30,del,a\n55,add,d\n70,del,b',
      });
      const by = Object.fromEntries(r.addOutcomes.map((o) => [o.pod, o]));
      expect(by.c).toMatchObject({ failed: true, waited: true, waitMs: 0 });
      expect(by.d).toMatchObject({ failed: false, waited: true, waitMs: 5000 });
      expect(r.result).toMatchObject({ failedAdds: 1, podsWaited: 2, podWaitMaxMs: 5000 });
    },
  );

  it('the AWS default on m5.large: one Pod makes it attach a second interface of 9 IPs', async () => {
    // Start: the primary gets 9 IPs. t=0: a takes one, 8 free < 9, so an interface with 9 more is created (3.4 s).
    // Idle: 8 × 3.4 + 17 × 6.6 = 27.2 + 112.2 = 139.4 IP·s over 10 s.
    const r = await run({
      instanceType: 'm5.large',
      latency: only({ CreateNetworkInterface: 400, AttachNetworkInterface: 2000 }, 1000),
      rows: '0,add,a\n10,del,a',
    });
    expect(r.idleIpSeconds).toBeCloseTo(139.4, 9);
    expect(r.result.avgIdleIps).toBe(13.94);
    expect(r.result.peakIpsHeld).toBe(18);
    expect(r.result.apiCalls.byAction).toMatchObject({
      AssignPrivateIpAddresses: 1,
      CreateNetworkInterface: 1,
      AttachNetworkInterface: 1,
    });
  });

  it('a DEL of a Pod whose ADD is still waiting runs after that ADD returns', async () => {
    const r = await run({
      instanceType: 'm5.large',
      env: { WARM_IP_TARGET: '1' },
      latency: only({ AssignPrivateIpAddresses: 1000 }),
      rows: '0,add,a\n0,add,b\n0.5,del,b\n5,add,c',
    });
    // b waited the full assign (1000 ms) even though its DEL came at 500 ms; then its address cools.
    expect(r.addOutcomes.find((o) => o.pod === 'b')!.waitMs).toBe(1000);
    expect(r.timeline.at(-1)).toMatchObject({ assigned: 2, cooling: 1 });
  });
});

describe('simulate: sandboxes', () => {
  it('a pod added again after its DEL is a new sandbox, even while the first ADD is still waiting', async () => {
    const r = await run({
      instanceType: 'm5.large',
      env: { WARM_IP_TARGET: '1' },
      latency: only({ AssignPrivateIpAddresses: 1000 }),
      rows: '0,add,a\n0,add,b\n0.5,del,b\n0.6,add,b\n5,add,c',
    });
    expect(r.addOutcomes.map((o) => [o.pod, o.failed])).toEqual([
      ['a', false],
      ['b', false],
      ['b', false],
      ['c', false],
    ]);
    // a, the second b and c hold addresses; the first b's address is cooling.
    expect(r.timeline.at(-1)).toMatchObject({ assigned: 3, cooling: 1 });
  });
});

describe('simulate: timing profiles', () => {
  // t3.nano: 1 secondary IP per interface, 2 interfaces; b's ADD needs the second interface.
  const nano = { instanceType: 't3.nano', env: { WARM_IP_TARGET: '1' }, rows: '0,add,a\n0,add,b\n60,del,a\n60,del,b' };

  it('defaults to the realistic profile, whose metadata lag is drawn per attach from the seeded PRNG', async () => {
    const byDefault = await run(nano);
    expect(byDefault.result).toEqual((await run({ ...nano, latency: REALISTIC_LATENCY })).result);
    const wait = byDefault.addOutcomes.find((o) => o.pod === 'b')!.waitMs;
    // create 400 + attach 2000 + a lag of 1-5 s, plus any NotFound retry of the Modify (which overlaps the lag).
    expect(wait).toBeGreaterThanOrEqual(3400);
    expect(wait).toBeLessThanOrEqual(7400);
    const legacy = await run({ ...nano, latency: LEGACY_LATENCY });
    // The legacy table: a fixed second of metadata lag, and the 150 ms describes before the trace starts.
    expect(legacy.addOutcomes.find((o) => o.pod === 'b')!.waitMs).toBe(3400);
    // Another seed (VPC_IPAM_SIM_SEED) draws other lags; the same seed the same ones.
    const waitOf = async (seed: string) => {
      const r = await run({ ...nano, env: { ...nano.env, VPC_IPAM_SIM_SEED: seed } });
      return r.addOutcomes.find((o) => o.pod === 'b')!.waitMs;
    };
    expect(await waitOf('2')).toBe(await waitOf('2'));
    expect(await waitOf('2')).not.toBe(await waitOf('3'));
  });

  it('a shrink that deletes an interface pays the detach: it reads the interface until detached', async () => {
    // Both Pods leave at 60 s; after the cooldown the planner deletes the emptied second interface.
    const rows = '0,add,a\n0,add,b\n60,del,a\n60,del,b\n200,add,c';
    const realistic = await run({ ...nano, rows, latency: { ...only({}), detachSettleMs: 3000 } });
    const legacy = await run({ ...nano, rows, latency: only({}) });
    expect(legacy.result.apiCalls.byAction).toMatchObject({ DetachNetworkInterface: 1, DeleteNetworkInterface: 1 });
    // Detach, then a (0 ms) read each second while it is in progress for 3 s: at 0, 1, 2 and 3 s; one Delete.
    expect(realistic.result.apiCalls.byAction).toMatchObject({ DetachNetworkInterface: 1, DeleteNetworkInterface: 1 });
    const reads = (r: typeof legacy) => r.result.apiCalls.byAction.DescribeNetworkInterfaces ?? 0;
    expect(reads(realistic) - reads(legacy)).toBe(4);
    expect(realistic.result.failedAdds).toBe(0);
  });

  it('NotFound for a moment after a change is retried, each retry a counted call', async () => {
    // Every by-id call within 1.5 s of a change answers NotFound: the refill's assign lands 1 s after the
    // startup assign on the same interface, so it is retried (100, 200, 400 ms...) until the window passes.
    const latency = { ...only({ AssignPrivateIpAddresses: 1000 }), consistencyWindowMs: 1500, notFoundRatio: 1 };
    const o = { instanceType: 'm5.large', env: { WARM_IP_TARGET: '1' }, rows: '0,add,a\n10,del,a' };
    const consistent = await run({ ...o, latency: only({ AssignPrivateIpAddresses: 1000 }) });
    const r = await run({ ...o, latency });
    expect(consistent.result.apiCalls.byAction.AssignPrivateIpAddresses).toBe(2);
    expect(r.result.apiCalls.byAction.AssignPrivateIpAddresses).toBeGreaterThan(2);
    expect(r.result.failedAdds).toBe(0);
  });
});

describe('simulate: determinism', () => {
  const steady = parseTrace(readFileSync('test/bench/traces/steady.csv', 'utf8'), 'steady.csv');

  it('two replays of the same trace and settings give identical results', async () => {
    const opts = { trace: steady, instanceType: 'm5.4xlarge', env: { WARM_POOL_POLICY: 'adaptive' } };
    const a = await simulate(opts);
    const b = await simulate(opts);
    expect(JSON.stringify(a.result)).toBe(JSON.stringify(b.result));
    expect(a.timeline).toEqual(b.timeline);
    expect(a.addOutcomes).toEqual(b.addOutcomes);
    expect(a.adds).toBe(1095);
  });

  it('rejects settings the daemon would reject, naming the variable', async () => {
    await expect(
      simulate({ trace: steady, instanceType: 'm5.large', env: { WARM_IP_TARGET: 'lots' } }),
    ).rejects.toThrow(/WARM_IP_TARGET/);
  });
});
