/**
 * Setup file of every test file: for privileged ones (`*.priv.test.ts`, run
 * as root) it moves the test worker into a throwaway "host" network
 * namespace of its own before the test file is even imported, so nothing the
 * file does (veths, routes, rules, route tables, iptables, ports) can touch or
 * be blocked by the real host. See docs/decisions.md, "Privileged tests".
 *
 * - `ip netns add vpcit-<pid>.<start>-host`, `lo` up, and a node-like uplink:
 *   `eth0` (a veth; this kernel has no dummy module) with 198.51.100.2/24 and
 *   a default route, because a host with no address of its own cannot even
 *   ping a Pod (only 127.0.0.1 would be left as the source). Then setns(2) of
 *   the worker's main thread into it. Sockets, child processes (ip, the CNI
 *   plugin, ipamd) and worker threads made afterwards by that thread inherit
 *   it; the libuv thread pool does not (it exists already), which matters
 *   only for async fs reads of /sys (below).
 * - unshare(2) of the main thread's mount namespace and a fresh sysfs on
 *   /sys: sysfs shows the links of the namespace that mounted it, and the
 *   CNI plugin reads /sys/class/net/<host veth>/address. /sys is made a slave
 *   first so neither the mount nor its removal propagates to the host;
 *   /run/netns stays shared, so Pod namespaces (`ip netns add`) remain
 *   visible to the host and to the sweep in test/global-setup.ts.
 * - The last afterAll (hooks run in reverse order, and this file registers
 *   first) moves the thread back and deletes the namespace, which deletes
 *   everything in it. A worker that dies before that is swept by
 *   test/global-setup.ts, at the end of the run and at the start of the next.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { afterAll, expect } from 'vitest';
import { hostNsName } from './helpers/test-netns.js';

const CLONE_NEWNS = 0x00020000;
const CLONE_NEWNET = 0x40000000;
const MS_REC = 0x4000;
const MS_SLAVE = 0x80000;
// The throwaway host's own interface and address: TEST-NET-2, which no test hands out to Pods.
const UPLINK = 'eth0';
const UPLINK_ADDR = '198.51.100.2/24';
const UPLINK_GW = '198.51.100.1';

const testPath = expect.getState().testPath ?? '';
const privileged = testPath.endsWith('.priv.test.ts');
if (privileged && process.getuid?.() === 0) await enterThrowawayHost();

async function enterThrowawayHost(): Promise<void> {
  const { default: koffi } = await import('koffi');
  const libc = koffi.load('libc.so.6');
  const setnsC = libc.func('int setns(int fd, int nstype)') as (fd: number, type: number) => number;
  const unshareC = libc.func('int unshare(int flags)') as (flags: number) => number;
  const mountC = libc.func(
    'int mount(const char *src, const char *dst, const char *type, unsigned long flags, void *data)',
  ) as (src: string | null, dst: string, type: string | null, flags: number, data: null) => number;
  const check = (rc: number, what: string) => {
    if (rc !== 0) throw new Error(`priv-setup: ${what} failed: errno ${koffi.errno()}`);
  };
  const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  const name = hostNsName();
  // thread-self: namespaces are per thread, and it is this thread that moves and comes back.
  const realNet = fs.openSync('/proc/thread-self/ns/net', 'r');
  const realMnt = fs.openSync('/proc/thread-self/ns/mnt', 'r');
  const realNetId = fs.readlinkSync('/proc/thread-self/ns/net');
  let done = false;
  const leave = () => {
    if (done) return;
    done = true;
    const errors: string[] = [];
    if (setnsC(realMnt, CLONE_NEWNS) !== 0) errors.push(`setns(mnt) back: errno ${koffi.errno()}`);
    if (setnsC(realNet, CLONE_NEWNET) !== 0) errors.push(`setns(net) back: errno ${koffi.errno()}`);
    fs.closeSync(realMnt);
    fs.closeSync(realNet);
    try {
      ip('netns', 'del', name);
    } catch (err) {
      errors.push(`ip netns del ${name}: ${(err as Error).message}`);
    }
    if (errors.length) throw new Error(`priv-setup: leaving ${name}: ${errors.join('; ')}`);
  };
  // afterAll does not run when the worker is told to exit early; the global sweep is the last resort.
  process.once('exit', () => {
    try {
      leave();
    } catch {
      // Nothing to report to at exit; test/global-setup.ts sweeps what is left.
    }
  });

  ip('netns', 'add', name);
  try {
    ip('-n', name, 'link', 'set', 'lo', 'up');
    ip('-n', name, 'link', 'add', UPLINK, 'type', 'veth', 'peer', 'name', `${UPLINK}-peer`);
    for (const l of [UPLINK, `${UPLINK}-peer`]) ip('-n', name, 'link', 'set', l, 'up');
    ip('-n', name, 'addr', 'add', UPLINK_ADDR, 'dev', UPLINK);
    ip('-n', name, 'route', 'add', 'default', 'via', UPLINK_GW, 'dev', UPLINK);
    const fd = fs.openSync(`/run/netns/${name}`, 'r');
    try {
      check(setnsC(fd, CLONE_NEWNET), `setns(${name})`);
    } finally {
      fs.closeSync(fd);
    }
    check(unshareC(CLONE_NEWNS), 'unshare(CLONE_NEWNS)');
    check(mountC(null, '/sys', null, MS_REC | MS_SLAVE, null), 'mount --make-rslave /sys');
    check(mountC('sysfs', '/sys', 'sysfs', 0, null), 'mount -t sysfs sysfs /sys');
  } catch (err) {
    leave();
    throw err;
  }
  // Proof before any test runs: a fresh namespace has nothing but what was made above, and sysfs agrees.
  const links = fs.readdirSync('/sys/class/net').sort();
  const fresh = links.join() === [UPLINK, `${UPLINK}-peer`, 'lo'].join();
  if (fs.readlinkSync('/proc/thread-self/ns/net') === realNetId || !fresh) {
    leave();
    throw new Error(`priv-setup: ${name} is not a fresh namespace (links: ${links.join(', ')})`);
  }
  // For the tests and for whoever debugs one: `ip -n $VPC_IPAM_TEST_HOST_NETNS ...` while it runs.
  process.env.VPC_IPAM_TEST_HOST_NETNS = name;
  afterAll(leave);
}
