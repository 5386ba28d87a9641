/**
 * @module API handler
 * Executes one validated local-API request: the allocator decides the
 * address, the plumber wires the Pod, and each step undoes the previous one
 * when a later one fails, so a failed ADD leaves neither an assignment nor a
 * half-built veth behind. Requests for one attachment run one at a time
 * (./attachment-lanes.ts), so each answer is the whole outcome: on disk and
 * wired (or unwired), never a peer request's half-done state.
 */
import { IpamError, NetnsError } from '../../providers/errors.js';
import type { Allocator } from '../allocator.js';
import type { Datastore } from '../datastore/datastore.js';
import type { Assignment } from '../datastore/types.js';
import {
  hostVethNameFor,
  hostVethSuffixes,
  isAttachmentNamed,
  type VethKey,
  type VethNaming,
} from '../../cni/contract/veth-name.js';
import { type PodNetworkPlumber } from '../netns/plumber.js';
import { routeTableFor } from '../netns/route-table.js';
import type {
  Allocation,
  AttachmentKey,
  ErrorBody,
  PoolStatus,
  Request,
  Response,
} from '../../cni/contract/protocol.js';
import { PROTOCOL_VERSION } from '../../cni/contract/protocol.js';
import { AttachmentLanes } from './attachment-lanes.js';
import type { PodAddressHook } from './pod-address-hook.js';
import { KeptVeths } from './kept-veths.js';
import type { AlongsideWork } from '../allocator.js';
import type { PhaseRecorder, RequestCommand } from '../observability/request-phases.js';

/** A veth key with the host veth name the assignment recorded, when it has one. */
type RecordedVeth = VethKey & { hostIf?: string };

export const POD_GATEWAY = '169.254.1.1';
/** The longest a Pod teardown can run: the plumbing worker's job timeout (netns/netlink-plumber.ts). */
export const TEARDOWN_BOUND_MS = 30_000;
const DEFAULT_MTU = 9001;

export interface HandlerDeps {
  allocator: Allocator;
  datastore: Datastore;
  plumber: PodNetworkPlumber;
  vpcCidrs: () => string[];
  /** From-rule destinations of secondary-interface Pods (netns/node-network.ts `tableDestinations`). */
  tableDestinations?: () => string[];
  /** Node-wide host networking problems (SNAT, NodePort rules): CHECK fails while there are any. */
  nodeProblems?: () => Promise<string[]>;
  status: () => PoolStatus;
  version: string;
  onError?: (code: string) => void;
  /** Hears each Pod's address given and released, inside the request (ANNOTATE_POD_IP). */
  podAddresses?: PodAddressHook;
  log?: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
  /** AWS_VPC_K8S_CNI_VETHPREFIX (HostNetworkSettings.vethPrefix); absent: the attachment naming. */
  vethNaming?: VethNaming;
  /** vpc_ipam_cni_request_phase_seconds (observability/request-phases.ts). */
  phases?: PhaseRecorder;
  /** How long a DEL's kept host veth may outlive the answer before ipamd deletes it (kept-veths.ts). */
  keptVethGraceMs?: number;
}

type Wired = { hostIf?: string; hostMac?: string; podMac?: string };
type AddReq = Extract<Request, { op: 'add' }>;

/** Wall-clock ms for the phase metric. */
const now = () => performance.now();

export class ApiHandler {
  /** Serialises ADD/DEL/CHECK/GC per attachment; other attachments stay concurrent. */
  readonly lanes = new AttachmentLanes();
  /** Host veths DEL left for the namespace's deletion (kept-veths.ts). */
  readonly keptVeths: KeptVeths;

  constructor(private readonly d: HandlerDeps) {
    const remove = d.plumber.deleteKeptLink?.bind(d.plumber) ?? (async () => false);
    this.keptVeths = new KeptVeths(remove, d.keptVethGraceMs, d.log);
  }

  async handle(req: Request): Promise<Response> {
    const t0 = now();
    const res = await this.dispatch(req, (cmd) => this.d.phases?.observe(cmd, 'queue', now() - t0));
    if (req.op === 'add' || req.op === 'del')
      this.d.phases?.observe(req.op === 'add' ? 'ADD' : 'DEL', 'total', now() - t0);
    return res;
  }

