/**
 * ADD wires the Pod while its checkpoint write is in flight; the answer waits for both, and either failing
 * undoes both (no acknowledged-but-unwired, no wired-but-not-durable). DEL leaves the host veth for the
 * namespace's deletion (api/kept-veths.ts) and deletes a link that outlives it later, never a newer one.
 */
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type Request, type Response } from '../../cni/contract/protocol.js';
import { hostVethName } from '../../cni/contract/veth-name.js';
import { NetnsError } from '../../providers/errors.js';
import { KeptVeths } from '../../ipamd/api/kept-veths.js';
import type { KeptLink, PodNetworkPlumber, PodUnwiring, PodWiring, WiredPod } from '../../ipamd/netns/plumber.js';
import { GatedCheckpointer, until } from '../helpers/gated-checkpointer.js';
import { RecordingPlumber } from '../helpers/recording-plumber.js';
import { rng } from '../helpers/rng.js';
import { virtualNode } from '../helpers/virtual-daemon.js';

const key = (id: string) => ({ v: PROTOCOL_VERSION, network: 'vpc-ipam', containerId: id, ifName: 'eth0' });
const add = (id: string): Request => ({ ...key(id), op: 'add', netns: { path: `/var/run/netns/${id}` } });
const del = (id: string): Request => ({ ...key(id), op: 'del', netns: { path: `/var/run/netns/${id}` } });
const veth = (id: string) => hostVethName(id, 'eth0');

/** Fails setUp on cue; tearDown with keepLink reports the veth it left, like the netlink plumber. */
class FlakyPlumber implements PodNetworkPlumber {
  failSetUps = 0;
  readonly kept: KeptLink[] = [];
  private readonly inner = new RecordingPlumber(rng(3));
  readonly wired = this.inner.wired;
  readonly conflicts = this.inner.conflicts;
  async setUp(w: PodWiring): Promise<WiredPod> {
    if (this.failSetUps > 0) {
      this.failSetUps--;
      throw new NetnsError('injected setUp failure');
    }
    return this.inner.setUp(w);
  }
  failTearDowns = 0;
  async tearDown(w: PodUnwiring): Promise<{ keptLink?: KeptLink }> {
    if (this.failTearDowns > 0) {
      this.failTearDowns--;
      throw new NetnsError('injected tearDown failure');
    }
    const had = this.wired.has(veth(w.containerId));
    await this.inner.tearDown(w);
    return had && w.keepLink ? { keptLink: { index: 7, name: veth(w.containerId) } } : {};
  }
  check(w: PodWiring): Promise<void> {
    return this.inner.check(w);
  }
  async deleteKeptLink(k: KeptLink): Promise<boolean> {
    this.kept.push(k);
    return true;
  }
  async close(): Promise<void> {}
}

async function node(cooldownSeconds = '0') {
  const cp = new GatedCheckpointer();
  const plumber = new FlakyPlumber();
  const n = await virtualNode({ IP_COOLDOWN_PERIOD: cooldownSeconds }, { checkpointer: cp, plumber });
  return { n, cp, plumber, handle: (r: Request) => n.daemon.handler.handle(r) };
}

const ipOf = (r: Response) => (r.ok && 'allocation' in r ? r.allocation.ip : undefined);
const durable = (cp: GatedCheckpointer, id: string) => cp.data?.assignments.find((a) => a.containerId === id)?.ip;

describe('ADD: wiring beside the checkpoint write', () => {
  it('wires while the write is held, and answers only once both are done', async () => {
    const { cp, plumber, handle } = await node();
    cp.hold();
    let answered = false;
    const r = handle(add('podA')).then((x) => ((answered = true), x));
    await until(() => cp.held === 1 && plumber.wired.has(veth('podA')), 'wired while the write waits');
    expect(answered).toBe(false);
    cp.open();
    const ip = ipOf(await r);
    expect(ip).toBeDefined();
    expect(durable(cp, 'podA')).toBe(ip);
  });

  it('a failed write unwires the Pod before its address is given back, and fails the ADD', async () => {
    const { n, cp, plumber, handle } = await node();
    cp.failWrites(1);
    const r = await handle(add('podA'));
    expect(r).toMatchObject({ ok: false, error: { code: 'CHECKPOINT_FAILED' } });
    expect(plumber.wired.has(veth('podA'))).toBe(false);
    expect(n.daemon.datastore.find(key('podA'))).toBeUndefined();
    expect(ipOf(await handle(add('podB')))).toBeDefined();
    expect(plumber.conflicts).toEqual([]);
  });

  it('a failed wiring releases the durable assignment, and fails the ADD', async () => {
    const { n, cp, plumber, handle } = await node();
    plumber.failSetUps = 1;
    const r = await handle(add('podA'));
    expect(r).toMatchObject({ ok: false, error: { code: 'NETNS_FAILED' } });
    expect(n.daemon.datastore.find(key('podA'))).toBeUndefined();
    expect(durable(cp, 'podA')).toBeUndefined();
  });
});

