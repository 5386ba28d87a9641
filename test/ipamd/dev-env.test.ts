/**
 * The environment `npm start` gives the daemon (ipamd/dev-env.ts): never a
 * real cloud or cluster unless VPC_IPAM_DEV_REAL_CLOUD says so, and one
 * directory per provider.
 */
import { describe, expect, it } from 'vitest';
import { devEnvironment } from '../../ipamd/dev-env.js';

const OUTWARD = {
  AWS_EC2_ENDPOINT: 'https://ec2.us-east-1.amazonaws.com',
  AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://169.254.169.254',
  AZURE_ARM_ENDPOINT: 'https://management.azure.com',
  AZURE_IMDS_ENDPOINT: 'http://169.254.169.254',
  GCP_COMPUTE_ENDPOINT: 'https://compute.googleapis.com',
  GCE_METADATA_HOST: 'metadata.google.internal',
  GCP_ACCESS_TOKEN: 'ya29.real',
  MY_NODE_NAME: 'ip-10-0-0-1.ec2.internal',
};

describe('devEnvironment', () => {
  it('defaults to aws on its embedded emulator, in .run/aws', () => {
    const d = devEnvironment({}, '/repo');
    expect(d.provider).toBe('aws');
    expect(d.env).toMatchObject({
      VPC_IPAM_PROVIDER: 'aws',
      VPC_IPAM_AWS_EMBEDDED_EMULATOR: 'true',
      VPC_IPAM_STATE_DIR: '/repo/.run/aws/state',
      VPC_IPAM_SOCKET: '/repo/.run/aws/ipamd.sock',
      VPC_IPAM_LOG_FILE: '/repo/.run/aws/ipamd.log',
      VPC_IPAM_PLUMBING: 'off',
      VPC_IPAM_HOST_INTERFACES: 'false',
      VPC_IPAM_METRICS_ADDRESS: '127.0.0.1:61678',
    });
    expect(d.notes).toEqual([]);
  });

  it.each([
    ['aws', 'VPC_IPAM_AWS_EMBEDDED_EMULATOR'],
    ['azure', 'VPC_IPAM_AZURE_EMBEDDED_EMULATOR'],
    ['gcp', 'VPC_IPAM_GCP_EMBEDDED_EMULATOR'],
  ])('VPC_IPAM_PROVIDER=%s: its emulator, whatever the environment points at', (provider, flag) => {
    const given = { VPC_IPAM_PROVIDER: provider, [flag]: 'false', ...OUTWARD, WARM_IP_TARGET: '3' };
    const d = devEnvironment(given, '/repo');
    expect(d.env[flag]).toBe('true');
    for (const v of Object.keys(OUTWARD)) expect(d.env[v], v).toBeUndefined();
    expect(d.env.WARM_IP_TARGET).toBe('3'); // the user's pool settings stay
    expect(d.env.VPC_IPAM_STATE_DIR).toBe(`/repo/.run/${provider}/state`);
    expect(d.notes.join('\n')).toMatch(new RegExp(`ignoring ${flag}=false`));
    expect(d.notes.join('\n')).toMatch(/ignoring MY_NODE_NAME/);
  });

  it('sim: no emulator switch, still nothing outward', () => {
    const d = devEnvironment({ VPC_IPAM_PROVIDER: 'sim', MY_NODE_NAME: 'n' }, '/repo');
    expect(Object.keys(d.env).filter((k) => k.endsWith('_EMBEDDED_EMULATOR'))).toEqual([]);
    expect(d.env.MY_NODE_NAME).toBeUndefined();
  });

  it('VPC_IPAM_DEV_REAL_CLOUD=true hands the environment over as given', () => {
    const d = devEnvironment({ VPC_IPAM_DEV_REAL_CLOUD: 'true', VPC_IPAM_PROVIDER: 'aws', ...OUTWARD }, '/repo');
    expect(d.realCloud).toBe(true);
    expect(d.env).toMatchObject(OUTWARD);
    expect(d.env.VPC_IPAM_AWS_EMBEDDED_EMULATOR).toBeUndefined();
    expect(d.notes.join('\n')).toMatch(/VPC_IPAM_DEV_REAL_CLOUD=true/);
  });

  it('VPC_IPAM_DEV_DIR moves the root; an unknown provider is refused by name', () => {
    expect(devEnvironment({ VPC_IPAM_DEV_DIR: '/tmp/x', VPC_IPAM_PROVIDER: 'gcp' }, '/repo').dir).toBe('/tmp/x/gcp');
    const refused = /VPC_IPAM_PROVIDER: expected one of sim, aws, azure, gcp/;
    expect(() => devEnvironment({ VPC_IPAM_PROVIDER: 'openstack' })).toThrow(refused);
  });
});
