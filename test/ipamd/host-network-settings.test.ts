/**
 * The AWS VPC CNI's host-networking variables (config.ts parseHostNetwork), the from-rule destinations they
 * imply (node-network.ts tableDestinations) and the pure rule comparison behind CHECK and the resync repair
 * (policy-rules.ts podRuleProblems).
 */
import { describe, expect, it } from 'vitest';
import { parseHostNetwork } from '../../ipamd/config.js';
import { tableDestinations } from '../../ipamd/netns/node-network.js';
import { podRuleProblems, type RuleView } from '../../ipamd/netns/policy-rules.js';

describe('host networking variables', () => {
  it('defaults to the AWS VPC CNI defaults: SNAT on, prng, NodePort support with mark 0x80', () => {
    expect(parseHostNetwork({})).toEqual({
      externalSnat: false,
      excludeSnatCidrs: [],
      randomizeSnat: 'prng',
      nodePortSupport: true,
      connmark: 0x80,
      iptablesMode: 'auto',
    });
  });

  it('reads each variable in the forms the AWS CNI accepts', () => {
    const s = parseHostNetwork({
      AWS_VPC_K8S_CNI_EXTERNALSNAT: 'TRUE',
      AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: ' 192.168.0.0/16, ,172.16.0.0/12,192.168.0.0/16',
      AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'hashrandom',
      AWS_VPC_CNI_NODE_PORT_SUPPORT: '0',
      AWS_VPC_K8S_CNI_CONNMARK: '0x4000',
      VPC_IPAM_IPTABLES_MODE: 'legacy',
    });
    expect(s).toEqual({
      externalSnat: true,
      excludeSnatCidrs: ['192.168.0.0/16', '172.16.0.0/12'],
      randomizeSnat: 'hashrandom',
      nodePortSupport: false,
      connmark: 0x4000,
      iptablesMode: 'legacy',
    });
    expect(parseHostNetwork({ AWS_VPC_K8S_CNI_CONNMARK: '128' }).connmark).toBe(128);
  });

  it('AWS_VPC_K8S_CNI_VETHPREFIX and DISABLE_TCP_EARLY_DEMUX: absent when unset (vpc is our own naming)', () => {
    expect(parseHostNetwork({ AWS_VPC_K8S_CNI_VETHPREFIX: 'eni' }).vethPrefix).toBe('eni');
    expect(parseHostNetwork({ AWS_VPC_K8S_CNI_VETHPREFIX: 'vpc' })).toEqual(parseHostNetwork({}));
    expect(parseHostNetwork({ DISABLE_TCP_EARLY_DEMUX: 'true' }).disableTcpEarlyDemux).toBe(true);
    expect(parseHostNetwork({ DISABLE_TCP_EARLY_DEMUX: 'f' }).disableTcpEarlyDemux).toBe(false);
    expect(parseHostNetwork({}).disableTcpEarlyDemux).toBeUndefined();
  });

  it('refuses a bad value naming the variable, never a silent default', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        { AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '10.0.0.0/33' },
        /AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: expected an IPv4 CIDR/,
      ],
      [{ AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '10.0.0.1/16' }, /not a network address \(did you mean 10\.0\.0\.0\/16/],
      [{ AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '1.2.3.0/24;reboot' }, /AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS/],
      [
        { AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'random' },
        /AWS_VPC_K8S_CNI_RANDOMIZESNAT: expected one of prng, hashrandom, none/,
      ],
      [{ AWS_VPC_K8S_CNI_CONNMARK: '0' }, /AWS_VPC_K8S_CNI_CONNMARK: expected a non-zero 32-bit mark/],
      [{ AWS_VPC_K8S_CNI_CONNMARK: '0x1ffffffff' }, /AWS_VPC_K8S_CNI_CONNMARK/],
      [{ AWS_VPC_K8S_CNI_EXTERNALSNAT: 'yes' }, /AWS_VPC_K8S_CNI_EXTERNALSNAT: expected true or false/],
      [{ VPC_IPAM_IPTABLES_MODE: 'nftables' }, /VPC_IPAM_IPTABLES_MODE: expected one of auto, nft, legacy/],
      [{ AWS_VPC_K8S_CNI_VETHPREFIX: 'abcde' }, /AWS_VPC_K8S_CNI_VETHPREFIX: expected 1 to 4 characters/],
      [{ AWS_VPC_K8S_CNI_VETHPREFIX: 'eth' }, /AWS_VPC_K8S_CNI_VETHPREFIX: "eth" is reserved/],
      [{ AWS_VPC_K8S_CNI_VETHPREFIX: 'lo' }, /AWS_VPC_K8S_CNI_VETHPREFIX: "lo" is reserved/],
      [{ AWS_VPC_K8S_CNI_VETHPREFIX: 'vlan' }, /AWS_VPC_K8S_CNI_VETHPREFIX: "vlan" is reserved/],
      [{ AWS_VPC_K8S_CNI_VETHPREFIX: 'ENI' }, /AWS_VPC_K8S_CNI_VETHPREFIX: expected 1 to 4 characters of a-z/],
      [{ DISABLE_TCP_EARLY_DEMUX: 'yes' }, /DISABLE_TCP_EARLY_DEMUX: expected true or false/],
    ];
    for (const [env, msg] of cases) expect(() => parseHostNetwork(env)).toThrow(msg);
  });
});

