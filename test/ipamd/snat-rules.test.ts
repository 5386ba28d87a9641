/**
 * The node's SNAT and NodePort connmark rules as rendered (pure), the validation that keeps unsafe values
 * out of iptables-restore text, and the canonical rule key that verify() compares with: the forms
 * iptables-save prints here are copied from iptables 1.8.9, nft and legacy (test/e2e/netfilter.priv.test.ts
 * checks them against the real binaries).
 */
import { describe, expect, it } from 'vitest';
import { parseSave, ruleKey, tokenize } from '../../ipamd/netns/iptables-save.js';
import {
  NetfilterSpecError,
  renderNetfilter,
  validateNetfilterSpec,
  type NodeNetfilterSpec,
} from '../../ipamd/netns/snat-rules.js';

const SPEC: NodeNetfilterSpec = {
  primaryIp: '10.0.0.10',
  primaryIf: 'ens5',
  vpcCidrs: ['10.0.0.0/16'],
  excludeSnatCidrs: [],
  externalSnat: false,
  randomizeSnat: 'prng',
  nodePortSupport: true,
  connmark: 0x80,
  vethPrefix: 'vpc',
};
const FULL = { randomFully: true };

function fieldOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(NetfilterSpecError);
    expect((err as NetfilterSpecError).code).toBe('CONFIG_INVALID');
    return (err as NetfilterSpecError).field;
  }
  return undefined;
}

describe('renderNetfilter', () => {
  it('default: SNAT chain after the VPC RETURN, NodePort connmark chain, one jump each', () => {
    const r = renderNetfilter(SPEC, FULL);
    expect(r.empty).toBe(false);
    expect(r.unwanted).toEqual([]);
    expect(r.restore).toBe(
      [
        '*nat',
        ':VPC-IPAM-SNAT - [0:0]',
        '-A VPC-IPAM-SNAT -d 10.0.0.0/16 -m comment --comment "vpc-ipam: VPC CIDR, not SNATed" -j RETURN',
        '-A VPC-IPAM-SNAT -m comment --comment "vpc-ipam: SNAT to the primary IP" -m addrtype ! --dst-type LOCAL ' +
          '-j SNAT --to-source 10.0.0.10 --random-fully',
        'COMMIT',
        '*mangle',
        ':VPC-IPAM-NODEPORT - [0:0]',
        '-A VPC-IPAM-NODEPORT -i ens5 -m comment --comment "vpc-ipam: NodePort connection" -m addrtype ' +
          '--dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark 0x80/0x80',
        '-A VPC-IPAM-NODEPORT -i vpc+ -m comment --comment "vpc-ipam: NodePort reply mark" ' +
          '-j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
        'COMMIT',
        '',
      ].join('\n'),
    );
    // Only our chains are declared: restore with --noflush must not touch kube-proxy's.
    expect(r.restore.match(/^:.*$/gm)).toEqual([':VPC-IPAM-SNAT - [0:0]', ':VPC-IPAM-NODEPORT - [0:0]']);
    expect(r.jumps).toEqual([
      {
        table: 'nat',
        chain: 'POSTROUTING',
        target: 'VPC-IPAM-SNAT',
        args: ['-m', 'comment', '--comment', 'vpc-ipam SNAT', '-j', 'VPC-IPAM-SNAT'],
      },
      {
        table: 'mangle',
        chain: 'PREROUTING',
        target: 'VPC-IPAM-NODEPORT',
        args: ['-m', 'comment', '--comment', 'vpc-ipam NodePort', '-j', 'VPC-IPAM-NODEPORT'],
      },
    ]);
  });

  it('EXTERNALSNAT=true: no SNAT chain, no SNAT jump, and the SNAT chain is to be removed', () => {
    const r = renderNetfilter({ ...SPEC, externalSnat: true }, FULL);
    expect(r.restore).not.toContain('*nat');
    expect(r.restore).not.toContain('SNAT');
    expect(r.chains.map((c) => c.chain)).toEqual(['VPC-IPAM-NODEPORT']);
    expect(r.jumps.map((j) => j.target)).toEqual(['VPC-IPAM-NODEPORT']);
    expect(r.unwanted.map((u) => u.chain)).toEqual(['VPC-IPAM-SNAT']);
  });

  it('exclusions: one RETURN per VPC and excluded CIDR before the SNAT rule, deduplicated and canonical', () => {
    const r = renderNetfilter(
      {
        ...SPEC,
        vpcCidrs: ['10.0.0.0/16', '100.64.0.0/16', '10.0.0.0/16'],
        excludeSnatCidrs: ['192.168.0.0/24', '172.16.5.9/12', '10.0.0.0/16', '192.168.0.7'],
      },
      FULL,
    );
    const rules = r.chains[0]!.rules;
    const returns = rules.filter((x) => x.at(-1) === 'RETURN').map((x) => x[1]);
    expect(returns).toEqual(['10.0.0.0/16', '100.64.0.0/16', '192.168.0.0/24', '172.16.0.0/12', '192.168.0.7/32']);
    expect(rules.at(-1)).toContain('SNAT');
    expect(rules.length).toBe(returns.length + 1);
  });

  it.each([
    ['prng', true, ['--to-source', '10.0.0.10', '--random-fully']],
    // The AWS CNI's fallback: prng on an iptables without --random-fully (< 1.6.2) is --random.
    ['prng', false, ['--to-source', '10.0.0.10', '--random']],
    ['hashrandom', true, ['--to-source', '10.0.0.10', '--random']],
    ['none', true, ['--to-source', '10.0.0.10']],
  ] as const)('randomizeSnat %s (random-fully supported: %s)', (mode, randomFully, tail) => {
    const r = renderNetfilter({ ...SPEC, randomizeSnat: mode }, { randomFully });
    const snat = r.chains[0]!.rules.at(-1)!;
    expect(snat.slice(snat.indexOf('SNAT') + 1)).toEqual(tail);
  });

  it('restores the mark on veths of every former prefix still in use, after the current one', () => {
    const r = renderNetfilter({ ...SPEC, vethPrefix: 'eni', formerVethPrefixes: ['vpc', 'eni', 'vpc'] }, FULL);
    const restores = r.chains.find((c) => c.chain === 'VPC-IPAM-NODEPORT')!.rules.filter((x) => x[0] === '-i');
    expect(restores.map((x) => x[1])).toEqual(['ens5', 'eni+', 'vpc+']);
    expect(validateNetfilterSpec({ ...SPEC, formerVethPrefixes: ['vpc'] })).not.toHaveProperty('formerVethPrefixes');
    expect(fieldOf(() => validateNetfilterSpec({ ...SPEC, formerVethPrefixes: ['e+'] }))).toBe('formerVethPrefixes');
  });

  it('nodePortSupport off: no mangle chain or jump; another mark is written in hex, as mark and mask', () => {
    const off = renderNetfilter({ ...SPEC, nodePortSupport: false }, FULL);
    expect(off.restore).not.toContain('*mangle');
    expect(off.jumps.map((j) => j.table)).toEqual(['nat']);
    expect(off.unwanted.map((u) => u.chain)).toEqual(['VPC-IPAM-NODEPORT']);
    const other = renderNetfilter({ ...SPEC, connmark: 0xc0000, vethPrefix: 'eni' }, FULL);
    expect(other.restore).toContain('--set-xmark 0xc0000/0xc0000');
    expect(other.restore).toContain(
      '-i eni+ -m comment --comment "vpc-ipam: NodePort reply mark" ' +
        '-j CONNMARK --restore-mark --nfmask 0xc0000 --ctmask 0xc0000',
    );
  });

  it('both off: nothing to install, both chains to remove', () => {
    const r = renderNetfilter({ ...SPEC, externalSnat: true, nodePortSupport: false, vpcCidrs: [] }, FULL);
    expect(r).toMatchObject({ empty: true, restore: '', chains: [], jumps: [] });
    expect(r.unwanted.map((u) => u.chain).sort()).toEqual(['VPC-IPAM-NODEPORT', 'VPC-IPAM-SNAT']);
  });
});

