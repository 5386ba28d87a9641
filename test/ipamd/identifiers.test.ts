/**
 * One rule book for the names that cross the socket (cni/contract/identifiers.ts):
 * the plugin's parsers (CNI_* variables, the configuration's `name`, GC's
 * valid-attachments) and ipamd's request parser give the same verdict and
 * the same problem code for every name, and the netlink plumber's last check
 * agrees with both. Before: ipamd refused the spec-valid `a..b`, the plugin
 * sent IDs of 257-1024 characters that ipamd refused (code 103, not 4), and
 * ipamd took control characters in interface names that the plugin refused.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../cni/config.js';
import { parseEnv } from '../../cni/env.js';
import { CniCode, type CniError } from '../../cni/errors.js';
import { ifNameIssue } from '../../cni/contract/identifiers.js';
import { parseRequest } from '../../ipamd/api/validate.js';
import { validateWiring } from '../../ipamd/netns/netlink-plumber.js';
import { hostVethName } from '../../cni/contract/veth-name.js';

type Verdict = 'ok' | string;

/** The plugin's verdict: 'ok', or the problem code of the CniError (whose code must be `cniCode`). */
function plugin(fn: () => unknown, cniCode: number): Verdict {
  try {
    fn();
    return 'ok';
  } catch (err) {
    const e = err as CniError & { problem?: string };
    expect(e.code, e.details).toBe(cniCode);
    expect(e.problem, e.details).toBeTypeOf('string');
    return e.problem!;
  }
}

/** ipamd's verdict: 'ok', or the problem code of the InvalidIdentifierError (a BAD_REQUEST). */
function ipamd(req: Record<string, unknown>): Verdict {
  try {
    parseRequest(JSON.stringify({ v: 1, ...req }));
    return 'ok';
  } catch (err) {
    const e = err as { code: string; problem?: string; message: string };
    expect(e.code, e.message).toBe('BAD_REQUEST');
    expect(e.problem, e.message).toBeTypeOf('string');
    return e.problem!;
  }
}

function wiring(w: { containerId: string; ifName: string }): Verdict {
  try {
    validateWiring({ ...w, ip: '10.0.0.5' }, false);
    return 'ok';
  } catch {
    return 'refused';
  }
}

const ok = () => 'ok' as const;
const envFor = (containerId: string, ifName: string) => ({
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: containerId,
  CNI_IFNAME: ifName,
  CNI_NETNS: '/run/netns/x',
});
const conf = (extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.1.0',
  name: 'vpc-net',
  type: 'vpc-ipam',
  ...extra,
});

const CONTAINER_IDS: Array<[string, Verdict]> = [
  ['abc', 'ok'],
  ['f'.repeat(64), 'ok'],
  ['a..b', 'ok'],
  ['A1_b.c-d', 'ok'],
  ['x'.repeat(256), 'ok'],
  ['x'.repeat(257), 'TOO_LONG'],
  ['x'.repeat(1025), 'TOO_LONG'],
  ['', 'EMPTY'],
  ['..', 'BAD_CHARACTER'],
  ['.', 'BAD_CHARACTER'],
  ['../../etc', 'BAD_CHARACTER'],
  ['a/b', 'BAD_CHARACTER'],
  ['-x', 'BAD_CHARACTER'],
  ['_x', 'BAD_CHARACTER'],
  ['a b', 'BAD_CHARACTER'],
  ['a\nb', 'BAD_CHARACTER'],
  ['a:b', 'BAD_CHARACTER'],
  ['é', 'BAD_CHARACTER'],
  ['a\u0000b', 'BAD_CHARACTER'],
];

const IF_NAMES: Array<[string, Verdict]> = [
  ['eth0', 'ok'],
  ['net1', 'ok'],
  ['eth0.100', 'ok'],
  ['x'.repeat(15), 'ok'],
  ['a..b', 'ok'],
  ['ü'.repeat(7), 'ok'], // 14 bytes: the kernel counts bytes
  ['ü'.repeat(8), 'TOO_LONG'], // 16 bytes, 8 characters
  ['x'.repeat(16), 'TOO_LONG'],
  ['', 'EMPTY'],
  ['.', 'RESERVED'],
  ['..', 'RESERVED'],
  ['a/b', 'BAD_CHARACTER'],
  ['a:b', 'BAD_CHARACTER'], // the kernel's dev_valid_name refuses ':' (EINVAL)
  ['eth%d', 'BAD_CHARACTER'], // the kernel would name it eth0, not what was asked
  ['a b', 'BAD_CHARACTER'],
  ['a\tb', 'BAD_CHARACTER'],
  ['a\u00a0b', 'BAD_CHARACTER'],
  ['a\u0001b', 'BAD_CHARACTER'],
  ['a\u007fb', 'BAD_CHARACTER'],
  ['a\u0000b', 'BAD_CHARACTER'],
];