  private async dispatch(req: Request, queued: (cmd: RequestCommand) => void): Promise<Response> {
    try {
      switch (req.op) {
        case 'hello':
          return { ok: true, protocol: PROTOCOL_VERSION, version: this.d.version };
        case 'status':
          return { ok: true, status: this.d.status() };
        case 'add':
          return await this.lanes.add(req, (cancel) => (queued('ADD'), this.add(req, cancel)));
        case 'del':
          return await this.lanes.del(req, () => (queued('DEL'), this.del(req)));
        case 'check':
          return await this.lanes.run(req, () => this.check(req));
        case 'gc':
          return await this.gc(req);
        case 'exec': // runs the plugin, whose requests come back here: server/socket-server.ts → plugin-host.ts
          throw new IpamError('BAD_REQUEST', 'exec is served by the socket server, not the handler');
      }
    } catch (err) {
      const body = errorBody(err);
      this.d.onError?.(body.code);
      return { ok: false, error: body };
    }
  }

  private async add(req: AddReq, cancel?: AbortSignal): Promise<Response> {
    // A target that is the host's (or ipamd's) namespace is refused before an address is taken from the pool.
    if (req.netns) await this.d.plumber.vetNetns?.(req.netns.path);
    const t0 = now();
    let assignedAt: number | undefined;
    const alongside = req.netns ? this.wireAlongside(req, req.netns, () => (assignedAt = now())) : undefined;
    const out = await this.d.allocator.add(req, req.pod ?? {}, req.waitMs, cancel, alongside);
    const { assignment, existing } = out;
    this.d.phases?.observe('ADD', 'allocate', (assignedAt ?? now()) - t0);
    if (out.durableMs !== undefined) this.d.phases?.observe('ADD', 'durability', out.durableMs);
    let wired: Wired = out.alongside ?? {};
    if (req.netns && existing) {
      const w = { ...this.wiring(assignment), netnsPath: req.netns.path, mtu: req.netns.mtu ?? DEFAULT_MTU };
      const t1 = now();
      try {
        // A repeated ADD: keep working plumbing, rebuild broken plumbing.
        const ok = await this.d.plumber.check(w).then(
          () => true,
          () => false,
        );
        if (!ok) await this.d.plumber.tearDown({ ...w, ...this.vethTarget(assignment) });
        wired = ok ? { hostIf: w.hostIf } : await this.d.plumber.setUp(w);
      } catch (err) {
        throw asNetnsError(err, req.netns.path);
      }
      this.d.phases?.observe('ADD', 'wiring', now() - t1);
    }
    await this.announce(req, assignment, existing);
    return { ok: true, allocation: this.allocation(assignment, wired), existing };
  }

  /**
   * A fresh assignment's wiring, run by the allocator beside its checkpoint write (allocator.ts AlongsideWork):
   * the ADD is answered once both are done, and either failing undoes both.
   */
  private wireAlongside(req: AddReq, netns: NonNullable<AddReq['netns']>, started: () => void): AlongsideWork<Wired> {
    return {
      run: async (a) => {
        started();
        const t1 = now();
        const w = { ...this.wiring(a), netnsPath: netns.path, mtu: netns.mtu ?? DEFAULT_MTU };
        try {
          // A DEL's kept veth of the same name goes first: the new one replaces it (kept-veths.ts).
          await this.keptVeths.settle(w.hostIf);
          return await this.d.plumber.setUp(w);
        } catch (err) {
          throw asNetnsError(err, netns.path);
        } finally {
          this.d.phases?.observe('ADD', 'wiring', now() - t1);
        }
      },
      undo: async (a) => {
        await this.d.plumber.tearDown({
          containerId: req.containerId,
          ifName: req.ifName,
          netnsPath: netns.path,
          ip: a.ip,
          routeTable: this.routeTableOf(a),
          ...this.vethTarget(a),
        });
      },
    };
  }

  /** PodAddressHook.added; when it fails, this ADD is undone (a repeated ADD's address and veth stay). */
  private async announce(req: Extract<Request, { op: 'add' }>, a: Assignment, existing: boolean): Promise<void> {
    try {
      await this.d.podAddresses?.added(a);
    } catch (err) {
      if (!existing) await this.release(req, req.netns?.path, false).catch(() => {});
      throw err;
    }
  }

