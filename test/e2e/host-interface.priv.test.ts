/**
 * Privileged tests of the host links of secondary interfaces: the netlink
 * plumber's setUpInterface/tearDownInterface on a link this test creates, and
 * the sim daemon configuring route tables for the interfaces it finds at start
 * and attaches while growing, and emptying them when an interface goes away.
 *
 * The file runs in a throwaway host netns of its own (test/priv-setup.ts), so
 * route tables 2 and 3 (device indexes 1 and 2) start empty; if they do not,
 * the first test fails and names what it found. This kernel has no `dummy`
 * module, so the test links are veth pairs (`vpcit<hex><n>` with peer
 * `vpcit<hex><n>p`), both ends in that namespace. afterAll removes the links,
 * which takes every route through them along.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsError } from '../../providers/errors.js';
import { IpamDaemon } from '../../ipamd/daemon.js';
import { parseConfig } from '../../ipamd/config.js';
import { MemoryCheckpointer } from '../../ipamd/datastore/checkpoint.js';
import { NetlinkPlumber } from '../../ipamd/netns/netlink-plumber.js';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { VirtualClock } from '../../ipamd/util/clock.js';
import { SimCloud, SimProvider } from '../../providers/sim/index.js';
import { drive } from '../helpers/virtual-daemon.js';
import { ip, ipJson, isRoot, linkNames } from '../cni/netns-tools.js';

interface RouteRow {
  dst: string;
  gateway?: string;
  dev?: string;
  scope?: string;
}
type Row = { [k: string]: unknown };
interface LinkRow {
  ifname: string;
  mtu: number;
  flags: string[];
  address: string;
}

const PREFIX = `vpcit${randomBytes(3).toString('hex')}`; // 11 chars; + index + 'p' fits IFNAMSIZ
const made: string[] = [];
const tableRoutes = (t: number) =>
  ipJson<RouteRow[]>('route', 'show', 'table', String(t)).catch(() => [] as RouteRow[]);
const link = async (name: string) => (await ipJson<LinkRow[]>('link', 'show', 'dev', name))[0]!;

/** A veth pair whose first end has `mac`; both ends up (so no route is "linkdown"). */
async function testLink(mac: string): Promise<string> {
  const name = `${PREFIX}${made.length}`;
  made.push(name);
  await ip('link', 'add', name, 'address', mac, 'type', 'veth', 'peer', 'name', `${name}p`);
  await ip('link', 'set', `${name}p`, 'up');
  return name;
}
const randomMac = () => `02:7e:${[...randomBytes(4)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;

const root = isRoot();
if (!root) console.log('skipping test/e2e/host-interface.priv.test.ts: needs root (veth links, route tables)');

afterAll(async () => {
  if (!root) return;
  // Deleting a link removes every route through it, in every table.
  const present = new Set(await linkNames());
  for (const n of made) if (present.has(n)) await ip('link', 'del', n).catch(() => undefined);
  for (const t of [2, 3]) {
    const left = (await tableRoutes(t)).filter((r) => r.dev?.startsWith(PREFIX));
    if (left.length) throw new Error(`routes of test links left in table ${t}: ${JSON.stringify(left)}`);
  }
});

describe.skipIf(!root)('NetlinkPlumber host interface links (root)', () => {
  let plumber: NetlinkPlumber;
  beforeAll(async () => {
    plumber = new NetlinkPlumber();
    await plumber.warmUp();
  }, 30_000);
  afterAll(async () => {
    await plumber?.close();
  });

  it('starts in a namespace whose route tables 2 and 3 are empty', async () => {
    // Not a skip: a fresh namespace has nothing there, so anything found is a harness bug to see.
    expect({ 2: await tableRoutes(2), 3: await tableRoutes(3) }).toEqual({ 2: [], 3: [] });
  });

  it('sets MTU and up, fills table deviceIndex+1, is idempotent, repairs drift, and tears down', async () => {
    const mac = randomMac();
    const name = await testLink(mac);
    expect(await link(name)).toMatchObject({ mtu: 1500 });
    const spec = {
      mac: mac.toUpperCase(),
      deviceIndex: 2,
      subnetCidr: '198.19.96.0/20',
      primaryIp: '198.19.96.20',
      mtu: 9001,
    };

    expect(await plumber.setUpInterface(spec)).toBe('configured');
    const l = await link(name);
    expect(l.mtu).toBe(9001);
    expect(l.flags).toContain('UP');
    const routes = await tableRoutes(3);
    expect(routes).toHaveLength(2);
    expect(routes).toContainEqual(expect.objectContaining({ dst: '198.19.96.1', dev: name, scope: 'link' }));
    expect(routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '198.19.96.1', dev: name }));
    // Its own address on the link, the kernel's subnet route for it gone from main, a rule for the address.
    expect(await ipJson<Row[]>('-4', 'addr', 'show', 'dev', name)).toContainEqual(
      expect.objectContaining({ addr_info: [expect.objectContaining({ local: '198.19.96.20', prefixlen: 20 })] }),
    );
    expect((await ipJson<Row[]>('-4', 'route', 'show', 'table', 'main')).filter((r) => r.dev === name)).toEqual([]);
    const rules = (await ipJson<Row[]>('-4', 'rule', 'show')).filter((r) => r.priority === 32765);
    expect(rules).toEqual([expect.objectContaining({ src: '198.19.96.20', table: '3' })]);

    // Second run: nothing to change, same table.
    const again = await plumber.configureInterface(spec);
    expect(again).toEqual({ state: 'configured', table: 3, link: name, gateway: '198.19.96.1', changed: [] });
    expect(await tableRoutes(3)).toEqual(routes);

    // Someone removed the default route and lowered the MTU: only that is redone.
    await ip('route', 'del', 'default', 'table', '3');
    await ip('link', 'set', name, 'mtu', '1500');
    expect((await plumber.configureInterface(spec)).changed).toEqual(['mtu', 'default route']);
    expect(await tableRoutes(3)).toEqual(routes);

    await plumber.tearDownInterface({ deviceIndex: 2 });
    expect(await tableRoutes(3)).toEqual([]);
    expect((await ipJson<Row[]>('-4', 'rule', 'show')).filter((r) => r.priority === 32765)).toEqual([]);
    expect((await linkNames()).includes(name)).toBe(true); // the link is the cloud's, not ours
    await plumber.tearDownInterface({ deviceIndex: 2 }); // idempotent
  });

  it("answers 'absent' for a MAC no link has, and changes nothing", async () => {
    const r = await plumber.configureInterface({
      mac: randomMac(),
      deviceIndex: 2,
      subnetCidr: '198.19.96.0/20',
      primaryIp: '198.19.96.20',
      mtu: 9001,
    });
    expect(r).toMatchObject({ state: 'absent', table: 3, changed: [] });
    expect(await tableRoutes(3)).toEqual([]);
  });

  it('rejects bad requests with a NetnsError naming the field, before touching the kernel', async () => {
    const ok = { mac: randomMac(), deviceIndex: 2, subnetCidr: '198.19.96.0/20', primaryIp: '198.19.96.20', mtu: 9001 };
    const cases: Array<[object, RegExp]> = [
      [{ ...ok, deviceIndex: 0 }, /deviceIndex must be an integer >= 1/],
      [{ ...ok, deviceIndex: 253 }, /reserved route table 254/],
      [{ ...ok, mac: 'eth0' }, /mac "eth0"/],
      [{ ...ok, subnetCidr: '10.0.0.0/31' }, /too small to have a gateway/],
      [{ ...ok, subnetCidr: 'nope' }, /subnetCidr "nope"/],
      [{ ...ok, mtu: 100 }, /mtu 100/],
      [{ ...ok, primaryIp: '10.9.9.9' }, /primaryIp 10.9.9.9 is not in subnetCidr/],
      [{ ...ok, primaryIp: '1.2.3' }, /primaryIp "1.2.3"/],
    ];
    for (const [bad, msg] of cases) {
      const err = await plumber.setUpInterface(bad as typeof ok).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetnsError);
      expect((err as Error).message).toMatch(msg);
    }
    await expect(plumber.tearDownInterface({ deviceIndex: -1 })).rejects.toThrow(/deviceIndex/);
  });
});

describe.skipIf(!root)('sim daemon configures host links of its interfaces (root)', () => {
  const clock = new VirtualClock(1_700_000_000_000);
  const cloud = new SimCloud({ seed: 3, clock });
  let daemon: IpamDaemon;
  let plumber: NetlinkPlumber;
  beforeAll(async () => {
    // The worker thread starts in real time; under drive() the virtual clock would race ahead meanwhile.
    plumber = new NetlinkPlumber();
    await plumber.warmUp();
  }, 30_000);
  afterAll(async () => {
    await daemon?.stop();
    await plumber?.close();
  });

  it('at start, after growth attaches one (once its link shows up), and when one is deleted', async () => {
    const instanceId = cloud.seedNode({ instanceType: 'm5.large', subnetCidr: '10.0.0.0/24' });
    const subnetId = cloud.describeSubnets()[0]!.id;
    // An interface attached before ipamd starts, at device index 2, whose link exists.
    const pre = cloud.createInterface({ subnetId });
    cloud.attachInterface(pre.id, instanceId, 2);
    const preLink = await testLink(pre.mac);

    daemon = new IpamDaemon({
      // 20 addresses need a third interface on an m5.large (9 per interface).
      config: parseConfig({
        MINIMUM_IP_TARGET: '20',
        WARM_IP_TARGET: '1',
        VPC_IPAM_INTERFACE_MTU: '8000',
        VPC_IPAM_HOST_INTERFACES: 'true',
      }),
      clock,
      provider: new SimProvider({ cloud, instanceId, clock }),
      checkpointer: new MemoryCheckpointer(),
      plumber,
      log: silentLogger(),
      version: 'test',
      random: () => 0.5,
    });
    await drive(clock, daemon.init());
    expect(await tableRoutes(3)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: 'default', gateway: '10.0.0.1', dev: preLink }),
        expect.objectContaining({ dst: '10.0.0.1', dev: preLink }),
      ]),
    );
    expect((await link(preLink)).mtu).toBe(8000);
    expect(daemon.hostLinks.list()).toEqual([
      expect.objectContaining({ interfaceId: pre.id, deviceIndex: 2, routeTable: 3, state: 'configured' }),
    ]);

    // Growth attaches an interface at device index 1; the kernel shows no link for it yet.
    await drive(clock, daemon.startLoop());
    for (let i = 0; i < 600 && !daemon.datastore.interfaceList().some((n) => n.deviceIndex === 1); i++)
      await clock.advance(100);
    const grown = daemon.datastore.interfaceList().find((n) => n.deviceIndex === 1);
    expect(grown).toBeDefined();
    await daemon.hostLinks.idle();
    expect(daemon.hostLinks.list().find((s) => s.interfaceId === grown!.id)?.state).toBe('absent');
    expect(await tableRoutes(2)).toEqual([]);

    // The link appears; the next resync configures it.
    const grownLink = await testLink(grown!.mac);
    await drive(clock, daemon.reconciler.resync());
    await daemon.hostLinks.idle();
    expect(await tableRoutes(2)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: 'default', gateway: '10.0.0.1', dev: grownLink }),
        expect.objectContaining({ dst: '10.0.0.1', dev: grownLink }),
      ]),
    );
    expect(daemon.hostLinks.list().find((s) => s.interfaceId === grown!.id)?.state).toBe('configured');

    // The pre-existing interface is deleted out of band (no Pod uses it): its table is emptied on resync.
    cloud.detachInterface(pre.id);
    cloud.deleteInterface(pre.id);
    await drive(clock, daemon.reconciler.resync());
    await daemon.hostLinks.idle();
    expect(daemon.datastore.interfaceById(pre.id)).toBeUndefined();
    expect((await tableRoutes(3)).filter((r) => r.dev === preLink)).toEqual([]);
    expect(await tableRoutes(2)).toHaveLength(2);
  }, 120_000);
});
