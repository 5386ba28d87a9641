/**
 * @module adoption hooks
 * What the daemon calls when VPC_IPAM_ADOPT_AWS_NODE is on (built by the composition root, compose-node.ts):
 * - `adopt`: in init, after our checkpoint is restored, before the first write, once aws-node has stopped
 *   (./aws-node-liveness.ts), reads and adopts (./adopt-aws-node.ts); a refusal
 *   stops the start, so the conflist is never swapped and aws-node's files stay as they were;
 * - `hostNetworkReady`: in init, after our SNAT and NodePort rules were applied; removes aws-node's
 *   (./aws-netfilter.ts) only if ours verified, else leaves both for the next start.
 */
import type { NodeInventory } from '../../providers/types.js';
import type { AdoptionSettings } from '../config/adoption.js';
import type { Datastore } from '../datastore/datastore.js';
import type { Logger } from '../observability/logger.js';
import { removeAwsNetfilter } from './aws-netfilter.js';
import type { HostWiringPort } from './host-wiring.js';
import type { ExecFn } from '../netns/netfilter.js';
import type { Clock } from '../util/clock.js';
import { awsNodeProbe, waitForAwsNodeGone, type AwsNodeProbe } from './aws-node-liveness.js';

export interface AdoptionHooks {
  adopt(datastore: Datastore, node: NodeInventory): Promise<void>;
  /** `problems`: what our node-wide host networking could not put in place (empty when all verified). */
  hostNetworkReady(problems: readonly string[]): Promise<void>;
}

export interface AdoptionHookOptions {
  /** Our CNI network name, and the veth prefix our rules match. */
  network: string;
  vethPrefix: string;
  log: Logger;
  clock: Clock;
  /** Seams for tests: the host's wiring, aws-node's liveness, the iptables runner. */
  host?: HostWiringPort;
  probe?: AwsNodeProbe;
  exec?: ExecFn;
}

/** aws-node's Pod has a 10 s grace period (config/master/aws-k8s-cni.yaml); ours waits for it, with margin. */
const AWS_NODE_STOP_WAIT_MS = 30_000;

export function adoptionHooks(s: AdoptionSettings, o: AdoptionHookOptions): AdoptionHooks {
  return {
    async adopt(datastore, node) {
      await waitForAwsNodeGone(o.probe ?? awsNodeProbe(s.checkpointFile), o.clock, AWS_NODE_STOP_WAIT_MS);
      // Lazy: the adoption code and netlink (its native addon) load only on a node that adopts aws-node's Pods.
      const { adoptAwsNode } = await import('./adopt-aws-node.js');
      const host = o.host ?? (await import('./host-wiring.js')).netlinkHostWiring;
      const r = await adoptAwsNode({ ...s, network: o.network, vethPrefix: o.vethPrefix, host, datastore, node });
      o.log.info({ file: s.checkpointFile, ...r }, r.found ? 'adopted aws-node Pods' : 'no aws-node checkpoint');
    },
    async hostNetworkReady(problems) {
      if (problems.length) {
        o.log.warn({ problems }, 'keeping aws-node iptables rules: ours are not all in place yet');
        return;
      }
      const removed = await removeAwsNetfilter(o.exec).catch((err: Error) => {
        o.log.warn({ err: err.message }, 'could not remove aws-node iptables rules; retried on the next start');
        return [];
      });
      if (removed.length) o.log.info({ removed }, 'removed aws-node iptables rules (ours are in place)');
    },
  };
}
