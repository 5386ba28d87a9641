/**
 * The traffic matrix of issue 12 on the VPC fabric (README.md): two EC2 nodes with their own ipamd on the
 * emulated AWS provider, Pods added through the real CNI plugin, a VPC router with EC2's source/destination
 * check, an Internet gateway that NATs primary addresses only. One `it` per flow, each expecting what EC2
 * does with the AWS VPC CNI; a failure names the drop counters that grew while it ran. The matrix runs on
 * the fresh fabric and again after an ipamd restart; in between a new ENI is attached mid-run, and at the
 * end every Pod is deleted and nothing may be left. The tables are printed at the end.
 * Part of `npm test` (as root; CI runs it); `npm run test:fabric` runs this file alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seaPlugin } from '../cni/plugin-process.js';
import { describeHits, hits, snapshot, type CounterSources, type Hit } from './counters.js';
import { Fabric } from './fabric.js';
import { FLOWS, runFlow, type Flow } from './flows.js';
import { leftovers, removeKubeProxy } from './leftovers.js';
import { podOnNewEni } from './new-eni.js';
import { renderTable, type Row } from './table.js';
import { inNs, ipJson, run } from './exec.js';
import type { FabricNode } from './node.js';

const root = process.getuid?.() === 0;
if (!root) console.log('skipping test/fabric/matrix.priv.test.ts: needs root (network namespaces, veth, nftables)');

let fabric: Fabric | undefined;
let sources: CounterSources;
const tables = new Map<string, Row[]>();

function record(phase: string, row: Row): void {
  if (!tables.has(phase)) tables.set(phase, []);
  tables.get(phase)!.push(row);
}

/** Runs one flow between two counter snapshots; returns whether EC2 would agree, and the evidence. */
async function check(flow: Flow, f: Fabric): Promise<{ pass: boolean; why: string; grew: Hit[] }> {
  const before = await snapshot(sources);
  const r = await runFlow(flow, f);
  // ICMP errors and the last retransmission land just after a probe gives up.
  if (!r.ok) await new Promise((res) => setTimeout(res, 150));
  const grew = hits(before, await snapshot(sources), f.router);
  const e = flow.expect;
  const pass = e.ok ? r.ok : !r.ok && grew.some((h) => e.blockedBy.test(h.key));
  const why = [
    ...(r.mismatch ? [r.mismatch] : r.details),
    ...(grew.length ? [describeHits(grew)] : r.ok ? [] : ['no drop counted']),
  ].join('; ');
  return { pass, why, grew };
}

function matrix(phase: string): void {
  FLOWS.forEach((flow, i) => {
    it(`${i + 1}. ${flow.name}`, async () => {
      const { pass, why } = await check(flow, fabric!);
      record(phase, {
        n: i + 1,
        flow: flow.name,
        expected: flow.expect.ok ? 'works' : `blocked (${flow.expect.where})`,
        result: pass ? 'PASS' : 'FAIL',
        why,
      });
      expect(pass, `${flow.name}: ${why}`).toBe(true);
    }, 20_000);
  });
}

