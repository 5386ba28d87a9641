/**
 * Requests for one attachment (network, container ID, interface) that arrive
 * together: runtimes retry ADDs and send DEL while an ADD is still running.
 * Every acknowledgement must mean "on disk and wired", and an ADD/DEL pair
 * must end either assigned + wired + durable or released + unwired + gone.
 * The checkpointer holds and fails writes on cue; the plumber keeps the
 * "kernel" in a map and interleaves its calls.
 */
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type Request, type Response } from '../../cni/contract/protocol.js';
import { hostVethName } from '../../cni/contract/veth-name.js';
import { GatedCheckpointer, until } from '../helpers/gated-checkpointer.js';
import { RecordingPlumber } from '../helpers/recording-plumber.js';
import { rng } from '../helpers/rng.js';
import { drive, virtualNode, type VirtualNode } from '../helpers/virtual-daemon.js';

const NET = 'vpc-ipam';
const key = (id: string) => ({ v: PROTOCOL_VERSION, network: NET, containerId: id, ifName: 'eth0' });
const add = (id: string): Request => ({ ...key(id), op: 'add', netns: { path: `/var/run/netns/${id}` } });
const del = (id: string): Request => ({ ...key(id), op: 'del', netns: { path: `/var/run/netns/${id}` } });
const veth = (id: string) => hostVethName(id, 'eth0');
const ipOf = (r: Response) => (r.ok && 'allocation' in r ? r.allocation.ip : undefined);
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

async function node(seed: number, env: Record<string, string> = {}, instanceType?: string) {
  const checkpointer = new GatedCheckpointer();
  const plumber = new RecordingPlumber(rng(seed));
  const n = await virtualNode({ IP_COOLDOWN_PERIOD: '0', ...env }, { checkpointer, plumber, instanceType });
  return { n, cp: checkpointer, plumber, handle: (r: Request) => n.daemon.handler.handle(r) };
}

/** The durable (checkpointed) address of `id`, if any. */
function durable(cp: GatedCheckpointer, id: string): string | undefined {
  return cp.data?.assignments.find((a) => a.containerId === id)?.ip;
}

/** Addresses held by more than one attachment, in memory and on disk. */
function doubleHolders(n: VirtualNode, cp: GatedCheckpointer): string[] {
  const dup = (ips: string[]) => ips.filter((ip, i) => ips.indexOf(ip) !== i);
  return [...dup(n.daemon.datastore.list().map((a) => a.ip)), ...dup(cp.data!.assignments.map((a) => a.ip))];
}

