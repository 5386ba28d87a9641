/**
 * Privileged tests of the plumbing worker's two safety promises:
 * - it never aborts the process: wiring, failing kernel calls and close() in
 *   any order end in typed errors and a clean exit (the old native netlink
 *   transport died in std::terminate on close after wiring, about 2 runs in 3);
 * - nothing a Pod sends can touch the namespace ipamd runs in: a target that
 *   is the host's, ipamd's own or no network namespace at all is refused
 *   before anything is changed.
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { NetnsRefusedError } from '../../providers/errors.js';
import { NetlinkPlumber } from '../../ipamd/netns/netlink-plumber.js';
import { addNetns, deleteNetnsWithPrefix, ip, isRoot } from '../cni/netns-tools.js';
import { PROTOCOL_VERSION } from '../../cni/contract/protocol.js';
import { callIpamd } from '../../cni/contract/socket-client.js';
import { REPO, getJson, kill, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';
import { podNsPrefix } from '../helpers/test-netns.js';

const run = promisify(execFile);
const root = isRoot();
const NS = podNsPrefix('ps');

const daemons: DaemonHandle[] = [];
afterAll(async () => {
  for (const d of daemons) await kill(d, 'SIGKILL');
  if (root) await deleteNetnsWithPrefix(NS);
});

/** Everything of the current namespace that a hijacked ADD would change. */
async function hostState(): Promise<string> {
  const parts = await Promise.all(
    [['link'], ['addr'], ['route', 'show', 'table', 'all'], ['rule'], ['neigh']].map(async (a) => {
      const out = (await run('ip', ['-o', ...a], { encoding: 'utf8' })).stdout;
      // Link statistics and neighbour states move on their own; names, addresses and routes do not.
      return out.replace(/\s+(REACHABLE|STALE|DELAY|PROBE|FAILED)\s*$/gm, '');
    }),
  );
  return parts.join('\n');
}

describe.skipIf(!root)('the plumbing worker never aborts the process (root)', () => {
  it('survives 15 cycles of wire, failing call, teardown and close, and close with a job in flight', async () => {
    const plumberJs = path.join(REPO, 'dist/ipamd/netns/netlink-plumber.js');
    expect(fs.existsSync(plumberJs), `${plumberJs} missing: npm run build`).toBe(true);
    const nsPaths = await Promise.all([0, 1].map((i) => addNetns(`${NS}c${i}`)));
    const script = `
      import { NetlinkPlumber } from ${JSON.stringify(plumberJs)};
      const [a, b] = ${JSON.stringify(nsPaths)};
      const w = (cid, ns, ip) => ({ containerId: cid, netnsPath: ns, ifName: 'eth0', ip, mtu: 1500, routeTable: 3 });
      let typed = 0;
      for (let i = 0; i < 15; i++) {
        const p = new NetlinkPlumber();
        await p.setUp(w('cyc' + i, a, '10.77.0.' + (i + 1)));
        // eth0 exists in the netns already: the kernel says EEXIST, which must come back as an error.
        await p.setUp(w('dup' + i, a, '10.77.1.' + (i + 1))).catch((e) => { if (e.code === 'NETNS_FAILED') typed++; });
        await p.tearDown(w('cyc' + i, a, '10.77.0.' + (i + 1)));
        const inflight = p.setUp(w('fly' + i, b, '10.77.2.' + (i + 1)));
        await p.close();
        await inflight.catch(() => undefined);
        const q = new NetlinkPlumber();
        await q.tearDown(w('fly' + i, b, '10.77.2.' + (i + 1)));
        await q.close();
      }
      console.log('cycles 15 typed ' + typed);
    `;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'plumber-cycles-')), 'cycles.mjs');
    fs.writeFileSync(file, script);
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const code = await new Promise<number | null>((resolve) =>
      child.on('exit', (c, sig) => resolve(c ?? (sig ? -1 : null))),
    );
    expect({ code, err: err.split('\n').filter((l) => /terminate|Napi|Error/.test(l)) }).toEqual({ code: 0, err: [] });
    expect(out.trim()).toBe('cycles 15 typed 15');
    // Nothing of the cycles is left: no rule for their addresses here, no link in either Pod namespace.
    expect((await ip('-o', 'rule')).split('\n').filter((l) => l.includes('10.77.'))).toEqual([]);
    for (const ns of [`${NS}c0`, `${NS}c1`]) {
      const links = (await ip('-n', ns, '-o', 'link')).split('\n').filter(Boolean);
      expect(links.map((l) => l.split(':')[1]!.trim())).toEqual(['lo']);
    }
  }, 120_000);
});

