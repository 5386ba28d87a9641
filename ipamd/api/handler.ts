/**
 * @module API handler
 * Executes one validated local-API request: the allocator decides the
 * address, the plumber wires the Pod, and each step undoes the previous one
 * when a later one fails, so a failed ADD leaves neither an assignment nor a
 * half-built veth behind.
 */
import { IpamError, NetnsError } from '../../providers/errors.js';
import type { Allocator } from '../allocator.js';
import type { Datastore } from '../datastore/datastore.js';
import type { Assignment } from '../datastore/types.js';
import { hostVethName, type PodNetworkPlumber } from '../netns/plumber.js';
import type { Allocation, ErrorBody, PoolStatus, Request, Response } from './protocol.js';
import { PROTOCOL_VERSION } from './protocol.js';

export const POD_GATEWAY = '169.254.1.1';
const DEFAULT_MTU = 9001;

export interface HandlerDeps {
  allocator: Allocator;
  datastore: Datastore;
  plumber: PodNetworkPlumber;
  vpcCidrs: () => string[];
  status: () => PoolStatus;
  version: string;
  onError?: (code: string) => void;
  log?: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
}

export function routeTableFor(deviceIndex: number): number {
  // Primary-interface addresses use the main table; secondary interface n uses table n+1 (as the AWS VPC CNI does).
  return deviceIndex > 0 ? deviceIndex + 1 : 0;
}

export class ApiHandler {
  constructor(private readonly d: HandlerDeps) {}

  async handle(req: Request): Promise<Response> {
    try {
      switch (req.op) {
        case 'hello':
          return { ok: true, protocol: PROTOCOL_VERSION, version: this.d.version };
        case 'status':
          return { ok: true, status: this.d.status() };
        case 'add':
          return await this.add(req);
        case 'del':
          return await this.del(req);
        case 'check':
          return await this.check(req);
        case 'gc': {
          const released = await this.d.allocator.gc(req.network, req.valid);
          for (const a of released) await this.d.plumber.tearDown(this.wiring(a)).catch(() => {});
          return { ok: true, released: released.length };
        }
      }
    } catch (err) {
      const body = errorBody(err);
      this.d.onError?.(body.code);
      return { ok: false, error: body };
    }
  }

  private async add(req: Extract<Request, { op: 'add' }>): Promise<Response> {
    const { assignment, existing } = await this.d.allocator.add(req, req.pod ?? {}, req.waitMs);
    let wired: { hostIf?: string; hostMac?: string; podMac?: string } = {};
    if (req.netns) {
      const w = { ...this.wiring(assignment), netnsPath: req.netns.path, mtu: req.netns.mtu ?? DEFAULT_MTU };
      try {
        if (existing) {
          // A repeated ADD: keep working plumbing, rebuild broken plumbing.
          const ok = await this.d.plumber.check(w).then(() => true, () => false);
          if (!ok) await this.d.plumber.tearDown(w);
          wired = ok ? { hostIf: hostVethName(w.containerId, w.ifName) } : await this.d.plumber.setUp(w);
        } else {
          wired = await this.d.plumber.setUp(w);
        }
      } catch (err) {
        if (!existing) await this.d.allocator.del(req).catch(() => {});
        throw err instanceof IpamError ? err : new NetnsError(`wiring ${req.netns.path} failed: ${(err as Error).message}`, { cause: err });
      }
    }
    return { ok: true, allocation: this.allocation(assignment, wired), existing };
  }

  private async del(req: Extract<Request, { op: 'del' }>): Promise<Response> {
    const a = this.d.datastore.find(req);
    // Tear down first: an address must not be reused while a veth still routes to it.
    await this.d.plumber.tearDown({
      containerId: req.containerId,
      ifName: req.ifName,
      netnsPath: req.netns?.path,
      ip: a?.ip ?? '',
      routeTable: a ? this.routeTableOf(a) : 0,
    });
    const released = await this.d.allocator.del(req);
    return { ok: true, released: released !== undefined };
  }

  private async check(req: Extract<Request, { op: 'check' }>): Promise<Response> {
    const a = this.d.datastore.find(req);
    if (!a) throw new IpamError('NOT_FOUND', `no address is assigned to container ${req.containerId} interface ${req.ifName}`);
    if (req.netns) await this.d.plumber.check({ ...this.wiring(a), netnsPath: req.netns.path, mtu: req.netns.mtu ?? DEFAULT_MTU });
    return { ok: true, allocation: this.allocation(a, {}), existing: true };
  }

  private routeTableOf(a: Assignment): number {
    return routeTableFor(this.d.datastore.interfaceById(a.interfaceId)?.deviceIndex ?? 0);
  }

  private wiring(a: Assignment) {
    return { containerId: a.containerId, ifName: a.ifName, ip: a.ip, routeTable: this.routeTableOf(a), netnsPath: '', mtu: DEFAULT_MTU };
  }

  private allocation(a: Assignment, wired: { hostIf?: string; hostMac?: string; podMac?: string }): Allocation {
    const nic = this.d.datastore.interfaceById(a.interfaceId);
    return {
      ip: a.ip,
      prefixLength: 32,
      gateway: POD_GATEWAY,
      interfaceId: a.interfaceId,
      deviceIndex: nic?.deviceIndex ?? 0,
      routeTable: routeTableFor(nic?.deviceIndex ?? 0),
      subnetCidr: nic?.subnetCidr ?? '',
      vpcCidrs: this.d.vpcCidrs(),
      ...(wired.hostIf ? { hostIf: wired.hostIf } : {}),
      ...(wired.hostMac ? { hostMac: wired.hostMac } : {}),
      ...(wired.podMac ? { podMac: wired.podMac } : {}),
    };
  }
}

export function errorBody(err: unknown): ErrorBody {
  if (IpamError.is(err)) {
    const retryable = err.code === 'POOL_EXHAUSTED' || ('retryable' in err && (err as { retryable: boolean }).retryable === true);
    const code = (err as { badVersion?: boolean }).badVersion ? 'BAD_VERSION' : err.code;
    return { code, msg: err.message, ...(retryable ? { retryable } : {}) };
  }
  return { code: 'INTERNAL', msg: (err as Error)?.message ?? String(err) };
}