describe('validateNetfilterSpec', () => {
  it('returns a frozen, canonical copy', () => {
    const v = validateNetfilterSpec({ ...SPEC, vpcCidrs: ['10.0.3.4/16', '10.0.0.0/16'] });
    expect(v.vpcCidrs).toEqual(['10.0.0.0/16']);
    expect(Object.isFrozen(v)).toBe(true);
  });

  it.each([
    ['primaryIf', { primaryIf: 'eth 0' }],
    ['primaryIf', { primaryIf: 'eth0;reboot' }],
    ['primaryIf', { primaryIf: 'a-very-long-interface' }],
    ['primaryIf', { primaryIf: '..' }],
    ['primaryIf', { primaryIf: '-j' }],
    ['primaryIf', { primaryIf: 'eth0"' }],
    ['vpcCidrs', { vpcCidrs: ['10.0.0.0/33'] }],
    ['vpcCidrs', { vpcCidrs: ['fd00::/64'] }],
    ['vpcCidrs', { vpcCidrs: ['10.0.0.0/16 -j ACCEPT'] }],
    ['vpcCidrs', { vpcCidrs: [] }],
    ['excludeSnatCidrs', { excludeSnatCidrs: ['10.0.0/8'] }],
    ['excludeSnatCidrs', { excludeSnatCidrs: ['1.2.3.4\nCOMMIT'] }],
    ['primaryIp', { primaryIp: 'fd00::10' }],
    ['primaryIp', { primaryIp: '10.0.0.10/32' }],
    ['primaryIp', { primaryIp: '10.0.0.010' }],
    ['primaryIp', { primaryIp: '10.0.0.256' }],
    ['primaryIp', { primaryIp: 'localhost' }],
    ['vethPrefix', { vethPrefix: 'Vpc' }],
    ['vethPrefix', { vethPrefix: 'vpc+' }],
    ['vethPrefix', { vethPrefix: '' }],
    ['connmark', { connmark: 0 }],
    ['connmark', { connmark: 0x100000000 }],
    ['connmark', { connmark: 1.5 }],
    ['randomizeSnat', { randomizeSnat: 'fully' }],
    ['externalSnat', { externalSnat: 'false' }],
    ['nodePortSupport', { nodePortSupport: 1 }],
  ] as const)('names %s for %j', (field, patch) => {
    expect(fieldOf(() => validateNetfilterSpec({ ...SPEC, ...(patch as object) } as NodeNetfilterSpec))).toBe(field);
  });

  it('names the variable in the message, and renderNetfilter validates too', () => {
    expect(() => validateNetfilterSpec({ ...SPEC, excludeSnatCidrs: ['x'] })).toThrow(
      /^excludeSnatCidrs: "x" is not an IPv4 CIDR \(AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS\)$/,
    );
    expect(fieldOf(() => renderNetfilter({ ...SPEC, primaryIf: 'eth0 ' }, FULL))).toBe('primaryIf');
  });

  it('accepts the edges: a 15-character name, every mark bit, 0.0.0.0/0', () => {
    const v = validateNetfilterSpec({
      ...SPEC,
      primaryIf: 'enp0s31f6.1234x',
      connmark: 0xffffffff,
      excludeSnatCidrs: ['0.0.0.0/0'],
    });
    expect(v.excludeSnatCidrs).toEqual(['0.0.0.0/0']);
  });
});

