/**
 * @module PodSubnetConfig
 * The cluster-scoped custom resource that gives a node its Pod subnet(s) and
 * security groups (the AWS VPC CNI's ENIConfig, generalised):
 *
 * ```yaml
 * apiVersion: vpc-ipam.io/v1alpha1
 * kind: PodSubnetConfig
 * metadata: { name: us-east-1a }        # zone default: named after the zone
 * spec:
 *   subnetIds: [subnet-0a, subnet-0b]   # or `subnet: subnet-0a` (ENIConfig style)
 *   securityGroups: [sg-0123]           # optional; default: the node's primary interface's
 * ```
 *
 * Which config a node uses: the node label `vpc-ipam.io/pod-subnet-config`,
 * else the node annotation with the same key, else a config named after the
 * node's `topology.kubernetes.io/zone` label if one exists. An explicitly
 * named config that does not exist is an error (never a silent fallback).
 * The CRD's schema (deploy/kustomize/base/crd.yaml) enforces the same rules
 * at the API server; they are checked again here because a config may have
 * been stored before the CRD was updated.
 */
import { ConfigError } from '../../providers/errors.js';
import { PSC_CRD_NAME, PSC_SELECT_KEY, ZONE_LABEL } from './names.js';

export interface PodSubnetConfigSpec {
  /** Candidate subnets in order; a new interface goes into the first that has room. */
  subnetIds: string[];
  /** Security groups for new interfaces; undefined = the provider's default (the primary's). */
  securityGroups?: string[];
}

/** A config that cannot be used; code CONFIG_INVALID, `variable` = `PodSubnetConfig/<name> <field>`. */
export class PodSubnetConfigError extends ConfigError {
  constructor(
    readonly configName: string,
    readonly field: string,
    message: string,
  ) {
    super(`PodSubnetConfig/${configName} ${field}`, message);
  }
}

/** What the daemon says (log, Event) when the API server does not serve PodSubnetConfigs at all. */
export const CRD_NOT_INSTALLED = `CRD ${PSC_CRD_NAME} is not installed`;

/**
 * The API server answered the config's path with a 404 for the path itself:
 * the CRD is not installed (deploy/kustomize/base/crd.yaml never applied, or
 * deleted). A ConfigError of variable `PodSubnetConfig`, so it is reported
 * as a PodSubnetConfigInvalid Event like any other unusable config.
 */
export class PodSubnetCrdMissingError extends ConfigError {
  constructor(
    readonly configName: string,
    detail: string,
  ) {
    super('PodSubnetConfig', `${CRD_NOT_INSTALLED}: ${detail}`);
  }
}

export const MAX_SUBNETS = 16;
export const MAX_SECURITY_GROUPS = 16;
/** Cloud ids: `subnet-0abc`, Azure resource ids and GCP self-links (slashes), no spaces. */
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,1023}$/;

function idList(name: string, field: string, v: unknown, max: number): string[] {
  if (!Array.isArray(v)) throw new PodSubnetConfigError(name, field, 'must be a list of ids');
  if (v.length === 0) throw new PodSubnetConfigError(name, field, 'must not be empty');
  if (v.length > max) throw new PodSubnetConfigError(name, field, `at most ${max} entries, got ${v.length}`);
  v.forEach((x, i) => {
    if (typeof x !== 'string' || !ID_RE.test(x))
      throw new PodSubnetConfigError(name, `${field}[${i}]`, `not a valid id: ${JSON.stringify(x)}`);
  });
  if (new Set(v).size !== v.length) throw new PodSubnetConfigError(name, field, 'contains duplicates');
  return [...(v as string[])];
}

/** Validates a PodSubnetConfig object as returned by the API; throws naming the bad field. */
export function parsePodSubnetConfig(obj: unknown): { name: string; spec: PodSubnetConfigSpec } {
  const o = obj as { metadata?: { name?: unknown }; spec?: Record<string, unknown> } | null;
  const name = typeof o?.metadata?.name === 'string' ? o.metadata.name : '?';
  const spec = o?.spec;
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new PodSubnetConfigError(name, 'spec', 'missing');
  const hasOne = spec.subnet !== undefined;
  const hasMany = spec.subnetIds !== undefined;
  if (hasOne === hasMany) throw new PodSubnetConfigError(name, 'spec', 'set exactly one of subnet or subnetIds');
  const subnetIds = hasOne
    ? idList(name, 'spec.subnet', [spec.subnet], 1)
    : idList(name, 'spec.subnetIds', spec.subnetIds, MAX_SUBNETS);
  const out: PodSubnetConfigSpec = { subnetIds };
  if (spec.securityGroups !== undefined)
    out.securityGroups = idList(name, 'spec.securityGroups', spec.securityGroups, MAX_SECURITY_GROUPS);
  return { name, spec: out };
}

export type ConfigSource = 'label' | 'annotation' | 'zone';

export interface ConfigChoice {
  name: string;
  source: ConfigSource;
  /** False for the zone default: a missing zone config means "no config", not an error. */
  required: boolean;
}

export interface NodeMeta {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Which PodSubnetConfig the node asks for, and how (pure). */
export function chooseConfig(node: NodeMeta, key = PSC_SELECT_KEY): ConfigChoice | undefined {
  const label = node.labels?.[key]?.trim();
  if (label) return { name: label, source: 'label', required: true };
  const ann = node.annotations?.[key]?.trim();
  if (ann) return { name: ann, source: 'annotation', required: true };
  const zone = node.labels?.[ZONE_LABEL]?.trim();
  if (zone) return { name: zone, source: 'zone', required: false };
  return undefined;
}
