/**
 * The batched netlink path of a Pod's wiring (ipamd/netns/netlink-batch.ts, pod-wiring.ts): one datagram, one
 * answer per request in order, the kernel going on after a refused one; the echoed NEWLINK; what the batched
 * wiring sets without a lookup (both MACs, both ends up, lo up); the lookups when the kernel does not echo; the
 * one-by-one fallback for duplicated rules; the main thread's namespace check. Runs in a throwaway host netns
 * (test/priv-setup.ts). Names: netns `vpcit-<owner>-nlb-*`, container IDs `nlb<pid>-*`, addresses 198.18.201.0/24.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsRefusedError } from '../../providers/errors.js';
import { NetlinkPlumber } from '../../ipamd/netns/netlink-plumber.js';
import { RTM, body, echoedLink, runBatch } from '../../ipamd/netns/netlink-batch.js';
import { createSyncRtNetlink } from '../../ipamd/netns/sync-netlink.js';
import { wirePod } from '../../ipamd/netns/pod-wiring.js';
import koffi from 'koffi';
import { AF_INET, ip4, linkRoute, type RtSocket } from '../../cni/contract/netlink-ops.js';
import { hostVethName } from '../../cni/contract/veth-name.js';
import type { PodWiring } from '../../ipamd/netns/plumber.js';
import { podWirings } from '../helpers/pod-wirings.js';
import {
  deleteLinks,
  deleteNetnsWithPrefix,
  deleteRules,
  ip,
  ipJson,
  isRoot,
  podNsPrefix,
  rules,
} from '../cni/netns-tools.js';

const root = isRoot();
if (!root) console.log('skipping test/ipamd/netlink-batch-plumb.priv.test.ts: needs root (netns, veth, ip rules)');

const NS = podNsPrefix('nlb');
const CID = `nlb${process.pid}-`;
const pods = podWirings(NS, CID, '198.18.201.');
const ids = pods.ids;
const wiring = (extra: Partial<PodWiring> = {}) => pods.next(extra);
let plumber: NetlinkPlumber;
const nsOf = (w: PodWiring) => w.netnsPath.split('/').pop()!;

describe.skipIf(!root)('batched netlink wiring (root)', () => {
  let s: RtSocket;
  beforeAll(async () => {
    plumber = new NetlinkPlumber();
    await plumber.warmUp();
    s = createSyncRtNetlink();
  }, 30_000);
  afterAll(async () => {
    s?.socket.close();
    await plumber?.close();
    await deleteLinks([...ids.map((id) => hostVethName(id, 'eth0')), 'nlbdummy0']);
    await deleteRules((a) => a.startsWith('198.18.201.'));
    await deleteNetnsWithPrefix(NS);
  });

  it('answers each request of one datagram in order, and the kernel goes on after a refused one', async () => {
    await ip('link', 'add', 'nlbdummy0', 'type', 'veth', 'peer', 'name', 'nlbdummy1');
    const made = runBatch(s, [
      {
        step: 'set up by name',
        type: RTM.SETLINK,
        body: body.link({ flags: { up: true }, change: { up: true } }, { ifname: 'nlbdummy0' }),
      },
      { step: 'no such link', type: RTM.SETLINK, body: body.link({}, { ifname: 'nlbnone0' }) },
      {
        step: 'rule',
        type: RTM.NEWRULE,
        flags: 0x400 | 0x200,
        body: body.rule(
          { family: AF_INET, dstLen: 32, table: 254, action: 'toTbl' },
          { dst: ip4('198.18.201.250'), priority: 512, table: 254 },
        ),
      },
    ]);
    expect(made.map((a) => [a.step, a.errno])).toEqual([
      ['set up by name', undefined],
      ['no such link', 'ENODEV'],
      ['rule', undefined],
    ]);
    expect((await ipJson<Array<{ flags: string[] }>>('link', 'show', 'nlbdummy0'))[0]!.flags).toContain('UP');
    expect((await rules()).filter((r) => r.dst === '198.18.201.250')).toHaveLength(1);
    const [hdr, attrs] = linkRoute('198.18.201.251', 999_999);
    const [refused] = runBatch(s, [
      { step: 'route', type: RTM.NEWROUTE, flags: 0x400, body: body.route({ ...hdr }, { ...attrs }) },
    ]);
    expect(refused!.errno).toBe('ENODEV');
    expect(echoedLink(refused!)).toBeUndefined();
  });

  it('wires without lookups: both MACs set and answered, both ends and lo up, the gateway neighbour', async () => {
    const w = await wiring({ routeTable: 3 });
    const wired = await plumber.setUp(w);
    const [pod] = await ipJson<Array<{ address: string; flags: string[]; mtu: number }>>(
      '-n',
      nsOf(w),
      'link',
      'show',
      'eth0',
    );
    expect(pod!.address).toBe(wired.podMac);
    expect(pod!.flags).toContain('UP');
    expect(pod!.mtu).toBe(9001);
    const [lo] = await ipJson<Array<{ flags: string[] }>>('-n', nsOf(w), 'link', 'show', 'lo');
    expect(lo!.flags).toContain('UP');
    const [host] = await ipJson<Array<{ address: string; flags: string[] }>>('link', 'show', wired.hostIf);
    expect(host!.address).toBe(wired.hostMac);
    expect(host!.flags).toContain('UP');
    expect(await ip('-n', nsOf(w), 'neigh')).toContain(`169.254.1.1 dev eth0 lladdr ${wired.hostMac} PERMANENT`);
    await plumber.check(w);
    await plumber.tearDown(w);
  });

  it('replaces duplicated rules of the address one by one, leaving one copy of each', async () => {
    const w = await wiring({ routeTable: 4 });
    // Older versions appended rules without EXCL (`ip rule add` now refuses a copy): three copies of each.
    const copies = (data: object, attrs: object) => ({
      step: 'copy',
      type: RTM.NEWRULE,
      flags: 0x400,
      body: body.rule({ family: AF_INET, table: 254, action: 'toTbl', ...data }, attrs),
    });
    const to = copies({ dstLen: 32 }, { dst: ip4(w.ip), priority: 512, table: 254 });
    const from = copies({ srcLen: 32, table: 4 }, { src: ip4(w.ip), priority: 1536, table: 4 });
    expect(runBatch(s, [to, to, to, from, from, from]).map((a) => a.errno)).toEqual(Array(6).fill(undefined));
    await plumber.setUp(w);
    const mine = (await rules()).filter((r) => r.src === w.ip || r.dst === w.ip);
    expect(mine.map((r) => r.priority).sort()).toEqual([1536, 512]);
    await plumber.check(w);
    await plumber.tearDown(w);
    expect((await rules()).filter((r) => r.src === w.ip || r.dst === w.ip)).toEqual([]);
  });

  it('main-thread netns check: a FIFO is refused, not waited on; the worker checks the type', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-'));
    try {
      const fifo = path.join(dir, 'net');
      execFileSync('mkfifo', [fifo]);
      await expect(plumber.vetNetns(fifo)).rejects.toBeInstanceOf(NetnsRefusedError);
      await expect(plumber.vetNetns('/proc/self/ns/net')).rejects.toBeInstanceOf(NetnsRefusedError);
      await expect(plumber.vetNetns('/proc/self/ns/uts')).rejects.toThrow(/is not a network namespace \(uts:/);
      // A bind mount of another type of namespace shows its path, not its type: the main thread lets it by, the
      // worker's ioctl refuses it before it touches anything.
      const uts = path.join(dir, 'uts');
      fs.writeFileSync(uts, '');
      execFileSync('mount', ['--bind', '/proc/self/ns/uts', uts]);
      try {
        await plumber.vetNetns(uts);
        const w = await wiring();
        await expect(plumber.setUp({ ...w, netnsPath: uts })).rejects.toBeInstanceOf(NetnsRefusedError);
      } finally {
        execFileSync('umount', [uts]);
      }
      await plumber.vetNetns((await wiring()).netnsPath);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('wires on a kernel that does not echo a NEWLINK (before 6.1): the ends are looked up by name', async () => {
    const w = await wiring();
    const host = createSyncRtNetlink();
    // What such a kernel answers: the acknowledgements only.
    const raw = host.socket.socket as unknown as { exchange(b: Buffer, seqs: ReadonlySet<number>): Buffer[] };
    const exchange = raw.exchange.bind(raw);
    raw.exchange = (b, seqs) => exchange(b, seqs).filter((d) => d.readUInt16LE(4) === 2);
    const setns = koffi.load('libc.so.6').func('int setns(int fd, int nstype)') as (fd: number, t: number) => number;
    const own = fs.openSync('/proc/thread-self/ns/net', 'r');
    const ctx = {
      host,
      vet: () => undefined,
      openIn: (fd: number) => {
        if (setns(fd, 0x40000000) !== 0) throw new Error('setns');
        let s: RtSocket | undefined;
        try {
          s = createSyncRtNetlink();
        } finally {
          // Back to this thread's namespace whatever happened; a failure here must fail the test loudly.
          if (setns(own, 0x40000000) !== 0) process.abort();
        }
        return s;
      },
    };
    try {
      const wired = await wirePod(ctx, w);
      expect(fs.readlinkSync('/proc/thread-self/ns/net')).toBe(`net:[${fs.fstatSync(own).ino}]`);
      await plumber.check(w);
      expect(await ip('-n', nsOf(w), 'neigh')).toContain(`lladdr ${wired.hostMac} PERMANENT`);
      await plumber.tearDown(w);
    } finally {
      host.socket.close();
      fs.closeSync(own);
    }
  });
});