describe('DEL: the host veth is left for the namespace', () => {
  it('answers with route and rules gone and the address released; the kept link is deleted later', async () => {
    const { n, cp, plumber, handle } = await node();
    expect(ipOf(await handle(add('podA')))).toBeDefined();
    expect(await handle(del('podA'))).toMatchObject({ ok: true, released: true });
    expect(durable(cp, 'podA')).toBeUndefined();
    expect(n.daemon.handler.keptVeths.pending).toBe(1);
    // A new ADD of the same attachment (same veth name) settles the pending deletion first.
    expect(ipOf(await handle(add('podA')))).toBeDefined();
    expect(plumber.kept).toEqual([{ index: 7, name: veth('podA') }]);
    expect(n.daemon.handler.keptVeths.pending).toBe(0);
  });
});

describe('DEL: teardown beside the release write (a cooldown of 30 s or more)', () => {
  it('tears down while the write is held; the address stays cooling, so nobody else is wired to it', async () => {
    const { cp, plumber, handle } = await node('30');
    const ip = ipOf(await handle(add('podA')));
    cp.hold();
    const r = handle(del('podA'));
    await until(() => cp.held === 1 && !plumber.wired.has(veth('podA')), 'unwired while the write waits');
    const b = handle(add('podB')); // its write queues behind the held one
    cp.open();
    expect(await r).toMatchObject({ ok: true, released: true });
    expect(ipOf(await b)).not.toBe(ip);
    expect(durable(cp, 'podA')).toBeUndefined();
    expect(plumber.conflicts).toEqual([]);
  });

  it('a failed teardown fails the DEL and puts the assignment back, durably', async () => {
    const { n, cp, plumber, handle } = await node('30');
    const ip = ipOf(await handle(add('podA')));
    plumber.failTearDowns = 1;
    expect(await handle(del('podA'))).toMatchObject({ ok: false, error: { code: 'NETNS_FAILED' } });
    expect(n.daemon.datastore.find(key('podA'))?.ip).toBe(ip);
    expect(durable(cp, 'podA')).toBe(ip);
    expect(await handle(del('podA'))).toMatchObject({ ok: true, released: true });
  });

  it('a failed write fails the DEL and keeps the assignment', async () => {
    const { n, cp, handle } = await node('30');
    const ip = ipOf(await handle(add('podA')));
    cp.failWrites(1);
    expect(await handle(del('podA'))).toMatchObject({ ok: false, error: { code: 'CHECKPOINT_FAILED' } });
    expect(n.daemon.datastore.find(key('podA'))?.ip).toBe(ip);
    expect(durable(cp, 'podA')).toBe(ip);
  });
});

describe('KeptVeths', () => {
  it('deletes after the grace period, once, and settle() deletes at once only links of that name', async () => {
    const removed: KeptLink[] = [];
    const kv = new KeptVeths(async (k) => (removed.push(k), true), 20);
    kv.keep({ index: 1, name: 'vpcabc' });
    kv.keep({ index: 1, name: 'vpcabc' });
    kv.keep({ index: 2, name: 'vpcdef' });
    await kv.settle('vpcabc');
    expect(removed).toEqual([{ index: 1, name: 'vpcabc' }]);
    await new Promise((r) => setTimeout(r, 60));
    expect(removed).toEqual([
      { index: 1, name: 'vpcabc' },
      { index: 2, name: 'vpcdef' },
    ]);
    expect(kv.pending).toBe(0);
  });

  it('a failed deletion is logged and left to the namespace, never thrown at an ADD', async () => {
    const warned: object[] = [];
    const kv = new KeptVeths(
      async () => {
        throw new Error('EBUSY');
      },
      10_000,
      { warn: (o) => warned.push(o) },
    );
    kv.keep({ index: 3, name: 'vpcabc' });
    await kv.settle('vpcabc');
    expect(warned).toHaveLength(1);
    expect(kv.pending).toBe(0);
  });
});