describe('ruleKey: rendered and saved forms of one rule compare equal', () => {
  const key = (line: string) => ruleKey(tokenize(line));
  it.each([
    // Quoting: iptables-save quotes a comment only when it has to.
    ['-m comment --comment "x" -j RETURN', '-m comment --comment x -j RETURN'],
    // Host bits cleared, bare address a /32, options before their match in any order.
    ['-m comment --comment "c d" -d 10.0.0.5/16 -j RETURN', '-d 10.0.0.0/16 -m comment --comment "c d" -j RETURN'],
    ['-d 192.168.1.5 -j RETURN', '-d 192.168.1.5/32 -j RETURN'],
    ['-j SNAT --random-fully --to-source 10.0.0.10', '-j SNAT --to-source 10.0.0.10 --random-fully'],
    ['-j CONNMARK --set-mark 0x80/0x80', '-j CONNMARK --set-xmark 0x80/0x80'],
    ['-j CONNMARK --set-mark 128', '-j CONNMARK --set-xmark 0x80/0xffffffff'],
    ['-j CONNMARK --restore-mark --mask 0x80', '-j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80'],
    ['-i vpc+ -j CONNMARK --save-mark --mask 0xFF', '-i vpc+ -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff'],
  ])('%s ≡ %s', (a, b) => expect(key(a)).toBe(key(b)));

  it.each([
    ['-d 10.0.0.0/16 -j RETURN', '-d 10.0.0.0/24 -j RETURN'],
    [
      '-m addrtype ! --dst-type LOCAL -j SNAT --to-source 10.0.0.10',
      '-m addrtype --dst-type LOCAL -j SNAT --to-source 10.0.0.10',
    ],
    ['-j SNAT --to-source 10.0.0.10 --random', '-j SNAT --to-source 10.0.0.10 --random-fully'],
    ['-m comment --comment "a" -j RETURN', '-m comment --comment "b" -j RETURN'],
    ['-j CONNMARK --set-xmark 0x80/0x80', '-j CONNMARK --set-xmark 0x80/0xffffffff'],
  ])('%s ≢ %s', (a, b) => expect(key(a)).not.toBe(key(b)));

  it('parses iptables-save text: escaped quotes, chains, rules per table', () => {
    const t = parseSave(
      [
        '# Generated by iptables-save v1.8.9',
        '*nat',
        ':POSTROUTING ACCEPT [0:0]',
        ':VPC-IPAM-SNAT - [0:0]',
        '-A POSTROUTING -m comment --comment "vpc-ipam SNAT" -j VPC-IPAM-SNAT',
        '-A VPC-IPAM-SNAT -m comment --comment "it\\\'s a \\"q\\" \\\\ z" -j RETURN',
        'COMMIT',
      ].join('\n'),
    ).get('nat')!;
    expect([...t.chains]).toEqual(['POSTROUTING', 'VPC-IPAM-SNAT']);
    expect(t.rules[1]).toEqual({
      chain: 'VPC-IPAM-SNAT',
      args: ['-m', 'comment', '--comment', 'it\'s a "q" \\ z', '-j', 'RETURN'],
    });
  });
});
