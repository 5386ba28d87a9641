/**
 * @module ENIConfig
 * The AWS VPC CNI's custom-networking object, read as it is: clusters moved over from aws-node keep their
 * ENIConfigs and node labels, and custom networking goes on using them.
 *
 * ```yaml
 * apiVersion: crd.k8s.amazonaws.com/v1alpha1
 * kind: ENIConfig
 * metadata: { name: us-east-1a }
 * spec:
 *   subnet: subnet-0a              # required by its CRD
 *   securityGroups: [sg-0123]      # optional; empty or absent: the primary ENI's groups
 * ```
 *
 * Which ENIConfig a node uses, in the AWS CNI's order (pkg/eniconfig/eniconfig.go
 * `GetNodeSpecificENIConfigName`, v1.23.1): the label `vpc.amazonaws.com/externalEniConfig`, else the
 * annotation `ENI_CONFIG_ANNOTATION_DEF`, else the label `ENI_CONFIG_LABEL_DEF`, else the name `default`.
 * A key that is present counts even with an empty value, as a Go map lookup does; there is no optional choice:
 * the chosen object missing is an error (its `MyENIConfig` returns ErrNoENIConfig and that interface is not
 * created), and the next pool tick tries again.
 */
import { ConfigError } from '../../providers/errors.js';
import type { EniConfigKeys } from '../config/kubernetes.js';
import { DEFAULT_ENICONFIG_NAME, EXTERNAL_ENICONFIG_LABEL } from './names.js';
import type { NodeMeta } from './pod-subnet-config.js';

export interface EniConfigSpec {
  subnet: string;
  /** Undefined: the primary interface's groups (the AWS CNI's `createENIUsingCustomCfg` with none listed). */
  securityGroups?: string[];
}

export type EniConfigSource = 'external-label' | 'annotation' | 'label' | 'default';

export interface EniConfigChoice {
  name: string;
  source: EniConfigSource;
  /** The label or annotation key that named it; undefined for the default. */
  key?: string;
}

/** An ENIConfig that cannot be used; code CONFIG_INVALID, `variable` = `ENIConfig/<name> <field>`. */
export class EniConfigError extends ConfigError {
  constructor(
    readonly configName: string,
    readonly field: string,
    message: string,
  ) {
    super(`ENIConfig/${configName} ${field}`, message);
  }
}

/** Which ENIConfig the node names, and how (pure). */
export function chooseEniConfig(node: NodeMeta, keys: EniConfigKeys): EniConfigChoice {
  const labels = node.labels ?? {};
  const annotations = node.annotations ?? {};
  if (Object.hasOwn(labels, EXTERNAL_ENICONFIG_LABEL)) {
    return { name: labels[EXTERNAL_ENICONFIG_LABEL]!, source: 'external-label', key: EXTERNAL_ENICONFIG_LABEL };
  }
  if (Object.hasOwn(annotations, keys.annotation)) {
    return { name: annotations[keys.annotation]!, source: 'annotation', key: keys.annotation };
  }
  if (Object.hasOwn(labels, keys.label)) return { name: labels[keys.label]!, source: 'label', key: keys.label };
  return { name: DEFAULT_ENICONFIG_NAME, source: 'default' };
}

/** How a choice reads in a message: `its label topology.kubernetes.io/zone`, `no key (the default)`. */
export function describeChoice(c: EniConfigChoice): string {
  if (c.source === 'default') return 'none of its ENIConfig keys (so the name "default")';
  return `its ${c.source === 'annotation' ? 'annotation' : 'label'} ${c.key}`;
}

/** Cloud ids as the CRD's strings hold them (`subnet-0abc`, `sg-0abc`): no spaces, bounded. */
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,254}$/;

/** Validates an ENIConfig as the API returned it; throws naming the bad field. */
export function parseEniConfig(obj: unknown, name: string): EniConfigSpec {
  const spec = (obj as { spec?: unknown } | null)?.spec as Record<string, unknown> | undefined;
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new EniConfigError(name, 'spec', 'missing');
  if (typeof spec.subnet !== 'string' || !ID_RE.test(spec.subnet)) {
    throw new EniConfigError(name, 'spec.subnet', `not a subnet id: ${JSON.stringify(spec.subnet)}`);
  }
  const groups = spec.securityGroups;
  if (groups === undefined || groups === null) return { subnet: spec.subnet };
  if (!Array.isArray(groups)) throw new EniConfigError(name, 'spec.securityGroups', 'must be a list of ids');
  groups.forEach((g, i) => {
    if (typeof g !== 'string' || !ID_RE.test(g)) {
      throw new EniConfigError(name, `spec.securityGroups[${i}]`, `not a security group id: ${JSON.stringify(g)}`);
    }
  });
  const unique = [...new Set(groups as string[])];
  return unique.length > 0 ? { subnet: spec.subnet, securityGroups: unique } : { subnet: spec.subnet };
}
