/**
 * @module ctl settings
 * What `vpc-ipamctl` commands take from the environment, read by its entry point (ipamd/ctl/main.ts) and handed
 * to every command typed. The daemon's own paths and addresses are plain defaults for flags; the AWS settings
 * are parsed when a command asks EC2, so a bad AWS_* value never fails `vpc-ipamctl status`.
 */
import { parseAwsSettings, type AwsSettings } from '../../providers/aws/settings.js';
import { parseConfig, publicConfig, readAddWaitMs, type DaemonConfig } from '../config.js';
import { present, type Env } from './readers.js';
import { readSocketPath } from './socket-path.js';

export interface CtlSettings {
  /** VPC_IPAM_SOCKET, the daemon's socket (default of `--socket`). */
  socketPath: string | undefined;
  /** VPC_IPAM_STATE_DIR (default of `--state-dir`). */
  stateDir: string | undefined;
  /** INTROSPECTION_BIND_ADDRESS (default of `--introspection`). */
  introspection: string | undefined;
  /**
   * VPC_IPAM_ADD_WAIT_SECONDS as the daemon reads it (30 s unless set): how long ipamd may hold an ADD waiting
   * for the pool, which `vpc-ipamctl add` must wait out before its own timeout starts.
   */
  addWaitMs: number;
  /** The AWS settings (AWS_REGION, AWS_EC2_ENDPOINT…), parsed on first use; ConfigError on a bad one. */
  aws(): AwsSettings;
  /**
   * The daemon's configuration with VPC_IPAM_PROVIDER=aws and no embedded emulator, for commands that build
   * the AWS provider. `endpoint` points EC2 (and IMDS, unless AWS_EC2_METADATA_SERVICE_ENDPOINT says otherwise)
   * at an emulator, which checks no signature: without AWS_ACCESS_KEY_ID or AWS_PROFILE the provider signs
   * with the emulator's static credentials instead of the SDK's credential chain.
   */
  awsDaemonConfig(endpoint: string | undefined): DaemonConfig;
  /** The environment vpc-ipamctl runs in, for `support-bundle`, which redacts it before writing it. */
  environment: ReadonlyArray<readonly [string, string]>;
  /** The daemon's settings as this environment gives them (publicConfig); throws the ConfigError parseConfig does. */
  daemonSettings(): DaemonConfig;
}

export function parseCtlSettings(env: Env): CtlSettings {
  let aws: AwsSettings | undefined;
  return Object.freeze({
    socketPath: readSocketPath(env),
    stateDir: present(env, 'VPC_IPAM_STATE_DIR'),
    introspection: present(env, 'INTROSPECTION_BIND_ADDRESS'),
    addWaitMs: readAddWaitMs(env),
    aws: () => (aws ??= Object.freeze(parseAwsSettings(env))),
    environment: Object.freeze(
      Object.entries(env)
        .filter((e): e is [string, string] => e[1] !== undefined)
        .sort(([a], [b]) => a.localeCompare(b)),
    ),
    daemonSettings: () => publicConfig(parseConfig(env)),
    awsDaemonConfig: (endpoint: string | undefined) => {
      const pointed = endpoint
        ? {
            AWS_EC2_ENDPOINT: endpoint,
            AWS_EC2_METADATA_SERVICE_ENDPOINT: env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? endpoint,
          }
        : {};
      const config = parseConfig({
        ...env,
        VPC_IPAM_PROVIDER: 'aws',
        VPC_IPAM_AWS_EMBEDDED_EMULATOR: 'false',
        ...pointed,
      });
      const p = config.providerSettings;
      const unsigned = env.AWS_ACCESS_KEY_ID === undefined && env.AWS_PROFILE === undefined;
      if (!endpoint || !unsigned || p.name !== 'aws') return config;
      return Object.freeze({ ...config, providerSettings: { ...p, emulatorCredentials: true } });
    },
  });
}
