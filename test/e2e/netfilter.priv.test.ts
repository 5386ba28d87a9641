/**
 * The node's SNAT and NodePort connmark rules against the real iptables binaries (1.8.x, both backends), in
 * this file's throwaway host namespace (test/priv-setup.ts): applying is idempotent, a fresh process verifies
 * what an earlier one installed, a rule someone deleted is named and put back, kube-proxy's rules are never
 * touched, AWS_VPC_K8S_CNI_EXTERNALSNAT takes the SNAT chain away, uninstall leaves nothing, and the backend
 * follows the kubelet's hint chain.
 */
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeNetfilter, type NetfilterBackend } from '../../ipamd/netns/netfilter.js';
import type { NodeNetfilterSpec } from '../../ipamd/netns/snat-rules.js';

const root = process.getuid?.() === 0;
const BACKENDS: NetfilterBackend[] = ['nft', 'legacy'];
const SPEC: NodeNetfilterSpec = {
  primaryIp: '198.51.100.2',
  primaryIf: 'eth0',
  vpcCidrs: ['10.0.0.0/16', '100.64.0.0/16'],
  excludeSnatCidrs: ['172.16.0.0/12'],
  externalSnat: false,
  randomizeSnat: 'prng',
  nodePortSupport: true,
  connmark: 0x80,
  vethPrefix: 'vpc',
};

const run = (file: string, ...args: string[]): string =>
  execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const save = (b: NetfilterBackend, table?: string): string =>
  run(`iptables-${b}-save`, ...(table ? ['-t', table] : []))
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .join('\n');
const ipt = (b: NetfilterBackend, ...args: string[]): string => run(`iptables-${b}`, '-w', '5', ...args);
const ownLines = (b: NetfilterBackend): string[] =>
  save(b)
    .split('\n')
    .filter((l) => /VPC-IPAM|vpc-ipam/.test(l));
const count = (text: string, needle: string): number => text.split('\n').filter((l) => l.includes(needle)).length;

/** kube-proxy's jump and chain, which every apply and remove must leave exactly as they were. */
function addKubeProxy(b: NetfilterBackend): void {
  ipt(b, '-t', 'nat', '-N', 'KUBE-POSTROUTING');
  ipt(b, '-t', 'nat', '-A', 'KUBE-POSTROUTING', '-m', 'mark', '--mark', '0x4000/0x4000', '-j', 'MASQUERADE');
  ipt(
    b,
    '-t',
    'nat',
    '-A',
    'POSTROUTING',
    '-m',
    'comment',
    '--comment',
    'kubernetes postrouting',
    '-j',
    'KUBE-POSTROUTING',
  );
}

/** Flushes and deletes every non-built-in chain of both tables in both backends: each test starts empty. */
function reset(): void {
  for (const b of BACKENDS) {
    for (const t of ['nat', 'mangle']) {
      ipt(b, '-t', t, '-F');
      ipt(b, '-t', t, '-X');
    }
  }
}

