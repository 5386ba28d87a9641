/**
 * Lease-based leader election for the cluster-wide monitor: one leader at a
 * time, a clean stop hands over at once (released Lease), a leader that
 * stops renewing is replaced after the lease expires, and a Lease without
 * RBAC is a configuration error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseLeaderElector, microTime } from '../../ipamd/k8s/leader.js';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { SystemClock } from '../../ipamd/util/clock.js';
import { startFakeCluster, until, type FakeCluster } from './helpers.js';

let c: FakeCluster;
beforeAll(async () => {
  c = await startFakeCluster();
});
afterAll(() => c.server.stop());

const timings = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 100 };

function elector(identity: string, name = 'mon') {
  return new LeaseLeaderElector({
    apis: c.apis,
    clock: new SystemClock(),
    namespace: 'kube-system',
    name,
    identity,
    log: silentLogger(),
    ...timings,
  });
}

/** Runs an elector; records how many times it led and whether it is working right now. */
function campaign(e: LeaseLeaderElector) {
  const ac = new AbortController();
  const state = { terms: 0, working: false };
  const done = e.run(ac.signal, {
    onStartedLeading: async (lost) => {
      state.terms++;
      state.working = true;
      await new Promise<void>((r) => (lost.aborted ? r() : lost.addEventListener('abort', () => r(), { once: true })));
      state.working = false;
    },
  });
  return { ac, state, done };
}

describe('LeaseLeaderElector', () => {
  it('one leader; a clean stop releases the Lease and the standby takes over', async () => {
    const a = campaign(elector('a'));
    await until('a leads', () => a.state.working);
    const b = campaign(elector('b'));
    // b keeps trying while a renews; the Lease keeps naming a.
    await until(
      'b tried several times',
      () => c.server.count('GET', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/mon') > 10,
    );
    expect(b.state.terms).toBe(0);
    expect((c.server.get('leases', 'mon', 'kube-system').spec as { holderIdentity: string }).holderIdentity).toBe('a');

    a.ac.abort();
    await a.done;
    expect(a.state.working).toBe(false);
    await until('b leads', () => b.state.working);
    const lease = c.server.get('leases', 'mon', 'kube-system').spec as {
      holderIdentity: string;
      leaseTransitions: number;
    };
    expect(lease.holderIdentity).toBe('b');
    expect(lease.leaseTransitions).toBe(1);
    b.ac.abort();
    await b.done;
    expect((c.server.get('leases', 'mon', 'kube-system').spec as { holderIdentity: string }).holderIdentity).toBe('');
  });

  it('takes over a Lease whose holder stopped renewing, once it expired by our own clock', async () => {
    // A holder that crashed: its record never changes again. (Its renewTime is in the future, as a skewed clock would
    // write.)
    c.server.create(
      'leases',
      {
        metadata: { name: 'crashed' },
        spec: {
          holderIdentity: 'ghost',
          leaseDurationSeconds: 1,
          renewTime: microTime(Date.now() + 3_600_000),
          acquireTime: microTime(Date.now()),
        },
      },
      'kube-system',
    );
    const b = campaign(elector('b', 'crashed'));
    await until('b leads after expiry', () => b.state.working);
    expect((c.server.get('leases', 'crashed', 'kube-system').spec as { holderIdentity: string }).holderIdentity).toBe(
      'b',
    );
    b.ac.abort();
    await b.done;
  });

  it('two candidates racing for a free Lease: exactly one wins (409 for the other)', async () => {
    const x = campaign(elector('x', 'race'));
    const y = campaign(elector('y', 'race'));
    await until('someone leads', () => x.state.working || y.state.working);
    await until(
      'a few renewals',
      () => c.server.count('PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/race') > 5,
    );
    expect(Number(x.state.working) + Number(y.state.working)).toBe(1);
    x.ac.abort();
    y.ac.abort();
    await Promise.all([x.done, y.done]);
  });

  it('a leader that cannot renew (API down) stops its work after the renew deadline', async () => {
    const a = campaign(elector('a', 'outage'));
    await until('a leads', () => a.state.working);
    c.server.unavailable = true;
    try {
      await until('a stopped working', () => !a.state.working);
    } finally {
      c.server.unavailable = false;
    }
    await until('a leads again after the outage', () => a.state.working && a.state.terms === 2);
    a.ac.abort();
    await a.done;
  });

  it('refuses impossible timings', () => {
    expect(
      () =>
        new LeaseLeaderElector({
          apis: c.apis,
          clock: new SystemClock(),
          namespace: 'n',
          name: 'l',
          identity: 'i',
          log: silentLogger(),
          leaseDurationMs: 1000,
          renewDeadlineMs: 2000,
        }),
    ).toThrow(/leaseDuration > renewDeadline > retryPeriod/);
  });
});
