/**
 * The status line (npm start, vpc-ipamctl status) reads its counts and its
 * `why` from one snapshot, and stays short; the long explanation is in
 * /v1/pool.
 */
import { describe, expect, it } from 'vitest';
import type { PoolSnapshot } from '../../ipamd/datastore/types.js';
import { formatStatusLine, STATUS_LINE_MAX } from '../../ipamd/observability/status-line.js';
import { drive, virtualNode } from '../helpers/virtual-daemon.js';

/** Every count the line states ("available 13", "14 free", "4 assigned"…) agrees with `s`. */
function expectAgrees(line: string, s: PoolSnapshot): void {
  const truth: Record<string, number> = {
    free: s.available,
    available: s.available,
    assigned: s.assigned,
    cooling: s.cooling,
  };
  const stated = [
    ...[...line.matchAll(/\b(available|assigned|cooling) (\d+)/g)].map((m) => [m[1]!, Number(m[2])] as const),
    // "9 free wanted" is a target, not a count.
    ...[...line.matchAll(/\b(\d+) (free|assigned|cooling)\b(?! wanted)/g)].map((m) => [m[2]!, Number(m[1])] as const),
  ];
  expect(stated.length).toBeGreaterThan(0);
  for (const [what, n] of stated) expect({ what, n }, line).toEqual({ what, n: truth[what] });
}

describe('status line', () => {
  it('counts and why come from the same snapshot, also when the pool moved without a new plan', async () => {
    // No periodic ticks: after the last plan, a cooldown runs out and changes the pool with no plan after it.
    const n = await virtualNode({ IP_COOLDOWN_PERIOD: '1', VPC_IPAM_RECONCILE_INTERVAL_SECONDS: '600' });
    for (const id of ['a', 'b', 'c', 'd']) await n.add(id);
    await drive(n.clock, n.del('a'));
    await n.clock.advance(100); // the DEL's tick plans with 1 cooling
    expect(n.daemon.snapshot().cooling).toBe(1);
    await n.clock.advance(2_000); // cooldown over; nothing planned since
    const s = n.daemon.snapshot();
    expect(s.cooling).toBe(0);
    const line = n.daemon.statusLine();
    expectAgrees(line, s);
    expect(line).toContain(`available ${s.available}`);
    await drive(n.clock, n.daemon.stop());
  });

  it('says what the planner makes of the numbers it shows', async () => {
    const n = await virtualNode({ VPC_IPAM_RECONCILE_INTERVAL_SECONDS: '600' });
    expect(n.daemon.statusLine()).toMatch(/available 9 .*why: WARM_ENI_TARGET=1 \(9 free wanted\): at target$/);
    // Taken straight from the datastore: no ADD, so no tick and no new plan.
    n.daemon.datastore.assign({ network: 'vpc-ipam', containerId: 'x', ifName: 'eth0' }, {}, n.clock.now());
    const why = /assigned 1 \| available 8 .*why: WARM_ENI_TARGET=1 \(9 free wanted\): short 1: /;
    expect(n.daemon.statusLine()).toMatch(why);
    await drive(n.clock, n.daemon.stop());
  });

  it(`is at most ${STATUS_LINE_MAX} characters, also for the adaptive policy in prefix mode`, async () => {
    const n = await virtualNode({ WARM_POOL_POLICY: 'adaptive', ENABLE_PREFIX_DELEGATION: 'true' });
    for (let i = 0; i < 40; i++) await drive(n.clock, n.add(`p${i}`));
    await n.clock.advance(11 * 60_000);
    const line = n.daemon.statusLine();
    expect(line.length).toBeLessThanOrEqual(STATUS_LINE_MAX);
    expect(line).toMatch(/^pool \d+ in \d+ prefixes \| assigned 40 \| .*\| policy adaptive \| why: /);
    // The long story is where it was: the policy explains itself in /v1/pool.
    expect(n.daemon.policy.explain()).toMatch(/^adaptive: warm target/);
    await drive(n.clock, n.daemon.stop());
  });

  it('cuts an overlong reason instead of printing it all', () => {
    const snapshot = { total: 1, assigned: 0, available: 1, cooling: 0, waiting: 0, mode: 'ip', interfaces: [] };
    const s = snapshot as unknown as PoolSnapshot;
    const line = formatStatusLine({ snapshot: s, why: 'x'.repeat(500), cloudCalls: 3 });
    expect(line).toHaveLength(STATUS_LINE_MAX);
    expect(line.endsWith('…')).toBe(true);
  });
});
