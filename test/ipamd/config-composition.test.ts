/**
 * The one parse (ipamd/config.ts): every part of ipamd's configuration comes out of it typed, the selected
 * provider's settings only, Kubernetes' only with MY_NODE_NAME, and /v1/config never shows a credential.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig, publicConfig } from '../../ipamd/config.js';
import { AZURE_BATCH_DEFAULTS } from '../../ipamd/config/azure-batch.js';
import { parseClusterMonitorConfig } from '../../ipamd/config/cluster-monitor.js';
import { parseCtlSettings } from '../../ipamd/config/ctl.js';
import { parseDemoInterval } from '../../ipamd/config/dev.js';

describe('parseConfig', () => {
  it('reads only the selected provider: a bad AZURE_* or GCP_* does not stop a sim node', () => {
    const c = parseConfig({ AZURE_ARM_ENDPOINT: 'nope', GCP_PROJECT: 'X', VPC_IPAM_SIM_LATENCY_SCALE: '0.5' });
    expect(c.providerSettings).toEqual({ name: 'sim', latencyScale: 0.5 });
    expect(() => parseConfig({ VPC_IPAM_PROVIDER: 'gcp', GCP_PROJECT: 'X' })).toThrow(/GCP_PROJECT/);
    expect(() => parseConfig({ VPC_IPAM_SIM_LATENCY_SCALE: 'fast' })).toThrow(/VPC_IPAM_SIM_LATENCY_SCALE/);
  });

  it('reads the embedded emulators’ knobs with their provider, before anything starts', () => {
    const azure = parseConfig({ VPC_IPAM_PROVIDER: 'azure', VPC_IPAM_AZURE_EMBEDDED_EMULATOR: 'true' });
    expect(azure.providerSettings).toMatchObject({
      name: 'azure',
      azure: { embedded: { lro: 'async' }, settings: { credential: 'static', lroPollIntervalMs: 50 } },
    });
    const bad = { VPC_IPAM_PROVIDER: 'azure', VPC_IPAM_AZURE_EMBEDDED_EMULATOR: 'true' };
    expect(() => parseConfig({ ...bad, VPC_IPAM_AZURE_EMULATOR_LRO: 'later' })).toThrow(/VPC_IPAM_AZURE_EMULATOR_LRO/);
    const gcp = { VPC_IPAM_PROVIDER: 'gcp', VPC_IPAM_GCP_EMBEDDED_EMULATOR: 'true' };
    expect(() => parseConfig({ ...gcp, GCE_METADATA_HOST: 'h' })).toThrow(/GCE_METADATA_HOST: cannot be set/);
    const aws = parseConfig({ VPC_IPAM_PROVIDER: 'aws', VPC_IPAM_AWS_EMBEDDED_EMULATOR: 'true' });
    expect(aws.providerSettings).toMatchObject({ name: 'aws', emulatorLatencyScale: 1, emulatorCredentials: false });
  });

  it('parses the azure-batch sizing with its policy only', () => {
    expect(parseConfig({ AZURE_IP_BATCH_SIZE: 'x' }).azureBatch).toBeUndefined();
    expect(parseConfig({ WARM_POOL_POLICY: 'azure-batch' }).azureBatch).toEqual(AZURE_BATCH_DEFAULTS);
    expect(() => parseConfig({ WARM_POOL_POLICY: 'azure-batch', AZURE_IP_BATCH_SIZE: 'x' })).toThrow(
      /AZURE_IP_BATCH_SIZE/,
    );
  });

  it('reads the Kubernetes settings only with MY_NODE_NAME, connection and conflist included', () => {
    expect(parseConfig({ POD_MTU: 'huge' }).kubernetes).toBeUndefined();
    const env = { MY_NODE_NAME: 'n1', KUBERNETES_SERVICE_HOST: '10.100.0.1', VPC_IPAM_CNI_CHAIN: 'bandwidth' };
    const k = parseConfig(env).kubernetes!;
    expect(k.settings.nodeName).toBe('n1');
    expect(k.connection).toMatchObject({ kind: 'in-cluster', server: 'https://10.100.0.1:443' });
    expect(k.conflist.chain).toEqual(['bandwidth']);
    expect(() => parseConfig({ ...env, POD_MTU: 'huge' })).toThrow(/POD_MTU/);
    expect(() => parseConfig({ MY_NODE_NAME: 'n1' })).toThrow(/MY_NODE_NAME: is set but no API server is known/);
  });

  it('reads plumbing, custom networking and the in-node monitor once', () => {
    const c = parseConfig({ VPC_IPAM_PLUMBING: 'off', AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true' });
    expect(c.plumbing).toBe('off');
    expect(c.customNetworking).toEqual({ enabled: true, variable: 'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG' });
    expect(c.monitor.intervalMs).toBe(60_000);
    expect(() => parseConfig({ VPC_IPAM_PLUMBING: 'maybe' })).toThrow(/VPC_IPAM_PLUMBING/);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('shows no credential at /v1/config', () => {
    const c = parseConfig({ VPC_IPAM_PROVIDER: 'gcp', GCP_ACCESS_TOKEN: 'ya29.secret' });
    expect(JSON.stringify(publicConfig(c))).not.toContain('ya29.secret');
    expect(publicConfig(c).targets).toEqual(c.targets);
  });
});

describe('the other programs’ parses', () => {
  it('the cluster monitor: daemon settings, its own, Kubernetes only when asked', () => {
    const c = parseClusterMonitorConfig({ HOSTNAME: 'mon-0', VPC_IPAM_MONITOR_ENI_GC_INTERVAL_SECONDS: '0' });
    expect(c.monitor).toMatchObject({ identity: 'mon-0', eniGcIntervalMs: 0, kubernetes: false });
    expect(c.kubernetes).toBeUndefined();
    const k = parseClusterMonitorConfig({ VPC_IPAM_MONITOR_KUBERNETES: 'true', KUBECONFIG: '/k' }).kubernetes!;
    expect(k).toMatchObject({ connection: { kind: 'kubeconfig', file: '/k' }, leaseName: 'vpc-ipam-monitor' });
  });

  it('vpc-ipamctl: flag defaults, AWS settings on first use, emulator credentials typed', () => {
    const s = parseCtlSettings({ VPC_IPAM_STATE_DIR: '/s', AWS_REGION: 'nowhere' });
    expect(s.stateDir).toBe('/s');
    expect(() => s.aws()).toThrow(/AWS_REGION/);
    const ok = parseCtlSettings({ AWS_REGION: 'us-east-1' });
    const pointed = ok.awsDaemonConfig('http://127.0.0.1:9');
    expect(pointed.providerSettings).toMatchObject({
      name: 'aws',
      emulatorCredentials: true,
      settings: { ec2Endpoint: 'http://127.0.0.1:9', imdsEndpoint: 'http://127.0.0.1:9' },
    });
    const signed = parseCtlSettings({ AWS_REGION: 'us-east-1', AWS_PROFILE: 'p' }).awsDaemonConfig(
      'http://127.0.0.1:9',
    );
    expect(signed.providerSettings).toMatchObject({ emulatorCredentials: false });
  });

  it('npm start: the demo pace', () => {
    expect(parseDemoInterval({})).toBe(1500);
    expect(parseDemoInterval({ VPC_IPAM_DEMO: 'off' })).toBeUndefined();
    expect(() => parseDemoInterval({ VPC_IPAM_DEMO: 'maybe' })).toThrow(/VPC_IPAM_DEMO/);
  });
});
