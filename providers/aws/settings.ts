/**
 * @module aws settings
 * The AWS provider's environment variables, parsed once and validated with
 * errors that name the variable (docs/aws.md lists them all). The VPC CNI's
 * names are kept where the meaning is the same (AWS_EC2_ENDPOINT,
 * CLUSTER_NAME, ADDITIONAL_ENI_TAGS, ENABLE_SUBNET_DISCOVERY, HTTP_TIMEOUT,
 * MANAGE_UNTAGGED_ENI) and the SDK's own names where it
 * has one (AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_REGION, AWS_MAX_ATTEMPTS).
 */
import { readBool, readInt, type Env } from '../env-settings.js';
import { ConfigError } from '../errors.js';
import { parseLag, parseRealism, type Ec2Realism } from './emulator/realism.js';
import { TAG_PREFIX } from './tags.js';

export interface AwsSettings {
  /** AWS_EC2_ENDPOINT: EC2 API URL (an emulator, a VPC endpoint). Default: the SDK's regional endpoint. */
  ec2Endpoint: string | undefined;
  /** AWS_EC2_METADATA_SERVICE_ENDPOINT. Default http://169.254.169.254. */
  imdsEndpoint: string | undefined;
  /** AWS_REGION / AWS_DEFAULT_REGION; default: from the instance's zone. */
  region: string | undefined;
  /** AWS_MAX_ATTEMPTS: SDK attempts per call (1-5, default 2); CloudCaller retries on top. */
  maxAttempts: number;
  /** HTTP_TIMEOUT: seconds per EC2 request (default 10). */
  httpTimeoutMs: number;
  /** CLUSTER_NAME: tagged on every interface and scopes the leaked-interface sweep. */
  clusterName: string | undefined;
  /** ADDITIONAL_ENI_TAGS: JSON object of extra tags for interfaces ipamd creates. */
  additionalTags: Record<string, string>;
  /**
   * POD_SUBNET_IDS: comma-separated subnets for Pod interfaces (static form of PodSubnetConfig).
   * AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG is read with the other Pod-subnet settings, in ipamd/setup/pod-subnets.ts.
   */
  podSubnetIds: string[];
  /** POD_SECURITY_GROUPS: comma-separated groups for Pod interfaces in those subnets. */
  podSecurityGroups: string[];
  /** ENABLE_SUBNET_DISCOVERY: also use subnets tagged `kubernetes.io/role/cni` (default true). */
  subnetDiscovery: boolean;
  /**
   * MANAGE_UNTAGGED_ENI (default true): false leaves alone every secondary ENI not tagged for this instance
   * (by vpc-ipam or by the VPC CNI), as aws-node does; see eni-exclusion.ts.
   */
  manageUntaggedEni: boolean;
  /** VPC_IPAM_AWS_ATTACH_WAIT_SECONDS: how long a new interface may take to appear in IMDS (default 30). */
  attachWaitMs: number;
  /** VPC_IPAM_AWS_EMBEDDED_EMULATOR: run the EC2+IMDS emulator in-process (npm start, demos). */
  embeddedEmulator: boolean;
  /**
   * How unkind the embedded emulator is: VPC_IPAM_AWS_EMULATOR_REALISM (emulator/realism.ts; default the
   * emulate mode's), with VPC_IPAM_AWS_EMULATOR_IMDS_DELAY_MS (`N` or `MIN-MAX` ms) overriding its IMDS lag.
   */
  embeddedRealism: Ec2Realism;
}

function embeddedRealism(env: Env): Ec2Realism {
  const r = parseRealism(env.VPC_IPAM_AWS_EMULATOR_REALISM, 'VPC_IPAM_AWS_EMULATOR_REALISM');
  const lag = env.VPC_IPAM_AWS_EMULATOR_IMDS_DELAY_MS?.trim();
  if (lag) r.imdsLagMs = parseLag(lag, 'VPC_IPAM_AWS_EMULATOR_IMDS_DELAY_MS');
  return r;
}

