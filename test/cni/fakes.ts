/**
 * @module CNI test fakes
 * A scripted ipamd client and in-memory collaborators for the verb tests.
 */
import type { Allocation, DelRequest, Response } from '../../cni/contract/protocol.js';
import { hostVethName } from '../../cni/contract/veth-name.js';
import { IpamdUnavailableError, type IpamdClient, type RequestBody } from '../../cni/contract/socket-client.js';
import type { PluginDeps } from '../../cni/commands.js';
import { createLogger } from '../../cni/log.js';

export type Reply = Response | IpamdUnavailableError | ((req: RequestBody) => Response | IpamdUnavailableError);

export class FakeIpamd implements IpamdClient {
  readonly calls: Array<{ req: RequestBody; timeoutMs: number }> = [];
  constructor(private readonly replies: Partial<Record<RequestBody['op'], Reply>>) {}
  async call(req: RequestBody, timeoutMs: number): Promise<Response> {
    this.calls.push({ req, timeoutMs });
    let r = this.replies[req.op];
    if (typeof r === 'function') r = r(req);
    if (!r) throw new IpamdUnavailableError('unreachable', 'no fake reply');
    if (r instanceof IpamdUnavailableError) throw r;
    return r;
  }
}

export interface FakeDeps extends PluginDeps {
  logs: string[];
  torn: Array<{ hostIf: string; ip?: string }>;
  pending: Array<{ dir: string; req: DelRequest }>;
}

export function fakeDeps(client: IpamdClient, over: Partial<PluginDeps> = {}): FakeDeps {
  const logs: string[] = [];
  const torn: FakeDeps['torn'] = [];
  const pending: FakeDeps['pending'] = [];
  return {
    client,
    log: createLogger({ level: 'debug', write: (l) => logs.push(l) }),
    readHostMac: () => '0a:00:00:00:00:01',
    offlineTearDown: async (t) => {
      torn.push(t);
    },
    writePendingRelease: (dir, req) => {
      pending.push({ dir, req });
      return `${dir}/x.json`;
    },
    ...over,
    logs,
    torn,
    pending,
  };
}

export const down = (kind: 'unreachable' | 'timeout' | 'protocol' = 'unreachable') =>
  new IpamdUnavailableError(kind, `ipamd ${kind}`);

/** One allocation as ipamd answers it, for plugin tests that need a successful ADD. */
export const sampleAllocation: Allocation = {
  ip: '198.18.0.9',
  prefixLength: 32,
  gateway: '169.254.1.1',
  interfaceId: 'eni-1',
  deviceIndex: 0,
  routeTable: 0,
  subnetCidr: '198.18.0.0/24',
  vpcCidrs: ['198.18.0.0/16'],
  hostIf: hostVethName('c0ffee', 'eth0'),
  podMac: '0a:00:00:00:00:02',
};
