import { describe, expect, it } from 'vitest';
import {
  parseCniArgs,
  parseEnv,
  probeNetns,
  resolveSelfNetnsPath,
  validateContainerId,
  validateIfName,
  validateNetns,
  type NetnsState,
} from '../../cni/env.js';
import { CniCode, type CniError } from '../../cni/errors.js';

const codeOf = (fn: () => unknown): number | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as CniError).code;
  }
  return undefined;
};
const probe = (state: NetnsState) => () => state;

describe('parseCniArgs', () => {
  it('parses the Kubernetes keys', () => {
    const a = parseCniArgs(
      'IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=coredns-5d78c9869d-abcde;' +
        'K8S_POD_INFRA_CONTAINER_ID=0123abc;K8S_POD_UID=4f9c-11ee',
    );
    expect(a).toEqual({
      ignoreUnknown: true,
      podNamespace: 'kube-system',
      podName: 'coredns-5d78c9869d-abcde',
      podInfraContainerId: '0123abc',
      podUid: '4f9c-11ee',
      other: {},
    });
  });
  it('accepts empty input and empty pairs', () => {
    expect(parseCniArgs(undefined)).toEqual({ ignoreUnknown: false, other: {} });
    expect(parseCniArgs('K8S_POD_NAME=a;;')).toMatchObject({ podName: 'a' });
  });
  it('keeps unknown keys only with IgnoreUnknown', () => {
    expect(parseCniArgs('IgnoreUnknown=true;FOO=bar').other).toEqual({ FOO: 'bar' });
    expect(codeOf(() => parseCniArgs('FOO=bar'))).toBe(CniCode.InvalidEnvironment);
    expect(codeOf(() => parseCniArgs('IgnoreUnknown=0;FOO=bar'))).toBe(CniCode.InvalidEnvironment);
  });
  it.each(['novalue', '=x', 'K Y=1', 'K8S_POD_NAME=a\nb'])('rejects %j', (s) => {
    expect(codeOf(() => parseCniArgs(s))).toBe(CniCode.InvalidEnvironment);
  });
  it('allows = inside values', () => {
    expect(parseCniArgs('IgnoreUnknown=1;X=a=b').other.X).toBe('a=b');
  });
});

describe('identity validation', () => {
  it.each(['abc', 'A1', '0a_b.c-d', 'a..b', 'f'.repeat(64)])('accepts container id %j', (id) => {
    expect(validateContainerId(id)).toBe(id);
  });
  it.each(['', '..', '../etc', 'a/b', '/abs', '.hidden', '-x', '_x', 'a b', 'a\nb', 'é'])(
    'rejects container id %j',
    (id) => {
      expect(codeOf(() => validateContainerId(id))).toBe(CniCode.InvalidEnvironment);
    },
  );
  it.each(['eth0', 'net1', 'a', 'x'.repeat(15), 'eth0.100'])('accepts ifname %j', (n) => {
    expect(validateIfName(n)).toBe(n);
  });
  it.each(['', '.', '..', 'x'.repeat(16), 'a/b', 'a:b', 'a b', 'a\tb'])('rejects ifname %j', (n) => {
    expect(codeOf(() => validateIfName(n))).toBe(CniCode.InvalidEnvironment);
  });
});

describe('validateNetns', () => {
  it('needs an existing netns for ADD/CHECK', () => {
    expect(validateNetns('/var/run/netns/x', true, probe('ok'))).toBe('/var/run/netns/x');
    expect(codeOf(() => validateNetns('/var/run/netns/x', true, probe('missing')))).toBe(CniCode.UnknownContainer);
    expect(codeOf(() => validateNetns('/etc/hosts', true, probe('not-netns')))).toBe(CniCode.InvalidEnvironment);
    expect(codeOf(() => validateNetns('', true, probe('ok')))).toBe(CniCode.InvalidEnvironment);
    expect(codeOf(() => validateNetns('relative/ns', true, probe('ok')))).toBe(CniCode.InvalidEnvironment);
  });
  it('tolerates a missing netns for DEL without probing', () => {
    expect(validateNetns(undefined, false)).toBe('');
    expect(
      validateNetns('/var/run/netns/gone', false, () => {
        throw new Error('must not probe');
      }),
    ).toBe('/var/run/netns/gone');
  });
});

describe('the host namespace as CNI_NETNS', () => {
  it('is refused with code 4 naming the path, for every way of writing it', () => {
    for (const p of ['/proc/self/ns/net', `/proc/${process.pid}/ns/net`, '/proc/thread-self/ns/net']) {
      expect(probeNetns(resolveSelfNetnsPath(p))).toBe('host');
      let err: CniError | undefined;
      try {
        validateNetns(p, true);
      } catch (e) {
        err = e as CniError;
      }
      expect(err?.code, p).toBe(CniCode.InvalidEnvironment);
      expect(err?.details, p).toContain(p);
      expect(err?.details, p).toMatch(/host's network namespace/);
    }
  });
  it('is sent to ipamd in the absolute form, so /proc/self means the same process on both sides', () => {
    expect(resolveSelfNetnsPath('/proc/self/ns/net', 42)).toBe('/proc/42/ns/net');
    expect(resolveSelfNetnsPath('/proc/thread-self/ns/net', 42)).toBe('/proc/42/task/42/ns/net');
    expect(resolveSelfNetnsPath('/proc/selfish/ns/net', 42)).toBe('/proc/selfish/ns/net');
    expect(validateNetns('/proc/self/ns/net', false)).toBe(`/proc/${process.pid}/ns/net`);
  });
});

describe('parseEnv', () => {
  const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc', CNI_IFNAME: 'eth0', CNI_NETNS: '/var/run/netns/p' };
  it('parses ADD', () => {
    expect(parseEnv(env, probe('ok'))).toMatchObject({
      command: 'ADD',
      containerId: 'abc',
      ifName: 'eth0',
      netns: '/var/run/netns/p',
    });
  });
  it('checks the command first', () => {
    expect(codeOf(() => parseEnv({ ...env, CNI_COMMAND: undefined }))).toBe(CniCode.InvalidEnvironment);
    expect(codeOf(() => parseEnv({ ...env, CNI_COMMAND: 'add' }))).toBe(CniCode.InvalidEnvironment);
  });
  it('needs no attachment variables for STATUS, GC, VERSION', () => {
    for (const c of ['STATUS', 'GC', 'VERSION']) expect(parseEnv({ CNI_COMMAND: c }).command).toBe(c);
  });
  it('allows DEL without CNI_NETNS', () => {
    expect(parseEnv({ ...env, CNI_COMMAND: 'DEL', CNI_NETNS: undefined }).netns).toBe('');
  });
  it('reports the variable name', () => {
    try {
      parseEnv({ ...env, CNI_IFNAME: 'a/b' }, probe('ok'));
      expect.unreachable();
    } catch (err) {
      expect((err as CniError).details).toContain('CNI_IFNAME');
    }
  });
});
