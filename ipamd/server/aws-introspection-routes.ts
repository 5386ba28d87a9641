/**
 * @module AWS introspection routes
 * The AWS VPC CNI's introspection paths (aws/amazon-vpc-cni-k8s v1.23.1 @b521883, pkg/ipamd/introspect.go
 * `setupIntrospectionServer`), served beside ours on the same listener so that scripts and runbooks written for
 * aws-node (its aws-cni-support.sh, `curl localhost:61679/v1/enis | jq`) work on a vpc-ipam node:
 * `/v1/enis`, `/v1/eni-configs`, `/v1/networkutils-env-settings`, `/v1/ipamd-env-settings`, and `GET /` listing
 * them (introspection-routes.ts adds it, with ours).
 */
import type { DaemonConfig } from '../config.js';
import type { Datastore } from '../datastore/datastore.js';
import { awsEniInfos } from './aws-eni-infos.js';
import { awsIpamdEnvSettings, awsNetworkutilsEnvSettings } from './aws-env-settings.js';
import type { Route } from './http.js';

/**
 * The name of the ENIConfig this node uses, as the AWS CNI's `eniconfig.GetNodeSpecificENIConfigName` derives it
 * from the Node (the `vpc.amazonaws.com/externalEniConfig` label, then the ENI_CONFIG_ANNOTATION_DEF annotation,
 * then the ENI_CONFIG_LABEL_DEF label, else "default"); undefined when the Node cannot be read.
 */
export type EniConfigNameSource = () => Promise<string | undefined>;

/**
 * Adapts a view of the node's ENIConfig choice (the Kubernetes integration's NodeEniConfigs.view(), whose name is
 * empty when the Node could not be read) to the name source.
 */
export function eniConfigNameFrom(view: () => Promise<{ name: string }>): EniConfigNameSource {
  return async () => (await view()).name || undefined;
}

/** What the AWS paths read from the daemon (IpamDaemon has it structurally). */
export interface AwsIntrospectionSource {
  readonly datastore: Pick<Datastore, 'interfaceList' | 'list' | 'coolingEntries'>;
  readonly d: {
    readonly config: DaemonConfig;
    readonly clock: { now(): number };
    /** Passed by the composition root when the Kubernetes integration knows the Node (DaemonDeps). */
    readonly eniConfigName?: EniConfigNameSource;
  };
}

/** What Go's `http.Error(w, http.StatusText(404), 404)` answers, as the AWS CNI does when it cannot get the Node. */
const NOT_FOUND = { status: 404, contentType: 'text/plain; charset=utf-8', body: 'Not Found\n' };

export function awsIntrospectionRoutes(d: AwsIntrospectionSource): Record<string, Route> {
  return {
    '/v1/enis': async () => {
      const now = d.d.clock.now();
      const body = awsEniInfos({
        interfaces: d.datastore.interfaceList(),
        assignments: d.datastore.list(),
        cooling: d.datastore.coolingEntries(now),
        cooldownMs: d.d.config.cooldownMs,
      });
      return { body };
    },
    // A JSON string, the name alone: v1.23.1 marshals GetNodeSpecificENIConfigName's result, not the ENIConfig.
    '/v1/eni-configs': async () => {
      const name = await d.d.eniConfigName?.();
      return name === undefined ? NOT_FOUND : { contentType: 'application/json', body: JSON.stringify(name) };
    },
    '/v1/networkutils-env-settings': async () => ({ body: awsNetworkutilsEnvSettings(d.d.config) }),
    '/v1/ipamd-env-settings': async () => ({ body: awsIpamdEnvSettings(d.d.config) }),
  };
}

/** Paths that read only the configuration: they answer during init, as /v1/config does. */
export const AWS_CONFIG_PATHS: readonly string[] = [
  '/v1/eni-configs',
  '/v1/networkutils-env-settings',
  '/v1/ipamd-env-settings',
];
