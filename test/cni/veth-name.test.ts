import { describe, expect, it } from 'vitest';
import {
  HOST_VETH_NAME_RE,
  awsHostVethName,
  hostVethName,
  hostVethNameFor,
  hostVethSuffixes,
  isAttachmentNamed,
  vethPrefixOf,
  vethPrefixProblem,
} from '../../cni/contract/veth-name.js';

// Vectors computed outside the code: `printf '%s' default.web-0 | sha1sum` and so on.
const SHA1 = {
  'default.web-0': '0d7763386da219ddff1faed1cc6576fb9d57d419',
  'kube-system.coredns-5d78c9869d-abcde': '4d5f75c480cc7f4ead7f9379346b00d119f4b71c',
};
const web0 = { containerId: 'c0ffee', ifName: 'eth0', pod: { namespace: 'default', name: 'web-0' } };

describe('host veth naming', () => {
  it('unset or vpc: our attachment hash, as every node had before (the name existing tests pin)', () => {
    expect(hostVethName('c0ffee', 'eth0')).toBe('vpc45ac079c4f5');
    expect(hostVethNameFor(web0)).toBe('vpc45ac079c4f5');
    expect(hostVethNameFor(web0, { prefix: 'vpc' })).toBe('vpc45ac079c4f5');
  });

  it("set: the AWS CNI's <prefix> + sha1(namespace.name)[:11] (GeneratePodHostVethName, index 0)", () => {
    expect(hostVethNameFor(web0, { prefix: 'eni' })).toBe(`eni${SHA1['default.web-0'].slice(0, 11)}`);
    const dns = {
      containerId: 'x',
      ifName: 'eth0',
      pod: { namespace: 'kube-system', name: 'coredns-5d78c9869d-abcde' },
    };
    expect(hostVethNameFor(dns, { prefix: 'cali' })).toBe(
      `cali${SHA1['kube-system.coredns-5d78c9869d-abcde'].slice(0, 11)}`,
    );
    expect(awsHostVethName('eni', 'default', 'web-0')).toBe('eni0d7763386da');
    // The sandbox does not matter: it is the Pod's name, as Calico derives it from the workload.
    expect(hostVethNameFor({ ...web0, containerId: 'other' }, { prefix: 'eni' })).toBe('eni0d7763386da');
  });

  it('falls back to the attachment hash under the prefix without a Pod name, or for a second interface', () => {
    expect(hostVethNameFor({ containerId: 'c0ffee', ifName: 'eth0' }, { prefix: 'eni' })).toBe('eni45ac079c4f5');
    expect(hostVethNameFor({ ...web0, pod: { namespace: 'default' } }, { prefix: 'eni' })).toBe('eni45ac079c4f5');
    expect(hostVethNameFor({ ...web0, ifName: 'net1' }, { prefix: 'eni' })).toBe(hostVethName('c0ffee', 'net1', 'eni'));
  });

  it('every name fits IFNAMSIZ and the pattern ipamd and the plugin accept for teardown', () => {
    for (const prefix of ['e', 'eni', 'cali', 'vpc']) {
      const name = hostVethNameFor(web0, { prefix });
      expect(name.length).toBeLessThanOrEqual(15);
      expect(name).toMatch(HOST_VETH_NAME_RE);
      expect(vethPrefixOf(name)).toBe(prefix);
    }
    expect(vethPrefixOf('eth0')).toBeUndefined();
  });

  it('tells attachment names from Pod names, and lists the suffixes a veth of the attachment can carry', () => {
    expect(isAttachmentNamed('vpc45ac079c4f5', 'c0ffee', 'eth0')).toBe(true);
    expect(isAttachmentNamed('eni45ac079c4f5', 'c0ffee', 'eth0')).toBe(true);
    expect(isAttachmentNamed('eni0d7763386da', 'c0ffee', 'eth0')).toBe(false);
    expect(hostVethSuffixes(web0)).toEqual(['45ac079c4f5', '0d7763386da']);
    expect(hostVethSuffixes({ containerId: 'c0ffee', ifName: 'eth0' })).toEqual(['45ac079c4f5']);
  });

  it.each([
    ['eni', undefined],
    ['a1', undefined],
    ['cali', undefined],
    ['', /1 to 4 characters/],
    ['abcde', /1 to 4 characters/],
    ['Eni', /1 to 4 characters/],
    ['en-', /1 to 4 characters/],
    ['eth', /reserved/],
    ['lo', /reserved/],
    ['vlan', /reserved/],
  ])('prefix %j: %s', (prefix, problem) => {
    const got = vethPrefixProblem(prefix);
    if (problem === undefined) expect(got).toBeUndefined();
    else expect(got).toMatch(problem);
  });
});