function url(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(name, `expected an http(s) URL, got "${raw}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new ConfigError(name, `expected an http(s) URL, got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

function idList(env: Env, name: string, pattern: RegExp, what: string): string[] {
  const raw = env[name]?.trim();
  if (!raw) return [];
  const ids = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = ids.filter((id) => !pattern.test(id));
  if (bad.length)
    throw new ConfigError(
      name,
      `expected comma-separated ${what}, but ${bad.map((b) => `"${b}"`).join(', ')} is not one`,
    );
  return [...new Set(ids)];
}

function tagsJson(env: Env, name: string): Record<string, string> {
  const raw = env[name]?.trim();
  if (!raw) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new ConfigError(name, `expected a JSON object of string tags, got "${raw}"`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ConfigError(name, 'expected a JSON object such as {"team":"net"}');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw new ConfigError(name, `tag "${k}" must have a string value`);
    if (k.startsWith(TAG_PREFIX) || k.startsWith('aws:'))
      throw new ConfigError(name, `tag "${k}" uses a reserved prefix (${TAG_PREFIX}, aws:)`);
    // The VPC CNI drops keys containing `k8s.amazonaws.com` (reservedTagKeyPrefix): on every new ENI, no_manage
    // would make it one ipamd never deletes, and instance_id would claim it for whatever instance it names.
    if (k.includes('k8s.amazonaws.com')) {
      throw new ConfigError(name, `tag "${k}" contains k8s.amazonaws.com, reserved for the VPC CNI's own tags`);
    }
    if (k.length === 0 || k.length > 128 || val.length > 256)
      throw new ConfigError(name, `tag "${k}": keys are 1-128 characters, values at most 256`);
    out[k] = val;
  }
  if (Object.keys(out).length > 40)
    throw new ConfigError(name, 'at most 40 additional tags (EC2 allows 50 per resource; ipamd sets its own)');
  return out;
}

export function parseAwsSettings(env: Env): AwsSettings {
  const region = (env.AWS_REGION ?? env.AWS_DEFAULT_REGION)?.trim() || undefined;
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))
    throw new ConfigError('AWS_REGION', `"${region}" is not a region name such as us-east-1`);
  const cluster = env.CLUSTER_NAME?.trim() || undefined;
  if (cluster !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(cluster)) {
    throw new ConfigError('CLUSTER_NAME', `"${cluster}" is not a cluster name (letters, digits, _ . -; at most 100)`);
  }
  return {
    ec2Endpoint: url(env, 'AWS_EC2_ENDPOINT'),
    imdsEndpoint: url(env, 'AWS_EC2_METADATA_SERVICE_ENDPOINT'),
    region,
    maxAttempts: readInt(env, 'AWS_MAX_ATTEMPTS', 2, { min: 1, max: 5 }),
    httpTimeoutMs: readInt(env, 'HTTP_TIMEOUT', 10, { min: 1, max: 120 }) * 1000,
    clusterName: cluster,
    additionalTags: tagsJson(env, 'ADDITIONAL_ENI_TAGS'),
    podSubnetIds: idList(env, 'POD_SUBNET_IDS', /^subnet-[0-9a-f]{1,32}$/, 'subnet ids (subnet-…)'),
    podSecurityGroups: idList(env, 'POD_SECURITY_GROUPS', /^sg-[0-9a-f]{1,32}$/, 'security group ids (sg-…)'),
    subnetDiscovery: readBool(env, 'ENABLE_SUBNET_DISCOVERY', true),
    manageUntaggedEni: readBool(env, 'MANAGE_UNTAGGED_ENI', true),
    attachWaitMs: readInt(env, 'VPC_IPAM_AWS_ATTACH_WAIT_SECONDS', 30, { min: 1, max: 600 }) * 1000,
    embeddedEmulator: readBool(env, 'VPC_IPAM_AWS_EMBEDDED_EMULATOR', false),
    embeddedRealism: embeddedRealism(env),
  };
}