  private async del(req: Extract<Request, { op: 'del' }>): Promise<Response> {
    return { ok: true, released: await this.release(req, req.netns?.path) };
  }

  /** Tears down, then releases `key`'s address (whichever it holds now). Runs in `key`'s lane. */
  private async release(key: AttachmentKey, netnsPath?: string, announce = true): Promise<boolean> {
    const a = this.d.datastore.find(key);
    // Tear down first: an address must not be reused while a veth still routes to it.
    const veth: RecordedVeth = {
      containerId: key.containerId,
      ifName: key.ifName,
      ...(a ? { pod: a.pod } : {}),
      ...(a?.hostIf ? { hostIf: a.hostIf } : {}),
    };
    // The veth itself is left for the namespace's deletion (kept-veths.ts); its route and rules go now.
    const t0 = now();
    let wiringMs = 0;
    const tearDown = async () => {
      const torn = await this.d.plumber.tearDown({
        containerId: key.containerId,
        ifName: key.ifName,
        netnsPath,
        ip: a?.ip ?? '',
        routeTable: a ? this.routeTableOf(a) : 0,
        ...this.vethTarget(veth),
        keepLink: true,
      });
      wiringMs = now() - t0;
      if (torn?.keptLink) this.keptVeths.keep(torn.keptLink);
    };
    const timing: { durableMs?: number } = {};
    // Beside the release's write only while the cooldown outlasts any teardown (a plumbing job's timeout):
    // the released address cannot be handed out, and so routed twice, before its teardown is over.
    const beside = a !== undefined && this.d.datastore.cooldownMs >= TEARDOWN_BOUND_MS;
    if (!beside) await tearDown();
    const released = (await this.d.allocator.del(key, timing, beside ? tearDown : undefined)) !== undefined;
    this.d.phases?.observe('DEL', 'wiring', wiringMs);
    this.d.phases?.observe('DEL', 'durability', timing.durableMs ?? 0);
    const d = timing.durableMs ?? 0;
    this.d.phases?.observe(
      'DEL',
      'allocate',
      Math.max(0, now() - t0 - (beside ? Math.max(wiringMs, d) : wiringMs + d)),
    );
    if (released && a && announce) await this.d.podAddresses?.released(a).catch(() => {});
    return released;
  }

  /**
   * CNI GC: releases, like a DEL each in its own lane, the attachments of the network that are not
   * in `valid`. One that was changed meanwhile (deleted, or deleted and added again) is left alone.
   * A teardown that fails keeps that address assigned and fails the GC, so the runtime retries it.
   */
  private async gc(req: Extract<Request, { op: 'gc' }>): Promise<Response> {
    let released = 0;
    const failed: Array<{ what: string; err: unknown }> = [];
    for (const a of this.d.allocator.stale(req.network, req.valid)) {
      const key: AttachmentKey = { network: a.network, containerId: a.containerId, ifName: a.ifName };
      try {
        if (await this.lanes.run(key, async () => this.d.datastore.find(key) === a && this.release(key))) released++;
      } catch (err) {
        failed.push({ what: `${a.containerId}/${a.ifName}`, err });
      }
    }
    if (failed.length) {
      const list = failed.map((f) => `${f.what}: ${(f.err as Error)?.message ?? String(f.err)}`).join('; ');
      const first = failed[0]!.err;
      const code = IpamError.is(first) ? first.code : 'INTERNAL';
      const msg = `gc released ${released}, could not release ${failed.length}: ${list}`;
      throw new IpamError(code, msg, { cause: first });
    }
    return { ok: true, released };
  }

  private async check(req: Extract<Request, { op: 'check' }>): Promise<Response> {
    const a = this.d.datastore.find(req);
    if (!a)
      throw new IpamError(
        'NOT_FOUND',
        `no address is assigned to container ${req.containerId} interface ${req.ifName}`,
      );
    const problems: string[] = [];
    if (req.netns) {
      await this.d.plumber
        .check({ ...this.wiring(a), netnsPath: req.netns.path, mtu: req.netns.mtu ?? DEFAULT_MTU })
        .catch((err: Error) => problems.push(err.message));
    }
    // A Pod whose node lost its SNAT or NodePort rules is not what ADD promised either.
    problems.push(...((await this.d.nodeProblems?.()) ?? []).map((p) => `node: ${p}`));
    if (problems.length) throw new NetnsError(problems.join('; '));
    return { ok: true, allocation: this.allocation(a, {}), existing: true };
  }