describe.skipIf(!root)('node netfilter rules with the real iptables', () => {
  afterEach(reset);

  describe.each(BACKENDS)('iptables-%s', (backend) => {
    it('apply ten times: one change, one copy of each chain and jump, and what the renderer promised', async () => {
      addKubeProxy(backend);
      const kubeBefore = save(backend, 'nat')
        .split('\n')
        .filter((l) => l.includes('KUBE-'));
      const nf = new NodeNetfilter({ mode: backend });
      const changes: boolean[] = [];
      for (let i = 0; i < 10; i++) changes.push((await nf.apply(SPEC)).changed);
      expect(changes).toEqual([true, ...Array(9).fill(false)]);

      const nat = save(backend, 'nat');
      const mangle = save(backend, 'mangle');
      expect(count(nat, '-A POSTROUTING -m comment --comment "vpc-ipam SNAT" -j VPC-IPAM-SNAT')).toBe(1);
      expect(count(mangle, '-A PREROUTING -m comment --comment "vpc-ipam NodePort" -j VPC-IPAM-NODEPORT')).toBe(1);
      expect(nat.split('\n').filter((l) => l.startsWith('-A VPC-IPAM-SNAT'))).toEqual([
        '-A VPC-IPAM-SNAT -d 10.0.0.0/16 -m comment --comment "vpc-ipam: VPC CIDR, not SNATed" -j RETURN',
        '-A VPC-IPAM-SNAT -d 100.64.0.0/16 -m comment --comment "vpc-ipam: VPC CIDR, not SNATed" -j RETURN',
        '-A VPC-IPAM-SNAT -d 172.16.0.0/12 -m comment --comment "vpc-ipam: excluded from SNAT" -j RETURN',
        '-A VPC-IPAM-SNAT -m comment --comment "vpc-ipam: SNAT to the primary IP" -m addrtype ! --dst-type LOCAL ' +
          '-j SNAT --to-source 198.51.100.2 --random-fully',
      ]);
      expect(mangle).toContain(
        '-A VPC-IPAM-NODEPORT -i vpc+ -m comment --comment "vpc-ipam: NodePort reply mark" ' +
          '-j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
      );
      // kube-proxy's rules are untouched, and ours stay in the chosen backend only.
      expect(
        save(backend, 'nat')
          .split('\n')
          .filter((l) => l.includes('KUBE-')),
      ).toEqual(kubeBefore);
      expect(ownLines(backend === 'nft' ? 'legacy' : 'nft')).toEqual([]);
    });

    it('a fresh process verifies what another installed; names a deleted rule or jump; apply repairs it', async () => {
      await new NodeNetfilter({ mode: backend }).apply(SPEC);
      const fresh = new NodeNetfilter({ mode: backend });
      expect(await fresh.verify(SPEC)).toEqual([]);

      ipt(
        backend,
        '-t',
        'nat',
        '-D',
        'VPC-IPAM-SNAT',
        '-d',
        '100.64.0.0/16',
        '-m',
        'comment',
        '--comment',
        'vpc-ipam: VPC CIDR, not SNATed',
        '-j',
        'RETURN',
      );
      ipt(
        backend,
        '-t',
        'mangle',
        '-D',
        'PREROUTING',
        '-m',
        'comment',
        '--comment',
        'vpc-ipam NodePort',
        '-j',
        'VPC-IPAM-NODEPORT',
      );
      ipt(
        backend,
        '-t',
        'nat',
        '-A',
        'POSTROUTING',
        '-m',
        'comment',
        '--comment',
        'vpc-ipam SNAT',
        '-j',
        'VPC-IPAM-SNAT',
      );
      const problems = await fresh.verify(SPEC);
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^nat VPC-IPAM-SNAT: missing ".*100\.64\.0\.0\/16.*RETURN"$/),
          'mangle PREROUTING: jump to VPC-IPAM-NODEPORT missing',
          'nat POSTROUTING: jump to VPC-IPAM-SNAT present 2 times',
        ]),
      );
      expect(problems).toHaveLength(3);

      expect((await fresh.apply(SPEC)).changed).toBe(true);
      expect(await fresh.verify(SPEC)).toEqual([]);
      expect(count(save(backend, 'nat'), '-j VPC-IPAM-SNAT')).toBe(1);
    });

    it('a flushed chain and a changed primary IP are repaired in place, without a second jump', async () => {
      const nf = new NodeNetfilter({ mode: backend });
      await nf.apply(SPEC);
      ipt(backend, '-t', 'nat', '-F', 'VPC-IPAM-SNAT');
      expect(await nf.verify(SPEC)).toContainEqual(expect.stringMatching(/^nat VPC-IPAM-SNAT: missing ".*SNAT/));
      const moved = { ...SPEC, primaryIp: '198.51.100.7' };
      await nf.apply(moved);
      expect(await nf.verify(moved)).toEqual([]);
      const nat = save(backend, 'nat');
      expect(nat).toContain('--to-source 198.51.100.7');
      expect(nat).not.toContain('--to-source 198.51.100.2');
      expect(count(nat, '-j VPC-IPAM-SNAT')).toBe(1);
    });

    it('EXTERNALSNAT=true removes the SNAT chain and its jump and keeps the NodePort chain', async () => {
      const nf = new NodeNetfilter({ mode: backend });
      await nf.apply(SPEC);
      const external = { ...SPEC, externalSnat: true };
      expect((await nf.apply(external)).changed).toBe(true);
      expect(await nf.verify(external)).toEqual([]);
      const nat = save(backend, 'nat');
      expect(nat).not.toContain('VPC-IPAM-SNAT');
      expect(save(backend, 'mangle')).toContain(':VPC-IPAM-NODEPORT');
      // The other way round: the old spec now reports the chain missing.
      expect(await nf.verify(SPEC)).toContain('nat VPC-IPAM-SNAT: chain missing');
    });

    it('remove() deletes every chain and jump of ours, in both backends, and nothing else', async () => {
      addKubeProxy(backend);
      const kubeBefore = save(backend, 'nat');
      await new NodeNetfilter({ mode: backend }).apply(SPEC);
      const removed = await new NodeNetfilter({ mode: backend }).remove();
      expect(removed).toEqual(
        expect.arrayContaining([
          `${backend} nat: chain VPC-IPAM-SNAT`,
          `${backend} mangle: chain VPC-IPAM-NODEPORT`,
          `${backend} nat POSTROUTING: jump to VPC-IPAM-SNAT`,
        ]),
      );
      for (const b of BACKENDS) expect(ownLines(b)).toEqual([]);
      expect(save(backend, 'nat')).toBe(kubeBefore);
      expect(await new NodeNetfilter({ mode: backend }).remove()).toEqual([]);
    });
  });

  it('auto: the kubelet hint chain picks legacy, and rules an earlier run left in nft are removed', async () => {
    await new NodeNetfilter({ mode: 'nft' }).apply(SPEC);
    ipt('legacy', '-t', 'mangle', '-N', 'KUBE-IPTABLES-HINT');
    const nf = new NodeNetfilter({ mode: 'auto' });
    expect(await nf.detect()).toBe('legacy');
    expect(await nf.apply(SPEC)).toEqual({ backend: 'legacy', changed: true });
    expect(ownLines('nft')).toEqual([]);
    expect(count(save('legacy', 'nat'), '-j VPC-IPAM-SNAT')).toBe(1);
    expect(await new NodeNetfilter({ mode: 'auto' }).verify(SPEC)).toEqual([]);
  });

  it('auto without a hint: the backend with more rules (legacy here); a tie goes to nft', async () => {
    expect(await new NodeNetfilter({ mode: 'auto' }).detect()).toBe('nft');
    addKubeProxy('legacy');
    expect(await new NodeNetfilter({ mode: 'auto' }).detect()).toBe('legacy');
  });

  it('a spec that would put an unsafe value into iptables is refused before any binary runs', async () => {
    const calls: string[] = [];
    const nf = new NodeNetfilter({
      mode: 'nft',
      exec: async (file) => {
        calls.push(file);
        return { exitCode: 0, stdout: '', stderr: '' };
      },
    });
    await expect(nf.apply({ ...SPEC, primaryIf: 'eth0 -j ACCEPT' })).rejects.toThrow(/primaryIf/);
    await expect(nf.apply({ ...SPEC, excludeSnatCidrs: ['0.0.0.0/0"\n-A INPUT'] })).rejects.toThrow(/EXCLUDE_SNAT/);
    expect(calls).toEqual([]);
  });
});