describe.skipIf(!root)('a Pod ADD cannot target the namespace ipamd runs in (root)', () => {
  const plumber = new NetlinkPlumber();
  afterAll(async () => {
    await plumber.close();
  });

  it('refuses the host, ipamd and non-network namespaces before touching anything', async () => {
    const alias = `${NS}alias`;
    // A named bind mount of the namespace this test (ipamd) runs in: what a hostile path could point at.
    await ip('netns', 'attach', alias, String(process.pid));
    const targets: Array<[string, RegExp]> = [
      ['/proc/self/ns/net', /ipamd process's namespace|plumbing thread's namespace/],
      ['/proc/thread-self/ns/net', /namespace/],
      [`/proc/${process.pid}/ns/net`, /ipamd process's namespace|plumbing thread's namespace/],
      [`/proc/${process.pid}/task/${process.pid}/ns/net`, /namespace/],
      [`/var/run/netns/${alias}`, /ipamd process's namespace|plumbing thread's namespace/],
      // PID 1's namespace is the host's; where /proc/1 is unreadable, opening it fails the same way.
      ['/proc/1/ns/net', /PID 1's|EACCES|EPERM/],
      ['/proc/self/ns/uts', /is not a network namespace/],
      ['/etc/hostname', /is not a network namespace/],
    ];
    const before = await hostState();
    for (const [netnsPath, why] of targets) {
      const w = { containerId: 'hijack', netnsPath, ifName: 'podx0', ip: '10.99.0.9', mtu: 1500, routeTable: 3 };
      const setUp = await plumber.setUp(w).catch((e: unknown) => e);
      expect((setUp as Error).message, netnsPath).toMatch(why);
      if (!/EACCES|EPERM/.test((setUp as Error).message)) expect(setUp, netnsPath).toBeInstanceOf(NetnsRefusedError);
      expect((setUp as Error).message, netnsPath).toContain(netnsPath);
      const vet = await plumber.vetNetns(netnsPath).catch((e: unknown) => e);
      expect((vet as Error).message, netnsPath).toMatch(why);
    }
    expect(await hostState()).toBe(before);
    await ip('netns', 'del', alias);
  });

  it('accepts a real Pod namespace', async () => {
    const ns = await addNetns(`${NS}pod`);
    await expect(plumber.vetNetns(ns)).resolves.toBeUndefined();
  });
});

describe.skipIf(!root)('ipamd refuses an ADD into its own namespace and changes nothing (root)', () => {
  it('answers NETNS_REFUSED, assigns no address and leaves the host as it was', async () => {
    const h = await startDaemon({ VPC_IPAM_PLUMBING: 'on', VPC_IPAM_METRICS_ADDRESS: 'off' });
    daemons.push(h);
    const pid = h.proc.pid!;
    const pool = async () => await getJson<{ assigned: number; cooling: number }>(h, '/v1/pool');
    const before = { host: await hostState(), pool: await pool(), assignments: await getJson(h, '/v1/assignments') };
    for (const netnsPath of [`/proc/${pid}/ns/net`, `/proc/${pid}/task/${pid}/ns/net`, '/proc/self/ns/net']) {
      const r = await callIpamd(h.socket, {
        v: PROTOCOL_VERSION,
        op: 'add',
        network: 'vpc-net',
        containerId: 'hijack0',
        ifName: 'podx0',
        netns: { path: netnsPath },
      });
      expect(r, netnsPath).toMatchObject({ ok: false, error: { code: 'NETNS_REFUSED' } });
      expect((r as { error: { msg: string } }).error.msg).toContain(netnsPath);
    }
    const after = { host: await hostState(), pool: await pool(), assignments: await getJson(h, '/v1/assignments') };
    expect(after.assignments).toEqual(before.assignments);
    expect({ assigned: after.pool.assigned, cooling: after.pool.cooling }).toEqual({
      assigned: before.pool.assigned,
      cooling: before.pool.cooling,
    });
    expect(after.host).toBe(before.host);
  }, 60_000);
});
