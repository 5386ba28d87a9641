/**
 * The checkpoint is the truth: a few hundred ADD/DELs through the real socket
 * of the real daemon process, a SIGKILL in the middle of them, a restart, and
 * no address is ever assigned twice and no acknowledged assignment is lost.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type Response } from '../../ipamd/api/protocol.js';
import { readdirSync } from 'node:fs';
import { pendingReleaseDir, writePendingRelease } from '../../ipamd/api/pending-release.js';
import { callIpamd } from '../../ipamd/ctl/socket-client.js';
import { getJson, kill, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';

interface AssignmentView {
  containerId: string;
  ip: string;
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const handles: DaemonHandle[] = [];
afterAll(async () => {
  for (const h of handles) await kill(h, 'SIGKILL');
});

describe('ipamd process under SIGKILL', () => {
  it('loses no acknowledged assignment and never assigns an address twice', async () => {
    const env = { WARM_IP_TARGET: '3', MINIMUM_IP_TARGET: '6', IP_COOLDOWN_PERIOD: '1' };
    let h = await startDaemon(env);
    handles.push(h);
    const acked = new Map<string, string>(); // containerId → ip, acknowledged live
    const uncertain = new Set<string>(); // request in flight when the daemon died
    const random = rng(7);
    let next = 0;
    let killed = false;

    async function op(i: number): Promise<void> {
      const live = [...acked.keys()];
      const add = live.length < 3 || (live.length < 18 && random() < 0.6);
      const containerId = add ? `c${next++}` : live[Math.floor(random() * live.length)]!;
      const req = { v: PROTOCOL_VERSION, op: add ? 'add' : 'del', network: 'vpc-ipam', containerId, ifName: 'eth0' } as const;
      let res: Response;
      try {
        res = await callIpamd(h.socket, req, 20_000);
      } catch {
        uncertain.add(containerId); // no answer: the change may or may not have been committed
        acked.delete(containerId);
        return;
      }
      if (!res.ok) throw new Error(`op ${i} ${req.op} ${containerId}: ${res.error.code} ${res.error.msg}`);
      if (add && 'allocation' in res) {
        for (const [other, ip] of acked) expect(ip === res.allocation.ip ? other : undefined).toBeUndefined();
        acked.set(containerId, res.allocation.ip);
      } else acked.delete(containerId);
    }

    for (let i = 0; i < 300; i += 4) {
      const batch = [i, i + 1, i + 2, i + 3].map((j) => op(j));
      if (!killed && i >= 148) {
        // Kill while this batch is in flight.
        await new Promise((r) => setTimeout(r, 2));
        await kill(h, 'SIGKILL');
        killed = true;
        await Promise.all(batch);
        h = await startDaemon({}, h);
        handles.push(h);
        const after = await getJson<{ assignments: AssignmentView[]; orphaned: AssignmentView[] }>(h, '/v1/assignments');
        const byId = new Map(after.assignments.map((a) => [a.containerId, a.ip]));
        for (const [id, ip] of acked) expect(byId.get(id), `acknowledged ${id} must survive`).toBe(ip);
        for (const a of after.assignments) expect(acked.has(a.containerId) || uncertain.has(a.containerId), `unexpected ${a.containerId}`).toBe(true);
        expect(new Set(after.assignments.map((a) => a.ip)).size).toBe(after.assignments.length);
        expect(after.orphaned).toEqual([]);
        // Adopt the uncertain ones that did commit, release the rest of them on our side.
        for (const id of uncertain) if (byId.has(id)) acked.set(id, byId.get(id)!);
        continue;
      }
      await Promise.all(batch);
    }
    expect(killed).toBe(true);

    const final = await getJson<{ assignments: AssignmentView[] }>(h, '/v1/assignments');
    expect(new Map(final.assignments.map((a) => [a.containerId, a.ip]))).toEqual(acked);
    for (const id of [...acked.keys()]) {
      const res = await callIpamd(h.socket, { v: PROTOCOL_VERSION, op: 'del', network: 'vpc-ipam', containerId: id, ifName: 'eth0' });
      expect(res.ok).toBe(true);
    }
    const pool = await getJson<{ assigned: number; total: number }>(h, '/v1/pool');
    expect(pool.assigned).toBe(0);
    expect(pool.total).toBeGreaterThan(0);
    // Graceful stop writes the checkpoint and exits 0.
    expect(await kill(h, 'SIGTERM')).toBe(0);
  });

  it('replays DELs the plugin spooled while ipamd was down', async () => {
    let h = await startDaemon({ IP_COOLDOWN_PERIOD: '0' });
    handles.push(h);
    const key = { network: 'vpc-ipam', ifName: 'eth0' };
    for (const id of ['keep', 'gone']) {
      expect(await callIpamd(h.socket, { v: PROTOCOL_VERSION, op: 'add', ...key, containerId: id })).toMatchObject({ ok: true });
    }
    await kill(h, 'SIGKILL');
    const spool = pendingReleaseDir(h.socket);
    writePendingRelease(spool, { v: PROTOCOL_VERSION, op: 'del', ...key, containerId: 'gone' });
    h = await startDaemon({}, h);
    handles.push(h);
    const after = await getJson<{ assignments: AssignmentView[] }>(h, '/v1/assignments');
    expect(after.assignments.map((a) => a.containerId)).toEqual(['keep']);
    expect(readdirSync(spool)).toEqual([]);
  });
});
