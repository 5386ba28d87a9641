/**
 * @module NodeAddressPool
 * The cluster-scoped custom resource that carries a node's pool
 * (deploy/kustomize/base/crd-nodeaddresspool.yaml), one per node, named as
 * the Node:
 *
 * ```yaml
 * apiVersion: vpc-ipam.io/v1alpha1
 * kind: NodeAddressPool
 * metadata:
 *   name: ip-10-0-0-1.ec2.internal
 *   ownerReferences: [{ apiVersion: v1, kind: Node, name: ip-10-0-0-1.ec2.internal, uid: … }]
 * spec: {}
 * status:
 *   observedAt: "2026-01-01T00:00:00.000Z"
 *   mode: ip
 *   total: 18
 *   assigned: 3
 *   available: 15
 *   cooling: 0
 *   expectedPods: 0
 *   maxPods: 29
 *   subnets: [{ subnetId: subnet-0a, total: 18, assigned: 3, warmTarget: 4 }]
 * ```
 *
 * Why not the Node: every Node update goes to every Node watcher (kubelets'
 * informers, kube-proxy, controllers, other CNIs), and pool usage changes
 * with every Pod. This object has one writer (its ipamd) and one reader (the
 * cluster monitor), as the AWS VPC CNI's CNINode.
 *
 * How ipamd writes it ({@link AddressPoolWriter}): a merge patch of
 * `nodeaddresspools/status`, the only request at steady state. A NotFound
 * answer means the object is missing (first start on this node, or it went
 * with a Node replaced under the same name), so ipamd creates it, owned by
 * its Node as read now (the garbage collector deletes it with that Node), and
 * patches again: create cannot set a status when the status subresource is
 * on. No `blockOwnerDeletion`: the OwnerReferencesPermissionEnforcement
 * admission plugin would then ask for `update` on nodes/finalizers. No
 * read: the patch says whether the object exists. A plain-text 404 for the
 * path (client.ts `isPathNotFound`) means the CRD is not installed.
 */
import { checkNodePoolUsage, type NodePoolUsage } from '../monitor/pool-usage.js';
import { BadRequestError } from '../../providers/errors.js';
import { describeError, httpStatus, isNotFound, isPathNotFound, patchOptions, type K8sApis } from './client.js';
import { CRD_GROUP, CRD_VERSION, NAP_CRD_NAME, NAP_KIND, NAP_PLURAL } from './names.js';

/** What ipamd says (once per change of state) when the API server does not serve NodeAddressPools. */
export const NAP_CRD_NOT_INSTALLED = `CRD ${NAP_CRD_NAME} is not installed`;

/** The path parts every NodeAddressPool call names. */
export const NAP_REF = { group: CRD_GROUP, version: CRD_VERSION, plural: NAP_PLURAL } as const;

/** The node's totals, as the datastore snapshot and the agent give them. */
export interface PoolTotals {
  mode: 'ip' | 'prefix';
  total: number;
  assigned: number;
  available: number;
  cooling: number;
  expectedPods: number;
  maxPods: number;
}

export interface NodeAddressPoolStatus extends PoolTotals {
  /** RFC 3339: when the numbers were read from the datastore. */
  observedAt: string;
  subnets: Array<{ subnetId: string; total: number; assigned: number; warmTarget?: number }>;
}

/** The status to publish: the totals, and `usage` (usageFromSnapshot: one entry a subnet) without what repeats. */
export function poolStatus(usage: readonly NodePoolUsage[], t: PoolTotals, observedAt: number): NodeAddressPoolStatus {
  const subnets = usage.map((u) => ({
    subnetId: u.subnetId,
    total: u.total,
    assigned: u.assigned,
    ...(u.warmTarget !== undefined ? { warmTarget: u.warmTarget } : {}),
  }));
  return { observedAt: new Date(observedAt).toISOString(), ...t, subnets };
}

type PoolObject = { metadata?: { name?: unknown }; status?: Partial<NodeAddressPoolStatus> | null };