  /**
   * Resync repair of every wired Pod's policy rules (a VPC CIDR added, SNAT switched, rules flushed by
   * NetworkManager-cloud-setup): one dump to find the wrong ones, then each rewritten in its attachment's lane,
   * only if it still holds the same address. Never rejects; returns how many were repaired.
   */
  async repairPodRules(): Promise<number> {
    const plumber = this.d.plumber;
    if (!plumber.podRules) return 0;
    const all = this.d.datastore.list().map((a) => ({ a, r: this.rules(a) }));
    const wrong = await plumber
      .podRules(
        all.map((x) => x.r),
        false,
      )
      .catch(() => []);
    let repaired = 0;
    for (const w of wrong) {
      const { a, r } = all.find((x) => x.r.ip === w.ip)!;
      const key: AttachmentKey = { network: a.network, containerId: a.containerId, ifName: a.ifName };
      const ok = await this.lanes
        .run(
          key,
          async () => this.d.datastore.find(key)?.ip === a.ip && (await plumber.podRules!([r], true)).length > 0,
        )
        .catch(() => false);
      if (ok) {
        repaired++;
        this.d.log?.warn({ ip: a.ip, containerId: a.containerId, problems: w.problems }, 'Pod policy rules repaired');
      }
    }
    return repaired;
  }

  private rules(a: Assignment) {
    const tableDestinations = this.d.tableDestinations?.() ?? ['0.0.0.0/0'];
    return {
      ip: a.ip,
      routeTable: this.routeTableOf(a),
      tableDestinations,
      hostIf: this.hostIf(a),
      formerSuffixes: hostVethSuffixes(a),
    };
  }

  /** The name recorded for the attachment (an adopted aws-node Pod), else the one our naming gives. */
  private hostIf(key: RecordedVeth): string {
    return key.hostIf ?? hostVethNameFor(key, this.d.vethNaming);
  }

  /** What a teardown of `key`'s veth needs to find it and to know whether it may delete it (host-teardown.ts). */
  private vethTarget(key: RecordedVeth): { hostIf: string; podNamed?: true; formerSuffixes: string[] } {
    const hostIf = this.hostIf(key);
    return {
      hostIf,
      ...(isAttachmentNamed(hostIf, key.containerId, key.ifName) ? {} : { podNamed: true as const }),
      // A Pod wired under an earlier AWS_VPC_K8S_CNI_VETHPREFIX: found by its name's suffix.
      formerSuffixes: hostVethSuffixes(key),
    };
  }

  private routeTableOf(a: Assignment): number {
    return routeTableFor(this.d.datastore.interfaceById(a.interfaceId)?.deviceIndex ?? 0);
  }

  private wiring(a: Assignment) {
    const routeTable = this.routeTableOf(a);
    return {
      containerId: a.containerId,
      ifName: a.ifName,
      ip: a.ip,
      routeTable,
      tableDestinations: this.d.tableDestinations?.() ?? ['0.0.0.0/0'],
      netnsPath: '',
      mtu: DEFAULT_MTU,
      hostIf: this.hostIf(a),
    };
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

function asNetnsError(err: unknown, netnsPath: string): Error {
  return err instanceof IpamError
    ? err
    : new NetnsError(`wiring ${netnsPath} failed: ${(err as Error).message}`, { cause: err });
}

export function errorBody(err: unknown): ErrorBody {
  if (IpamError.is(err)) {
    const retryable =
      err.code === 'POOL_EXHAUSTED' || ('retryable' in err && (err as { retryable: boolean }).retryable === true);
    const code = (err as { badVersion?: boolean }).badVersion ? 'BAD_VERSION' : err.code;
    return { code, msg: err.message, ...(retryable ? { retryable } : {}) };
  }
  return { code: 'INTERNAL', msg: (err as Error)?.message ?? String(err) };
}
