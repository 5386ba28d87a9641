/**
 * @module kube connection settings
 * How ipamd (and the cluster monitor) reach the API server, in order of precedence:
 * - `KUBECONFIG`: a kubeconfig file (tests, running outside the cluster);
 * - `CLUSTER_ENDPOINT` (as in the AWS VPC CNI) or `KUBERNETES_SERVICE_HOST`/`_PORT`, with the mounted service
 *   account token and CA from /var/run/secrets/kubernetes.io/serviceaccount (`VPC_IPAM_SERVICEACCOUNT_DIR`
 *   points elsewhere: tests, or a token projected to another path).
 * Only the variables are read here; ipamd/k8s/client.ts loads the files when it builds the client.
 */
import { ConfigError } from '../../providers/errors.js';
import { present, type Env } from './readers.js';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export type KubeConnection =
  { kind: 'kubeconfig'; file: string } | { kind: 'in-cluster'; server: string; serviceAccountDir: string };

export function parseKubeConnection(env: Env): KubeConnection {
  const file = present(env, 'KUBECONFIG');
  if (file) return Object.freeze({ kind: 'kubeconfig', file });
  let server = present(env, 'CLUSTER_ENDPOINT');
  if (!server) {
    const host = present(env, 'KUBERNETES_SERVICE_HOST');
    const port = present(env, 'KUBERNETES_SERVICE_PORT') ?? '443';
    if (!host) {
      const why = 'is set but no API server is known: set KUBECONFIG or CLUSTER_ENDPOINT, or run in a Pod';
      throw new ConfigError('MY_NODE_NAME', `${why} (KUBERNETES_SERVICE_HOST)`);
    }
    server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }
  if (!/^https?:\/\/[^\s/]+/.test(server)) {
    throw new ConfigError('CLUSTER_ENDPOINT', `expected an http(s) URL, got "${server}"`);
  }
  const serviceAccountDir = present(env, 'VPC_IPAM_SERVICEACCOUNT_DIR') ?? SA_DIR;
  return Object.freeze({ kind: 'in-cluster', server, serviceAccountDir });
}
