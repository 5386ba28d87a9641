import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../ipamd/config.js';

describe('parseConfig', () => {
  it('defaults match the AWS VPC CNI where it is sane', () => {
    const c = parseConfig({});
    expect(c.targets).toEqual({ warmInterfaces: 1, warmIps: 0, minimumIps: 0, warmPrefixes: 1 });
    expect(c.cooldownMs).toBe(30_000);
    expect(c.addWaitMs).toBe(30_000);
    expect(c.introspection).toEqual({ host: '127.0.0.1', port: 61679 });
    expect(c.metrics).toEqual({ host: '0.0.0.0', port: 61678 });
    expect(c.socketPath).toBe('/run/vpc-ipam/ipamd.sock');
    expect(c.provider).toBe('sim');
  });

  it.each([
    ['WARM_IP_TARGET', 'five', /WARM_IP_TARGET: expected a whole number/],
    ['WARM_ENI_TARGET', '-1', /WARM_ENI_TARGET: must be >= 0/],
    ['MINIMUM_IP_TARGET', '1.5', /MINIMUM_IP_TARGET/],
    ['IP_COOLDOWN_PERIOD', '-3', /IP_COOLDOWN_PERIOD/],
    ['ENABLE_PREFIX_DELEGATION', 'maybe', /ENABLE_PREFIX_DELEGATION: expected true or false/],
    ['MAX_ENI', '0', /MAX_ENI/],
    ['VPC_IPAM_PROVIDER', 'openstack', /VPC_IPAM_PROVIDER: expected one of sim, aws, azure, gcp/],
    ['INTROSPECTION_BIND_ADDRESS', '0.0.0.0:61679', /INTROSPECTION_BIND_ADDRESS: must bind to loopback/],
    ['VPC_IPAM_SIM_SUBNET_CIDR', '10.0.0.5/24', /not a network address/],
    ['WARM_POOL_POLICY', 'greedy', /WARM_POOL_POLICY/],
  ])('rejects %s=%s naming the variable', (name, value, msg) => {
    expect(() => parseConfig({ [name]: value })).toThrow(msg);
  });

  it('rejects prefix delegation with every target at zero (the AWS entrypoint does too)', () => {
    expect(() => parseConfig({ ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '0' })).toThrow(
      /WARM_PREFIX_TARGET/,
    );
  });

  it('metrics can be turned off and bound anywhere; introspection only on loopback', () => {
    expect(parseConfig({ VPC_IPAM_METRICS_ADDRESS: 'off' }).metrics).toBeUndefined();
    expect(parseConfig({ INTROSPECTION_BIND_ADDRESS: '127.0.0.2:9000' }).introspection).toEqual({
      host: '127.0.0.2',
      port: 9000,
    });
  });
});