const NETWORKS: Array<[string, Verdict]> = [
  ['vpc-ipam', 'ok'],
  ['a..b', 'ok'],
  ['n'.repeat(128), 'ok'],
  ['n'.repeat(129), 'TOO_LONG'],
  ['', 'EMPTY'],
  ['..', 'BAD_CHARACTER'],
  ['-net', 'BAD_CHARACTER'],
  ['a/b', 'BAD_CHARACTER'],
];

describe('container IDs: the plugin and ipamd agree', () => {
  it.each(CONTAINER_IDS)('%j → %s', (id, want) => {
    const viaEnv = plugin(() => parseEnv(envFor(id, 'eth0'), () => 'ok'), CniCode.InvalidEnvironment);
    const viaGc = plugin(
      () => parseConfig(conf({ 'cni.dev/valid-attachments': [{ containerID: id, ifname: 'eth0' }] }), { forGc: true }),
      CniCode.InvalidNetworkConfig,
    );
    const onSocket = ipamd({ op: 'add', network: 'n', containerId: id, ifName: 'eth0' });
    const inGc = ipamd({ op: 'gc', network: 'n', valid: [{ containerId: id, ifName: 'eth0' }] });
    expect({ viaEnv, viaGc, onSocket, inGc }).toEqual({ viaEnv: want, viaGc: want, onSocket: want, inGc: want });
    expect(wiring({ containerId: id, ifName: 'eth0' })).toBe(want === 'ok' ? 'ok' : 'refused');
  });
});

describe('interface names: the plugin, ipamd and the plumber agree', () => {
  it.each(IF_NAMES)('%j → %s', (name, want) => {
    const viaEnv = plugin(() => parseEnv(envFor('c1', name), () => 'ok'), CniCode.InvalidEnvironment);
    const onSocket = ipamd({ op: 'del', network: 'n', containerId: 'c1', ifName: name });
    expect({ viaEnv, onSocket }).toEqual({ viaEnv: want, onSocket: want });
    const viaGc = plugin(
      () => parseConfig(conf({ 'cni.dev/valid-attachments': [{ containerID: 'c1', ifname: name }] }), { forGc: true }),
      CniCode.InvalidNetworkConfig,
    );
    expect(viaGc).toBe(want);
    expect(wiring({ containerId: 'c1', ifName: name })).toBe(want === 'ok' ? 'ok' : 'refused');
  });
});

describe('network names: the configuration and the socket agree', () => {
  it.each(NETWORKS)('%j → %s', (name, want) => {
    const viaConf = plugin(() => parseConfig(conf({ name })), CniCode.InvalidNetworkConfig);
    const onSocket = ipamd({ op: 'check', network: name, containerId: 'c1', ifName: 'eth0' });
    expect({ viaConf, onSocket }).toEqual({ viaConf: want, onSocket: want });
  });
});

describe('the host veth name', () => {
  it('is a safe interface name (and one path component) for every accepted key', () => {
    for (const [id, v] of CONTAINER_IDS) {
      if (v !== 'ok') continue;
      for (const [ifn, w] of IF_NAMES) {
        if (w !== 'ok') continue;
        const name = hostVethName(id, ifn);
        expect(name).toMatch(/^vpc[0-9a-f]{11}$/);
        expect(ifNameIssue(name)).toBeUndefined();
      }
    }
  });
  it('differs for the keys that only `..` tells apart', () => {
    expect(hostVethName('a..b', 'eth0')).not.toBe(hostVethName('a.b', 'eth0'));
  });
});

it('an accepted ID is accepted by both sides end to end (the plugin sends exactly what ipamd takes)', () => {
  const e = parseEnv(envFor('a..b', 'eth0'), ok);
  expect(ipamd({ op: 'add', network: 'vpc-net', containerId: e.containerId, ifName: e.ifName })).toBe('ok');
});
