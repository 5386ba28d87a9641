/**
 * Pod wirings for the privileged plumber tests: each call makes a fresh namespace and a container ID of its own,
 * with the next address of the test's /24, and records the ID so the test's cleanup can delete its host veth.
 */
import type { PodWiring } from '../../ipamd/netns/plumber.js';
import { addNetns } from '../cni/netns-tools.js';

export interface PodWirings {
  /** Every container ID handed out so far, for cleanup. */
  readonly ids: string[];
  next(extra?: Partial<PodWiring>): Promise<PodWiring>;
}

/** `ipPrefix` is the first three octets and a dot (e.g. `198.18.200.`); hosts start at .10. */
export function podWirings(nsPrefix: string, cidPrefix: string, ipPrefix: string): PodWirings {
  const ids: string[] = [];
  let n = 0;
  return {
    ids,
    async next(extra = {}) {
      const i = n++;
      ids.push(`${cidPrefix}${i}`);
      return {
        containerId: `${cidPrefix}${i}`,
        netnsPath: await addNetns(`${nsPrefix}${i}`),
        ifName: 'eth0',
        ip: `${ipPrefix}${10 + i}`,
        mtu: 9001,
        routeTable: 0,
        ...extra,
      };
    },
  };
}
