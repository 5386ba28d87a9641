/**
 * @module kube-proxy's part: one Service, as kube-proxy's iptables mode writes it
 * One TCP Service with one endpoint (a Pod on a secondary ENI of node 1): a ClusterIP, and a NodePort with
 * `externalTrafficPolicy: Local`, so external clients keep their source address and only a node with a local
 * endpoint answers. The chains and marks are kube-proxy's (KUBE-SERVICES, KUBE-NODEPORTS, KUBE-EXT-…,
 * KUBE-SEP-…, mark 0x4000 for masquerade), cut down to what one Service needs, and loaded with
 * `iptables-restore` like kube-proxy does, so the node's netfilter looks like a Kubernetes node's to
 * whatever ipamd later adds beside it. Nodes without the endpoint get only the ClusterIP part.
 */
import { inNs, run } from './exec.js';

export const CLUSTER_IP = '10.100.0.50';
export const CLUSTER_PORT = 80;
export const NODE_PORT = 30080;

export interface ServiceSpec {
  endpoint: { ip: string; port: number };
  /** This node has the endpoint: the NodePort answers here (eTP Local). */
  localEndpoint: boolean;
}

export function kubeProxyRules(s: ServiceSpec): string {
  const ep = `${s.endpoint.ip}:${s.endpoint.port}`;
  const lines = [
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
    ':KUBE-MARK-MASQ - [0:0]',
    ':KUBE-SVC-FABRICECHO - [0:0]',
    ':KUBE-SEP-FABRICECHO - [0:0]',
    ':KUBE-EXT-FABRICECHO - [0:0]',
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    `-A KUBE-SERVICES -d ${CLUSTER_IP}/32 -p tcp -m comment --comment "fabric/echo cluster IP" -m tcp ` +
      `--dport ${CLUSTER_PORT} -j KUBE-SVC-FABRICECHO`,
    `-A KUBE-SVC-FABRICECHO -m comment --comment "fabric/echo -> ${ep}" -j KUBE-SEP-FABRICECHO`,
    // Hairpin: the endpoint reaching itself through its Service is masqueraded, as kube-proxy does.
    `-A KUBE-SEP-FABRICECHO -s ${s.endpoint.ip}/32 -j KUBE-MARK-MASQ`,
    `-A KUBE-SEP-FABRICECHO -p tcp -m tcp -j DNAT --to-destination ${ep}`,
  ];
  if (s.localEndpoint) {
    lines.push(
      `-A KUBE-NODEPORTS -p tcp -m comment --comment "fabric/echo" -m tcp --dport ${NODE_PORT} -j KUBE-EXT-FABRICECHO`,
      // eTP Local: traffic from the node itself goes to any endpoint, masqueraded; external traffic keeps its
      // source and goes to local endpoints only.
      '-A KUBE-EXT-FABRICECHO -m comment --comment "masquerade LOCAL traffic" -m addrtype --src-type LOCAL ' +
        '-j KUBE-MARK-MASQ',
      '-A KUBE-EXT-FABRICECHO -m comment --comment "route LOCAL traffic to all endpoints" -m addrtype ' +
        '--src-type LOCAL -j KUBE-SVC-FABRICECHO',
      '-A KUBE-EXT-FABRICECHO -m comment --comment "local endpoints only" -j KUBE-SEP-FABRICECHO',
    );
  }
  // Last, as kube-proxy keeps it: anything to a local address may be a NodePort.
  lines.push(
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports" -m addrtype --dst-type LOCAL ' +
      '-j KUBE-NODEPORTS',
    'COMMIT',
  );
  return `${lines.join('\n')}\n`;
}

export async function installKubeProxy(nodeNs: string, s: ServiceSpec): Promise<void> {
  // --noflush, as kube-proxy itself does: the rest of the nat table (ipamd's SNAT chain among it) is not its own.
  await run(inNs(nodeNs, 'iptables-restore', '-w', '5', '--noflush'), kubeProxyRules(s));
}