describe('from-rule destinations of secondary-interface Pods', () => {
  const base = parseHostNetwork({ AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '203.0.113.128/25' });
  it('SNAT on: every VPC CIDR and every exclusion (the rest takes main and is SNATed)', () => {
    expect(tableDestinations(base, ['10.0.0.0/16', '100.64.0.0/16'])).toEqual([
      '10.0.0.0/16',
      '100.64.0.0/16',
      '203.0.113.128/25',
    ]);
  });
  it('external SNAT: everything', () => {
    expect(tableDestinations({ ...base, externalSnat: true }, ['10.0.0.0/16'])).toEqual(['0.0.0.0/0']);
  });
});

describe('Pod rule comparison', () => {
  const rule = (r: Partial<RuleView>): RuleView => ({
    src: undefined,
    srcLen: 0,
    dst: undefined,
    dstLen: 0,
    table: 254,
    priority: 0,
    fwmark: undefined,
    fwmask: undefined,
    ...r,
  });
  const ip = '10.0.1.20';
  const to = rule({ priority: 512, dst: ip, dstLen: 32 });
  const fromVpc = rule({ priority: 1536, src: ip, srcLen: 32, dst: '10.0.0.0', dstLen: 16, table: 3 });
  const spec = { ip, table: 3, destinations: ['10.0.0.0/16'] };

  it('exact rules: no problem', () => {
    expect(podRuleProblems([to, fromVpc], spec)).toEqual([]);
    expect(podRuleProblems([to], { ip, table: 0, destinations: ['10.0.0.0/16'] })).toEqual([]);
  });

  it('names what is missing, duplicated or stale', () => {
    expect(podRuleProblems([fromVpc], spec)).toEqual(['rule 512: to 10.0.1.20 lookup main missing']);
    expect(podRuleProblems([to], spec)).toEqual(['rule 1536: from 10.0.1.20 to 10.0.0.0/16 lookup 3 missing']);
    expect(podRuleProblems([to, fromVpc, fromVpc], spec)).toEqual([
      'rule 1536: from 10.0.1.20 to 10.0.0.0/16 lookup 3 present 2 times',
    ]);
    const old = rule({ priority: 1536, src: ip, srcLen: 32, table: 3 });
    expect(podRuleProblems([to, fromVpc, old], spec)).toEqual(['rule 1536: stale from 10.0.1.20 lookup 3']);
    // The address moved to the primary interface: any from-rule is stale.
    expect(podRuleProblems([to, fromVpc], { ip, table: 0, destinations: [] })).toEqual([
      'rule 1536: stale from 10.0.1.20 to 10.0.0.0/16 lookup 3',
    ]);
  });
});