describe('requests for the same attachment are serialised', () => {
  it('a doubled ADD whose first write fails: no acknowledgement without a durable address', async () => {
    const { n, cp, plumber, handle } = await node(1);
    const acks: Array<{ ip: string; durableAtAck: string | undefined }> = [];
    const answer = (r: Response) => {
      const ip = ipOf(r);
      if (ip) acks.push({ ip, durableAtAck: durable(cp, 'podA') });
      return r;
    };
    cp.hold();
    const first = handle(add('podA')).then(answer);
    await until(() => cp.held === 1, 'the first ADD is writing');
    const second = handle(add('podA')).then(answer); // the runtime's retry
    await turns(50); // time for the retry to be answered from memory (today's bug)
    cp.failWrites(1); // the first ADD's write hits a full disk
    cp.open();
    const [r1, r2] = await Promise.all([first, second]);
    expect(r1).toMatchObject({ ok: false, error: { code: 'CHECKPOINT_FAILED' } });
    expect(acks).toHaveLength(1);
    for (const a of acks) expect(a.durableAtAck, 'acknowledged address must be on disk when answered').toBe(a.ip);
    expect(n.daemon.datastore.find(key('podA'))?.ip).toBe(ipOf(r2));
    const b = await handle(add('podB'));
    expect(ipOf(b)).toBeDefined();
    expect(acks.map((a) => a.ip)).not.toContain(ipOf(b));
    expect(plumber.conflicts).toEqual([]);
    expect(doubleHolders(n, cp)).toEqual([]);
  });

  it('ADD racing DEL of one container ends in one consistent state (40 tries)', async () => {
    const { n, cp, plumber, handle } = await node(11);
    const random = rng(5);
    const bad: string[] = [];
    for (let i = 0; i < 40; i++) {
      const id = `race${i}`;
      const addFirst = random() < 0.5;
      const gap = Math.floor(random() * 4);
      const p1 = handle(addFirst ? add(id) : del(id));
      await turns(gap);
      const p2 = handle(addFirst ? del(id) : add(id));
      const [ra, rd] = addFirst ? await Promise.all([p1, p2]) : (await Promise.all([p1, p2])).reverse();
      expect(ra!.ok && rd!.ok, `try ${i}: both answered ok`).toBe(true);
      const held = n.daemon.datastore.find(key(id))?.ip;
      const wired = plumber.wired.get(veth(id));
      const onDisk = durable(cp, id);
      const released = rd!.ok && 'released' in rd! && rd.released === true;
      // A fresh container: the DEL released something iff it ran after the ADD, and then nothing is left.
      const consistent = held ? wired === held && onDisk === held && !released : !wired && !onDisk && released;
      if (!consistent) bad.push(`try ${i}: held ${held} wired ${wired} on disk ${onDisk} DEL released ${released}`);
      const other = await handle(add(`other${i}`));
      const stillRouted = plumber.holdersOf(ipOf(other)!).filter((v) => v !== veth(`other${i}`));
      if (stillRouted.length) bad.push(`try ${i}: other${i} got ${ipOf(other)}, still routed by ${stillRouted}`);
      await handle(del(`other${i}`));
      await handle(del(id));
    }
    expect(bad).toEqual([]);
    expect(plumber.conflicts).toEqual([]);
    expect(plumber.wired.size).toBe(0);
  });

  it('a DEL whose write fails is not rolled back over the address another container took', async () => {
    const { n, cp, handle } = await node(2);
    const ip = ipOf(await handle(add('podA')))!;
    cp.hold();
    const d = handle(del('podA'));
    await until(() => cp.held === 1, 'the DEL is writing');
    const b = handle(add('podB'));
    await until(() => cp.held === 2, 'the ADD of podB is writing');
    expect(n.daemon.datastore.find(key('podB'))?.ip, 'podB took the released address').toBe(ip);
    cp.failWrites(1);
    cp.open();
    const [rd, rb] = await Promise.all([d, b]);
    expect(rd).toMatchObject({ ok: false, error: { code: 'CHECKPOINT_FAILED' } });
    expect(ipOf(rb)).toBe(ip);
    expect(n.daemon.datastore.find(key('podA'))).toBeUndefined();
    expect(doubleHolders(n, cp)).toEqual([]);
    expect(durable(cp, 'podB')).toBe(ip);
    // The runtime retries the DEL: it succeeds, and the release it acknowledges is on disk.
    expect(await handle(del('podA'))).toMatchObject({ ok: true });
    expect(durable(cp, 'podA')).toBeUndefined();
    const s = n.daemon.snapshot();
    expect(s.assigned).toBe(n.daemon.datastore.list().length);
  });

  it('after a refused rollback, the repeated DEL writes before it says ok', async () => {
    const { n, cp, handle } = await node(7);
    const ip = ipOf(await handle(add('podA')))!;
    cp.hold();
    const d = handle(del('podA'));
    await until(() => cp.held === 1, 'the DEL is writing');
    const b = handle(add('podB'));
    await until(() => cp.held === 2, 'the ADD of podB is writing');
    cp.failWrites(2); // the disk is full for both
    cp.open();
    const [rd, rb] = await Promise.all([d, b]);
    expect([rd.ok, rb.ok]).toEqual([false, false]);
    expect(n.daemon.datastore.list()).toEqual([]); // podA stays released, podB rolled back
    expect(durable(cp, 'podA'), 'the disk still has the old state').toBe(ip);
    const writes = cp.writes;
    expect(await handle(del('podA'))).toEqual({ ok: true, released: false });
    expect(cp.writes).toBe(writes + 1);
    expect(durable(cp, 'podA')).toBeUndefined();
    // Memory and disk agree again: a further repeated DEL costs no write.
    await handle(del('podA'));
    expect(cp.writes).toBe(writes + 1);
  });

  it('GC tears an attachment down before its address can go to another container', async () => {
    const { cp, plumber, handle } = await node(3);
    const ip = ipOf(await handle(add('stale')))!;
    const open = plumber.holdTearDowns(); // a slow netlink teardown
    const gc = handle({ v: PROTOCOL_VERSION, op: 'gc', network: NET, valid: [] });
    await until(() => plumber.tearDownsHeld === 1, 'GC is tearing down');
    const next = await handle(add('next'));
    expect(ipOf(next), 'the address is still routed to the stale veth').not.toBe(ip);
    open();
    expect(await gc).toEqual({ ok: true, released: 1 });
    expect(durable(cp, 'stale')).toBeUndefined();
    expect(plumber.conflicts).toEqual([]);
  });

  it('requests for different attachments still run concurrently', async () => {
    const { cp, handle } = await node(4);
    cp.hold();
    const both = Promise.all([handle(add('x1')), handle(add('x2'))]);
    await until(() => cp.held === 2, 'both ADDs are writing at once');
    cp.open();
    const [a, b] = await both;
    expect(ipOf(a)).not.toBe(ipOf(b));
  });

  it('a DEL does not wait behind an ADD of the same container that waits for an address', async () => {
    const { n, handle } = await node(6, { WARM_IP_TARGET: '1', MAX_ENI: '1', IP_COOLDOWN_PERIOD: '5' }, 't3.medium');
    // t3.medium under MAX_ENI=1: 5 addresses; the sixth ADD can only wait for a cooldown to end.
    for (let i = 0; i < 5; i++) await drive(n.clock, handle(add(`p${i}`)));
    await handle(del('p0'));
    let waiting: Response | undefined;
    const w = handle(add('late')).then((r) => (waiting = r));
    await n.clock.advance(100);
    expect(waiting, 'the ADD waits for the cooling address').toBeUndefined();
    const started = n.clock.now();
    const d = await drive(n.clock, handle(del('late')), 10);
    expect(d).toMatchObject({ ok: true, released: false });
    expect(n.clock.now() - started, 'virtual ms the DEL waited').toBeLessThan(5_000);
    expect(await drive(n.clock, w)).toMatchObject({ ok: false, error: { code: 'POOL_EXHAUSTED' } });
    expect(n.daemon.datastore.find(key('late'))).toBeUndefined();
  });
});