/**
 * A NodeAddressPool as the monitor reads it, in the monitor's shape, checked
 * by the rules the annotation is checked by (checkNodePoolUsage). Undefined:
 * no status yet (created, not published). Throws BadRequestError naming the
 * node and what was wrong; the API server's schema checks the same, but an
 * object may have been stored under an older CRD.
 */
export function usageFromAddressPool(
  obj: unknown,
): { node: string; usage: NodePoolUsage[]; observedAt: number } | undefined {
  const o = obj as PoolObject | null;
  const node = typeof o?.metadata?.name === 'string' ? o.metadata.name : '';
  const what = `${NAP_KIND}/${node || '?'} status`;
  if (!node) throw new BadRequestError(`${what}: no metadata.name`);
  const st = o?.status;
  if (!st || typeof st !== 'object') return undefined;
  const observedAt = typeof st.observedAt === 'string' ? Date.parse(st.observedAt) : NaN;
  if (!Number.isFinite(observedAt)) {
    throw new BadRequestError(`node ${node}: ${what} observedAt is not a time: ${JSON.stringify(st.observedAt)}`);
  }
  if (!Array.isArray(st.subnets)) throw new BadRequestError(`node ${node}: ${what} subnets is not a list`);
  // Known fields only: a newer CRD may add some, which must not make the whole node invalid here.
  const raw = st.subnets.map((s) => {
    const e = (s ?? {}) as Partial<NodePoolUsage>;
    const warm = e.warmTarget !== undefined ? { warmTarget: e.warmTarget } : {};
    const mode = st.mode !== undefined ? { mode: st.mode } : {};
    return { node, subnetId: e.subnetId, total: e.total, assigned: e.assigned, ...warm, ...mode, observedAt };
  });
  return { node, usage: checkNodePoolUsage(raw, node, what), observedAt };
}

export interface AddressPoolWriterOptions {
  apis: K8sApis;
  nodeName: string;
  /** The Node's uid as the API server has it now (a create must not name a Node replaced since start). */
  ownerUid: () => Promise<string | undefined>;
}

export class AddressPoolWriter {
  readonly stats = { patches: 0, creates: 0 };

  constructor(private readonly o: AddressPoolWriterOptions) {}

  /** Publishes `status`; creates the object first when it is missing. 'crd-missing': nothing serves the type. */
  async write(status: NodeAddressPoolStatus): Promise<'written' | 'crd-missing'> {
    try {
      await this.patchStatus(status);
      return 'written';
    } catch (err) {
      if (isPathNotFound(err)) return 'crd-missing';
      if (!isNotFound(err)) throw err;
    }
    const created = await this.create();
    if (created === 'crd-missing') return created;
    await this.patchStatus(status);
    return 'written';
  }

  private async patchStatus(status: NodeAddressPoolStatus): Promise<void> {
    const { apis, nodeName } = this.o;
    const req = { ...NAP_REF, name: nodeName, body: { status } };
    await apis.call('patch NodeAddressPool status', () =>
      apis.custom.patchClusterCustomObjectStatus(req, patchOptions('merge')),
    );
    this.stats.patches++;
  }

  private async create(): Promise<'created' | 'crd-missing'> {
    const { apis, nodeName } = this.o;
    const uid = await this.o.ownerUid();
    // Without an owner nothing would delete it with the Node: better no object than an orphan per old node.
    if (!uid) throw new Error(`not creating ${NAP_KIND}/${nodeName}: the Node's uid is not known`);
    const body = {
      apiVersion: `${CRD_GROUP}/${CRD_VERSION}`,
      kind: NAP_KIND,
      metadata: { name: nodeName, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid }] },
      spec: {},
    };
    try {
      await apis.call('create NodeAddressPool', () => apis.custom.createClusterCustomObject({ ...NAP_REF, body }));
      this.stats.creates++;
      return 'created';
    } catch (err) {
      if (isPathNotFound(err)) return 'crd-missing';
      // Created meanwhile (a previous attempt that timed out after the server stored it): patch that one.
      if (httpStatus(err) === 409) return 'created';
      throw new Error(`cannot create ${NAP_KIND}/${nodeName}: ${describeError(err)}`, { cause: err });
    }
  }
}
