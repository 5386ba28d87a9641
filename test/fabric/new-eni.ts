/**
 * @module a new ENI, mid-run
 * Adds Pods to a node until ipamd attaches another ENI and hands one of its addresses to a Pod, then probes
 * from that Pod at once, while the ENI's link may still be on its way (router.ts: hot-plug latency) and its
 * route table may not exist yet. EC2 expects no packet to leave with a source its ENI does not own: the
 * router's source/destination counters must not grow. Today a Pod on an ENI whose table is missing falls
 * through to the main table and leaves by eth0 with the new ENI's address (issue 12, "New-ENI window").
 */
import type { Fabric } from './fabric.js';
import type { Pod } from './node.js';

/** Adds Pods named `new<i>` until one sits on an ENI that was not attached before; at most `max` ADDs. */
export async function podOnNewEni(f: Fabric, node: string, max = 15): Promise<{ pod: Pod; adds: number }> {
  const n = f.node(node);
  const before = new Set(
    f.cloud
      .enis()
      .filter((e) => e.node === node)
      .map((e) => e.id),
  );
  for (let i = 0; i < max; i++) {
    const pod = await n.addPod(`new${i}`);
    if (!before.has(pod.eni.id)) return { pod, adds: i + 1 };
  }
  throw new Error(`${node}: ${max} more Pods and none on a new ENI (ENIs: ${[...before].join(', ')})`);
}
