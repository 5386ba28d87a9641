import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../ipamd/config.js';
import { parseCtlSettings } from '../../ipamd/config/ctl.js';

describe('VPC_IPAM_SOCKET is checked when the configuration is read', () => {
  it('accepts an absolute path, normalising slashes', () => {
    expect(parseConfig({ VPC_IPAM_SOCKET: '/run//vpc-ipam/x.sock' }).socketPath).toBe('/run/vpc-ipam/x.sock');
    expect(parseCtlSettings({ VPC_IPAM_SOCKET: '/run/x.sock' }).socketPath).toBe('/run/x.sock');
    expect(parseCtlSettings({}).socketPath).toBeUndefined();
  });

  it.each([
    ['run/x.sock', /must be absolute \(expected \/absolute\/path.sock\)/],
    ['/run/../etc/x.sock', /must not contain "\.\."/],
    ['/run/x\0.sock', /NUL byte/],
    ['/run/vpc-ipam/', /names a directory/],
    [`/${'d'.repeat(120)}.sock`, /longer than 107 bytes/],
  ])('refuses %j naming the variable, in the daemon and the CLI', (value, msg) => {
    for (const parse of [parseConfig, parseCtlSettings]) {
      expect(() => parse({ VPC_IPAM_SOCKET: value })).toThrow(/VPC_IPAM_SOCKET/);
      expect(() => parse({ VPC_IPAM_SOCKET: value })).toThrow(msg);
    }
  });
});
