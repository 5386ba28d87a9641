/**
 * Privileged tests of the netlink plumber itself (no daemon): wiring, check,
 * idempotent teardown, rollback on failure, the offline host-side teardown,
 * and that the daemon's main thread never leaves the host netns.
 * Runs in a throwaway host netns (test/priv-setup.ts). Names: netns
 * `vpcit-<owner>-plumb-*`, container IDs `plumb<pid>-*`, addresses 198.18.200.0/24.
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsError } from '../../providers/errors.js';
import { tearDownHostSide } from '../../ipamd/netns/host-teardown.js';
import { NetlinkPlumber } from '../../ipamd/netns/netlink-plumber.js';
import { hostVethName } from '../../cni/contract/veth-name.js';
import type { PodWiring } from '../../ipamd/netns/plumber.js';
import { podWirings } from '../helpers/pod-wirings.js';
import {
  deleteLinks,
  deleteNetnsWithPrefix,
  deleteRules,
  ip,
  isRoot,
  linkNames,
  ping,
  podNsPrefix,
  routes,
  rules,
} from '../cni/netns-tools.js';

const root = isRoot();
if (!root) console.log('skipping test/e2e/cni-plumber.priv.test.ts: needs root (network namespaces, veth, ip rules)');

const NS = podNsPrefix('plumb');
const CID = `plumb${process.pid}-`;
const ours = (src: string) => src.startsWith('198.18.200.');
const pods = podWirings(NS, CID, '198.18.200.');
const ids = pods.ids;
const wiring = (extra: Partial<PodWiring> = {}) => pods.next(extra);
let plumber: NetlinkPlumber;
const inNs = (w: PodWiring, ...args: string[]) => ip('-n', w.netnsPath.split('/').pop()!, ...args);
const hostState = async (w: PodWiring) => ({
  link: (await linkNames()).includes(hostVethName(w.containerId, w.ifName)),
  route: (await routes()).some((r) => r.dst === w.ip),
  rule: (await rules()).some((r) => (r.priority === 1536 && r.src === w.ip) || (r.priority === 512 && r.dst === w.ip)),
});
async function errorOf(p: Promise<unknown>): Promise<Error | undefined> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  return undefined;
}

describe.skipIf(!root)('netlink plumber (root)', () => {
  beforeAll(async () => {
    plumber = new NetlinkPlumber();
    await plumber.warmUp();
  }, 30_000);
  afterAll(async () => {
    await plumber?.close();
    await deleteLinks(ids.map((id) => hostVethName(id, 'eth0')));
    await deleteRules(ours);
    await deleteNetnsWithPrefix(NS);
  });

  it('wires a Pod AWS-style, passes check, and the host can ping it', async () => {
    const w = await wiring({ routeTable: 3 });
    const hostNs = fs.readlinkSync('/proc/thread-self/ns/net');
    const wired = await plumber.setUp(w);
    expect(fs.readlinkSync('/proc/thread-self/ns/net')).toBe(hostNs);
    expect(wired.hostIf).toBe(hostVethName(w.containerId, 'eth0'));
    expect(wired.podMac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const podAddr = await inNs(w, '-4', '-o', 'addr', 'show', 'dev', 'eth0');
    expect(podAddr).toContain(`${w.ip}/32`);
    const podRoutes = await inNs(w, 'route');
    expect(podRoutes).toContain('default via 169.254.1.1 dev eth0');
    expect(podRoutes).toContain('169.254.1.1 dev eth0 scope link');
    expect(await inNs(w, 'neigh')).toContain(`169.254.1.1 dev eth0 lladdr ${wired.hostMac} PERMANENT`);
    expect(await inNs(w, 'link', 'show', 'eth0')).toContain('mtu 9001');
    expect(await hostState(w)).toEqual({ link: true, route: true, rule: true });
    expect((await rules()).find((r) => r.src === w.ip)).toMatchObject({ priority: 1536, table: '3' });
    await plumber.check(w);
    expect(await ping(w.ip)).toBe(true);

    await plumber.tearDown(w);
    expect(await hostState(w)).toEqual({ link: false, route: false, rule: false });
    await plumber.tearDown(w);
    await plumber.tearDown({ ...w, ip: '' });
  });

  it(
    'host rules as the AWS VPC CNI makes them: to-Pod at 512, from-Pod per VPC destination, a set host ' + 'MAC',
    async () => {
      const w = await wiring({ routeTable: 3, tableDestinations: ['10.0.0.0/16', '100.64.0.0/16'] });
      const wired = await plumber.setUp(w);
      const mine = (await rules()).filter((r) => r.src === w.ip || r.dst === w.ip);
      expect(mine).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ priority: 512, dst: w.ip, table: 'main' }),
          expect.objectContaining({ priority: 1536, src: w.ip, dst: '10.0.0.0', dstlen: 16, table: '3' }),
          expect.objectContaining({ priority: 1536, src: w.ip, dst: '100.64.0.0', dstlen: 16, table: '3' }),
        ]),
      );
      expect(mine).toHaveLength(3);
      // NET_ADDR_SET (3), not NET_ADDR_RANDOM (1): udev's MACAddressPolicy=persistent leaves it alone.
      const hostIf = hostVethName(w.containerId, 'eth0');
      expect(fs.readFileSync(`/sys/class/net/${hostIf}/addr_assign_type`, 'utf8').trim()).toBe('3');
      expect(fs.readFileSync(`/sys/class/net/${hostIf}/address`, 'utf8').trim()).toBe(wired.hostMac);
      await plumber.check(w);
      // SNAT switched off (EXTERNALSNAT=true): the resync repair finds the rules stale and rewrites them.
      const external = { ip: w.ip, routeTable: 3, tableDestinations: ['0.0.0.0/0'], hostIf };
      const found = await plumber.podRules([external], true);
      expect(found[0]!.problems.join('; ')).toMatch(/missing.*stale/);
      expect(await plumber.podRules([external], false)).toEqual([]);
      const after = (await rules()).filter((r) => r.priority === 1536 && r.src === w.ip);
      expect(after).toEqual([expect.objectContaining({ table: '3' })]);
      expect(after[0]!.dst).toBeUndefined();
      // Ten repairs and re-wirings leave one copy of each rule.
      for (let i = 0; i < 10; i++) await plumber.podRules([external], true);
      await plumber.setUp({ ...w, tableDestinations: ['0.0.0.0/0'] });
      expect((await rules()).filter((r) => r.src === w.ip || r.dst === w.ip)).toHaveLength(2);
      // A Pod whose host veth is gone is not looked at (nothing to keep for it).
      expect(await plumber.podRules([{ ...external, hostIf: 'vpc00000000000' }], false)).toEqual([]);
      await plumber.tearDown(w);
      expect(await hostState(w)).toEqual({ link: false, route: false, rule: false });
    },
  );

  it('check names every broken piece', async () => {
    const w = await wiring({ routeTable: 5 });
    await plumber.setUp(w);
    await inNs(w, 'route', 'del', 'default');
    await ip('rule', 'del', 'priority', '1536', 'from', w.ip);
    const err = await errorOf(plumber.check({ ...w, mtu: 1500 }));
    expect(err).toBeInstanceOf(NetnsError);
    expect(err!.message).toContain('default route via 169.254.1.1 missing');
    expect(err!.message).toContain('rule 1536');
    expect(err!.message).toContain('mtu 9001 != 1500');
    await plumber.tearDown(w);
    expect(await hostState(w)).toEqual({ link: false, route: false, rule: false });
  });

  it('undoes its own steps when wiring fails, and leaves a foreign interface alone', async () => {
    const w = await wiring({ routeTable: 2 });
    // The Pod already has an eth0 that is not ours: ADD must fail (spec) and touch nothing.
    await inNs(w, 'link', 'add', 'eth0', 'type', 'ifb');
    const err = await errorOf(plumber.setUp(w));
    expect(err).toBeInstanceOf(NetnsError);
    expect(err!.message).toContain('EEXIST');
    expect(await hostState(w)).toEqual({ link: false, route: false, rule: false });
    expect(await inNs(w, '-d', 'link', 'show', 'eth0')).toContain('ifb');
  });

  it('tolerates a vanished netns on teardown, refuses bad requests, rejects a missing netns on setUp', async () => {
    const w = await wiring();
    await plumber.setUp(w);
    await ip('netns', 'del', w.netnsPath.split('/').pop()!);
    await plumber.tearDown(w);
    expect(await hostState(w)).toEqual({ link: false, route: false, rule: false });
    expect(await errorOf(plumber.setUp(w))).toBeInstanceOf(NetnsError);
    expect(await hostState(w)).toEqual({ link: false, route: false, rule: false });
    for (const bad of [
      { ip: '1.2.3' },
      { ifName: 'a/b' },
      { containerId: '../x' },
      { netnsPath: 'relative' },
      { routeTable: 255 },
    ]) {
      expect(await errorOf(plumber.setUp({ ...w, ...bad }))).toBeInstanceOf(NetnsError);
    }
  });

  it('wires 20 Pods concurrently with distinct veths', async () => {
    const ws = await Promise.all(Array.from({ length: 20 }, () => wiring()));
    const wired = await Promise.all(ws.map((w) => plumber.setUp(w)));
    expect(new Set(wired.map((x) => x.hostIf)).size).toBe(20);
    await Promise.all(ws.map((w) => plumber.check(w)));
    await Promise.all(ws.map((w) => plumber.tearDown(w)));
    for (const w of ws) expect(await hostState(w)).toEqual({ link: false, route: false, rule: false });
  });

  it('tears the host side down without the worker (offline DEL), only what is ours', async () => {
    const w = await wiring({ routeTable: 4 });
    await plumber.setUp(w);
    const r = await tearDownHostSide({ hostIf: hostVethName(w.containerId, 'eth0'), ip: w.ip });
    expect(r).toEqual({ linkDeleted: true, rulesDeleted: 2 }); // from-rule at 1536 and to-rule at 512
    expect(await hostState(w)).toEqual({ link: false, route: false, rule: false });
    // Second offline DEL: the veth is gone, so a rule for the address (a newer Pod's) is left alone.
    await ip('rule', 'add', 'priority', '1536', 'from', w.ip, 'lookup', '4');
    expect(await tearDownHostSide({ hostIf: hostVethName(w.containerId, 'eth0'), ip: w.ip })).toEqual({
      linkDeleted: false,
      rulesDeleted: 0,
    });
    expect((await hostState(w)).rule).toBe(true);
    await ip('rule', 'del', 'priority', '1536', 'from', w.ip);
    await expect(tearDownHostSide({ hostIf: 'eth0' })).rejects.toBeInstanceOf(NetnsError);
  });
});