describe.skipIf(!root)('VPC fabric traffic matrix (root)', () => {
  beforeAll(async () => {
    const f = new Fabric(await seaPlugin());
    fabric = f;
    await f.start();
    sources = { router: f.router, igwNs: f.igw.ns, nodes: [...f.nodes.values()] };
    const pods = [...f.nodes.values()].flatMap((n) => [...n.pods.values()]).filter((p) => !p.name.startsWith('fill'));
    console.log(
      `fabric up: ${f.timings.join(', ')}\n${f.router.events.join('\n')}\n` +
        pods.map((p) => `${p.node}/${p.name} ${p.ip} on ${p.eni.id} (eth${p.eni.deviceIndex})`).join('\n'),
    );
  }, 180_000);

  afterAll(async () => {
    for (const [phase, rows] of tables) console.log(`\nVPC fabric: ${phase}\n\n${renderTable(rows)}\n`);
    const problems = fabric ? await fabric.stop() : [];
    expect(problems, 'fabric cleanup').toEqual([]);
  }, 60_000);

  describe('fresh fabric', () => matrix('fresh fabric'));

  describe('a new ENI attached mid-run', () => {
    it('a Pod on the new ENI reaches another node at once, and no packet leaves with a foreign source', async () => {
      const f = fabric!;
      const { pod, adds } = await podOnNewEni(f, 'n1');
      const label = `${pod.node}/${pod.name} ${pod.ip} on new ${pod.eni.id} (eth${pod.eni.deviceIndex}, ${adds} ADDs)`;
      const flow: Flow = {
        name: 'Pod on a just-attached ENI → n2/p (primary), at once',
        from: () => ({ label, ns: pod.ns, ip: pod.ip }),
        to: (x) => ({ label: 'n2/p', ip: x.pod('n2', 'p').ip }),
        probes: ['ping', 'tcp'],
        expect: { ok: true },
      };
      const { pass, why, grew } = await check(flow, f);
      const foreign = grew.filter((h) => /^router\.src_/.test(h.key));
      const ok = pass && foreign.length === 0;
      record('a new ENI attached mid-run', {
        n: 1,
        flow: flow.name,
        expected: 'works, no foreign source',
        result: ok ? 'PASS' : 'FAIL',
        why: `${label}; ${why}`,
      });
      await f.router.settled();
      expect(ok, why).toBe(true);
    }, 30_000);
  });

  describe('after an ipamd restart', () => {
    it('ipamd restarts on both nodes (SIGTERM, same state directory)', async () => {
      for (const n of fabric!.nodes.values()) {
        await n.stopIpamd('SIGTERM');
        await n.startIpamd();
      }
      await fabric!.router.settled();
    }, 60_000);
    matrix('after an ipamd restart');
  });

  describe('CHECK, repair and restarts', () => {
    const n1 = () => fabric!.node('n1');
    const s1 = () => fabric!.pod('n1', 's1');
    it('CHECK passes, then names a flushed SNAT chain and a deleted Pod rule; the resync puts both back', async () => {
      expect(await n1().checkPod(s1())).toBeUndefined();
      expect(await fabric!.node('n2').checkPod(fabric!.pod('n2', 's1'))).toBeUndefined();
      await run(inNs(n1().ns, 'iptables', '-w', '5', '-t', 'nat', '-F', 'VPC-IPAM-SNAT'));
      await run(inNs(n1().ns, 'ip', 'rule', 'del', 'priority', '512', 'to', s1().ip));
      const broken = await n1().checkPod(s1());
      expect(broken).toMatch(/VPC-IPAM-SNAT/);
      expect(broken).toContain(`rule 512: to ${s1().ip} lookup main missing`);
      // Resync every 5 s in the fabric: verify, then rewrite only what is wrong.
      let left = broken;
      for (let i = 0; i < 100 && left; i++) {
        await new Promise((r) => setTimeout(r, 200));
        left = await n1().checkPod(s1());
      }
      record('CHECK, repair and restarts', {
        n: 1,
        flow: 'CHECK after flushing VPC-IPAM-SNAT and a to-Pod rule',
        expected: 'fails naming both, then repaired',
        result: left ? 'FAIL' : 'PASS',
        why: left ?? broken!.trim(),
      });
      expect(left).toBeUndefined();
    }, 60_000);

    it('ten ipamd restarts leave exactly one copy of every rule', async () => {
      const before = await ruleCensus(n1());
      for (let i = 0; i < 10; i++) {
        await n1().stopIpamd('SIGTERM');
        await n1().startIpamd();
      }
      const after = await ruleCensus(n1());
      const dupes = [...after].filter(([, n]) => n > 1).map(([k, n]) => `${k} ×${n}`);
      record('CHECK, repair and restarts', {
        n: 2,
        flow: 'ten ipamd restarts on n1',
        expected: 'no duplicate rule',
        result: dupes.length ? 'FAIL' : 'PASS',
        why: dupes.join('; ') || `${after.size} rules, one copy each`,
      });
      expect(dupes).toEqual([]);
      expect(after).toEqual(before);
      await fabric!.router.settled();
    }, 90_000);
  });

  describe('after DEL of every Pod', () => {
    it('DEL through the plugin leaves no rule, route, host veth, netfilter entry or assignment', async () => {
      const left: string[] = [];
      for (const n of fabric!.nodes.values()) {
        const pods = [...n.pods.values()];
        for (const p of pods) {
          const err = await n.delPod(p);
          if (err) left.push(`${n.name}: ${err}`);
        }
        await removeKubeProxy(n);
        for (const l of await leftovers(n, pods)) left.push(`${n.name}: ${l}`);
      }
      record('after DEL of every Pod', {
        n: 1,
        flow: 'DEL of every Pod, then look for what names a Pod',
        expected: 'nothing left',
        result: left.length ? 'FAIL' : 'PASS',
        why: left.join('; ') || 'nothing left',
      });
      expect(left).toEqual([]);
    }, 60_000);
  });
});

/** Every policy rule and every netfilter rule of ipamd's on a node, with how many copies each has. */
async function ruleCensus(node: FabricNode): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const add = (k: string) => out.set(k, (out.get(k) ?? 0) + 1);
  for (const r of await ipJson<Array<Record<string, unknown>>>(node.ns, 'rule', 'show')) add(JSON.stringify(r));
  const saved = await run(inNs(node.ns, 'iptables-save'));
  for (const line of saved.split('\n')) if (line.includes('VPC-IPAM') || line.includes('vpc-ipam')) add(line);
  return out;
}
