import { describe, expect, it } from 'vitest';
import { FaultInjector } from '../../providers/sim/index.js';
import { drive, virtualNode } from '../helpers/virtual-daemon.js';

describe('daemon core on a virtual clock (sim cloud, documented latencies)', () => {
  it('fills the primary interface at start (WARM_ENI_TARGET=1 on m5.large = 9 IPs)', async () => {
    const n = await virtualNode();
    const s = n.daemon.snapshot();
    expect([s.total, s.available, s.interfaces.length]).toEqual([9, 9, 1]);
    expect(n.provider.callCounts().AssignPrivateIpAddresses).toBe(1);
  });

  it('an ADD that finds the pool empty waits for the growth it triggered instead of failing', async () => {
    const n = await virtualNode({
      WARM_IP_TARGET: '1',
      MINIMUM_IP_TARGET: '1',
      VPC_IPAM_SHRINK_INTERVAL_SECONDS: '3600',
    });
    expect(n.daemon.snapshot().total).toBe(1);
    const first = await n.add('a');
    expect(first.waitedMs).toBe(0);
    // The pool now tops up in the background (one AssignPrivateIpAddresses, 300 ms).
    await n.clock.advance(1_000);
    expect(n.daemon.snapshot().available).toBe(1);
    const b = await n.add('b');
    expect(b.waitedMs).toBe(0);
    // A burst of three finds 0 free: they wait for growth, and get distinct addresses.
    const burst = await drive(n.clock, Promise.all(['c', 'd', 'e'].map((id) => n.add(id))));
    expect(new Set(burst.map((r) => r.ip)).size).toBe(3);
    expect(Math.max(...burst.map((r) => r.waitedMs))).toBeGreaterThan(0);
    expect(Math.max(...burst.map((r) => r.waitedMs))).toBeLessThan(10_000);
  });

  it('fails fast with POOL_EXHAUSTED at instance capacity, naming the reason', async () => {
    const n = await virtualNode(
      { WARM_IP_TARGET: '1', MAX_ENI: '1', IP_COOLDOWN_PERIOD: '0' },
      { instanceType: 't3.medium' },
    );
    // t3.medium: 6 IPv4 per ENI → 5 secondary IPs on the one interface MAX_ENI allows.
    const got = [];
    for (let i = 0; i < 5; i++) got.push(await drive(n.clock, n.add(`p${i}`)));
    const started = n.clock.now();
    await expect(drive(n.clock, n.add('p5'))).rejects.toMatchObject({
      code: 'POOL_EXHAUSTED',
      message: expect.stringMatching(/capacity/),
    });
    expect(n.clock.now() - started).toBeLessThan(1_000);
  });

  it('a cooling address is not reused early; an ADD waits for the cooldown when nothing else can come', async () => {
    const n = await virtualNode(
      { WARM_IP_TARGET: '1', MAX_ENI: '1', IP_COOLDOWN_PERIOD: '5' },
      { instanceType: 't3.medium' },
    );
    const ips = [];
    for (let i = 0; i < 5; i++) ips.push((await drive(n.clock, n.add(`p${i}`))).ip);
    await n.del('p0');
    const t0 = n.clock.now();
    const r = await drive(n.clock, n.add('q'));
    expect(r.ip).toBe(ips[0]);
    expect(n.clock.now() - t0).toBeGreaterThanOrEqual(5_000);
    expect(r.waitedMs).toBeGreaterThanOrEqual(5_000);
  });

  it(
    'shrinks back to target after churn and deletes the emptied interface (bin-packing makes it ' + 'possible)',
    async () => {
      const n = await virtualNode({ WARM_IP_TARGET: '2', VPC_IPAM_SHRINK_INTERVAL_SECONDS: '10' });
      const ids = Array.from({ length: 14 }, (_, i) => `p${i}`);
      await drive(n.clock, Promise.all(ids.map((id) => n.add(id))));
      expect(n.daemon.snapshot().interfaces.length).toBe(2);
      for (const id of ids) await n.del(id);
      await n.clock.advance(5 * 60_000);
      const s = n.daemon.snapshot();
      expect(s.assigned).toBe(0);
      expect(s.total).toBe(2);
      expect(s.interfaces.length).toBe(1);
      // One interface detached; its Delete is refused "in use" while the detach completes (3 s) and retried.
      expect(n.provider.callCounts().DetachNetworkInterface).toBe(1);
      expect(n.provider.callCounts().DeleteNetworkInterface).toBeGreaterThanOrEqual(1);
    },
  );

  it('a failed checkpoint write fails the ADD and changes nothing', async () => {
    const n = await virtualNode({ WARM_IP_TARGET: '2' });
    n.checkpointer.failNextWrites(1);
    await expect(n.add('x')).rejects.toMatchObject({ code: 'CHECKPOINT_FAILED' });
    expect(n.daemon.datastore.list()).toEqual([]);
    expect((await n.add('x')).ip).toMatch(/^10\.0\.0\./);
  });

  it('restores assignments and cooldowns from the checkpoint over the same cloud', async () => {
    const n = await virtualNode({ IP_COOLDOWN_PERIOD: '30' });
    const a = await n.add('a');
    const b = await n.add('b');
    await n.del('b');
    await drive(n.clock, n.daemon.stop());
    const m = await virtualNode({ IP_COOLDOWN_PERIOD: '30' }, { cloud: n.cloud, checkpointer: n.checkpointer });
    expect(m.daemon.datastore.find({ network: 'vpc-ipam', containerId: 'a', ifName: 'eth0' })?.ip).toBe(a.ip);
    expect(m.daemon.snapshot().cooling).toBe(1);
    const c = await m.add('c');
    expect(c.ip).not.toBe(b.ip); // b's address is still cooling after the restart
  });

  it('throttling: the pool still converges, with a bounded number of calls', async () => {
    let faults!: FaultInjector;
    const n = await virtualNode(
      { WARM_IP_TARGET: '5', MINIMUM_IP_TARGET: '20', IP_COOLDOWN_PERIOD: '0', VPC_IPAM_ADD_WAIT_SECONDS: '60' },
      { faults: (clock) => (faults = new FaultInjector({ clock }).setRateLimit({ rate: 1, burst: 2 })) },
    );
    // Churn: 25 Pods (of m5.large's 27) arrive at once, then leave, while the API allows one call per second (burst 2).
    const ids = Array.from({ length: 25 }, (_, i) => `p${i}`);
    await drive(n.clock, Promise.all(ids.map((id) => n.add(id))), 10, 300_000);
    for (const id of ids) await n.del(id);
    await n.clock.advance(10 * 60_000);
    const s = n.daemon.snapshot();
    expect(s.assigned).toBe(0);
    expect(s.available).toBeGreaterThanOrEqual(5);
    expect(s.total).toBeGreaterThanOrEqual(20);
    const throttled = Object.values(faults.throttled()).reduce((a, b) => a + b, 0);
    expect(throttled).toBeGreaterThan(0);
    // Backoff keeps the attempts bounded: 10 virtual minutes at 1 call/s would allow 600+.
    expect(n.provider.totalCalls()).toBeLessThan(120);
  });
});
