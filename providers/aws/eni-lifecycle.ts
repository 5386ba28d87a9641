/**
 * @module eni lifecycle
 * Creating and deleting an ENI, the multi-call operations of the AWS
 * provider, in the VPC CNI's order (aws-vpc-cni.md §3.4, §3.5):
 *
 * create: DescribeInstances (free device index, current groups; filtered by
 * instance id, so it draws on EC2's larger non-mutating bucket) →
 * CreateNetworkInterface (tagged at creation, with its first addresses, and
 * a ClientToken that a retry of the same create reuses: create-tokens.ts) →
 * AttachNetworkInterface → ModifyNetworkInterfaceAttribute
 * (DeleteOnTermination, so a terminated node takes the ENI with it) → wait
 * until IMDS lists it. Any failure undoes what was done (detach, delete), so
 * nothing leaks; an undo that itself keeps failing is reported through
 * `onAbandoned`, and the provider's leak reclaim (`../leak-reclaim.ts`)
 * deletes the tagged, detached ENI later, as it does at start for one a
 * killed earlier run left between create and attach. The cluster-wide
 * sweep (`eni-gc.ts`) is the backstop for nodes that are gone.
 *
 * delete: DescribeNetworkInterfaces (attachment) → Detach → Delete, where
 * "not found" at any step means done, and Delete is retried with backoff
 * while EC2 still reports the ENI in use: a detach takes seconds, and until
 * it completes EC2 answers `InvalidParameterValue` "Network interface
 * 'eni-…' is currently in use." (amazon-vpc-cni-k8s#1399; errors.ts makes it
 * a ConflictError). An excluded ENI (`eni-exclusion.ts`: trunk, EFA,
 * no_manage, foreign) is refused before anything is changed.
 *
 * Attach and Modify are retried while throttled (a throttled request did
 * nothing), with jittered backoff, before the create is undone: undoing for
 * a throttle would spend Create and Delete tokens of the same account,
 * deepening the storm. Any other failure undoes at once, as before.
 *
 * Eventual consistency (visibility.ts): every call naming an ENI this
 * provider created or changed moments ago treats NotFound as "not visible
 * yet" and retries, for a bounded time. An undo never takes NotFound for
 * done: an ENI it cannot see to delete is handed to the leak reclaim, with a
 * log, like any undo that fails.
 */
import {
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DeleteNetworkInterfaceCommand,
  DescribeInstancesCommand,
  DetachNetworkInterfaceCommand,
  ModifyNetworkInterfaceAttributeCommand,
  type CreateNetworkInterfaceCommandInput,
  type NetworkInterface as Ec2Interface,
} from '@aws-sdk/client-ec2';
import type { Clock } from '../clock.js';
import { CloudUnavailableError, InvalidCloudRequestError, IpLimitError, NicLimitError } from '../errors.js';
import type { CreateInterfaceRequest, InstanceLimits, NetworkInterface } from '../types.js';
import { toNetworkInterface } from './convert.js';
import { createKey, type PendingCreates } from './create-tokens.js';
import { retryTransient, throttledOnly, type Ec2Api } from './ec2-api.js';
import { exclusionReason, type ManagePolicy } from './eni-exclusion.js';
import type { ImdsClient, InstanceIdentity } from './imds-client.js';
import { interfaceDescription, interfaceTags } from './tags.js';
import { isNotFound, untilVisible, type RecentEnis } from './visibility.js';

export interface LifecycleLog {
  warn(o: object, m?: string): void;
  error(o: object, m?: string): void;
}

export interface LifecycleDeps {
  api: Ec2Api;
  imds: ImdsClient;
  clock: Clock;
  identity: InstanceIdentity;
  attachWaitMs: number;
  clusterName?: string;
  log?: LifecycleLog;
  /** An undo could not delete this ENI: it is left, tagged, to the leak reclaim. */
  onAbandoned?: (eniId: string) => void;
  /** Which ENIs are not ipamd's to delete (eni-exclusion.ts). */
  policy: ManagePolicy;
  /** ENIs changed lately, which EC2 may not see yet (visibility.ts). */
  recent: RecentEnis;
  /** Creates whose last attempt ended without a definite answer, and the request they sent (create-tokens.ts). */
  pending: PendingCreates;
}

/** A call naming `eniId`, retried while EC2 may not see it yet. */
function byId<T>(d: LifecycleDeps, eniId: string, fn: () => Promise<T>): Promise<T> {
  return untilVisible(d.clock, d.recent, eniId, fn);
}

/** Interfaces attached to the instance on network card 0, with their device index. */
async function attachedInterfaces(d: LifecycleDeps): Promise<{ indexes: Set<number>; primaryGroups: string[] }> {
  const Filters = [{ Name: 'instance-id', Values: [d.identity.instanceId] }];
  const out = await d.api.call('DescribeInstances', (c) => c.send(new DescribeInstancesCommand({ Filters })));
  const inst = out.Reservations?.[0]?.Instances?.[0];
  if (!inst)
    throw new CloudUnavailableError({
      provider: 'aws',
      operation: 'DescribeInstances',
      cloudCode: 'MalformedResponse',
      message: `instance ${d.identity.instanceId} not in the response`,
    });
  const nics = (inst.NetworkInterfaces ?? []).filter((n) => (n.Attachment?.NetworkCardIndex ?? 0) === 0);
  const primary = nics.find((n) => n.Attachment?.DeviceIndex === 0);
  return {
    indexes: new Set(nics.map((n) => n.Attachment?.DeviceIndex ?? -1)),
    primaryGroups: (primary?.Groups ?? []).map((g) => g.GroupId ?? '').filter(Boolean),
  };
}

/** See the module comment. Throws NicLimitError without any mutating call when the node is full. */
export async function createAndAttach(
  d: LifecycleDeps,
  limits: InstanceLimits,
  subnetCidr: string,
  req: CreateInterfaceRequest,
): Promise<NetworkInterface> {
  const op = 'CreateNetworkInterface';
  const initial = req.initial && req.initial.count > 0 ? req.initial : undefined;
  if (initial && (!Number.isInteger(initial.count) || 1 + initial.count > limits.ipv4PerInterface)) {
    throw new IpLimitError({
      provider: 'aws',
      operation: op,
      cloudCode: 'PrivateIpAddressLimitExceeded',
      message:
        `${initial.count} addresses do not fit an interface of ${limits.instanceType} ` +
        `(${limits.ipv4PerInterface - 1} slots)`,
    });
  }
  if (initial?.kind === 'prefix' && !limits.supportsPrefixes) {
    throw new InvalidCloudRequestError({
      provider: 'aws',
      operation: op,
      cloudCode: 'InvalidParameterValue',
      message: `${limits.instanceType} cannot take /28 prefixes (Nitro only)`,
    });
  }
  const { indexes, primaryGroups } = await attachedInterfaces(d);
  if (indexes.size >= limits.maxInterfaces) {
    throw new NicLimitError({
      provider: 'aws',
      operation: 'AttachNetworkInterface',
      cloudCode: 'AttachmentLimitExceeded',
      message: `Interface count ${indexes.size + 1} exceeds the limit for ${limits.instanceType}`,
    });
  }
  let deviceIndex = 1;
  while (indexes.has(deviceIndex)) deviceIndex++;

  const build = (): CreateNetworkInterfaceCommandInput => ({
    SubnetId: req.subnetId,
    Description: req.description ?? interfaceDescription(d.identity.instanceId),
    Groups: req.securityGroups?.length
      ? req.securityGroups
      : primaryGroups.length
        ? primaryGroups
        : d.identity.securityGroups,
    TagSpecifications: [
      {
        ResourceType: 'network-interface',
        Tags: Object.entries(
          interfaceTags({
            instanceId: d.identity.instanceId,
            createdAt: d.clock.now(),
            clusterName: d.clusterName,
            extra: req.tags,
          }),
        ).map(([Key, Value]) => ({ Key, Value })),
      },
    ],
    ...(initial?.kind === 'ip' ? { SecondaryPrivateIpAddressCount: initial.count } : {}),
    ...(initial?.kind === 'prefix' ? { Ipv4PrefixCount: initial.count } : {}),
  });
  const key = createKey(req);
  const input = d.pending.input(key, build);
  // What was asked decides what EC2's generic "no room" answer means (errors.ts).
  const asked = { addresses: initial?.kind ?? 'ip' } as const;
  const create = new CreateNetworkInterfaceCommand(input);
  let created;
  try {
    created = (await d.api.call(op, (c) => c.send(create), asked)).NetworkInterface;
  } catch (err) {
    d.pending.ended(key, input, err);
    throw err;
  }
  d.pending.ended(key, input);
  const eniId = created?.NetworkInterfaceId;
  if (!created || !eniId)
    throw new CloudUnavailableError({
      provider: 'aws',
      operation: op,
      cloudCode: 'MalformedResponse',
      message: 'no NetworkInterface in the response',
    });
  d.recent.touch(eniId);

  let attachmentId: string | undefined;
  try {
    const target = { InstanceId: d.identity.instanceId, DeviceIndex: deviceIndex, NetworkCardIndex: 0 };
    const attach = new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eniId, ...target });
    const sendAttach = () => d.api.call('AttachNetworkInterface', (c) => c.send(attach));
    const att = await byId(d, eniId, () => retryTransient(d.clock, sendAttach, { retry: throttledOnly }));
    attachmentId = att.AttachmentId;
    if (!attachmentId)
      throw new CloudUnavailableError({
        provider: 'aws',
        operation: 'AttachNetworkInterface',
        cloudCode: 'MalformedResponse',
        message: 'no AttachmentId in the response',
      });
    d.recent.touch(eniId);
    const Attachment = { AttachmentId: attachmentId, DeleteOnTermination: true };
    const modify = new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eniId, Attachment });
    const sendModify = () => d.api.call('ModifyNetworkInterfaceAttribute', (c) => c.send(modify));
    await byId(d, eniId, () => retryTransient(d.clock, sendModify, { retry: throttledOnly }));
    await waitUntilVisible(d, created.MacAddress ?? '', eniId);
  } catch (err) {
    await undo(d, eniId, attachmentId, err);
    throw err;
  }
  const iface = toNetworkInterface(created, subnetCidr, deviceIndex);
  // Only caller tags could make a new ENI excluded (a no_manage tag); say so, as describeNode would.
  const why = exclusionReason(created, d.policy);
  return why ? { ...iface, excluded: why } : iface;
}

/** Polls IMDS until it lists the ENI (doubling from 100 ms to 2 s), up to `attachWaitMs`. */
async function waitUntilVisible(d: LifecycleDeps, mac: string, eniId: string): Promise<void> {
  const deadline = d.clock.now() + d.attachWaitMs;
  let delay = 100;
  let last = 'not listed';
  for (;;) {
    try {
      const macs = await d.imds.list('network/interfaces/macs/');
      if (macs.includes(mac)) {
        const id = (await d.imds.metaData(`network/interfaces/macs/${mac}/interface-id`))?.trim();
        if (id === eniId) return;
        last = `MAC ${mac} shows ${id ?? 'no interface id'}`;
      }
    } catch (err) {
      last = (err as Error).message; // IMDS hiccup: keep polling until the deadline
    }
    const left = deadline - d.clock.now();
    if (left <= 0) {
      throw new CloudUnavailableError({
        provider: 'aws',
        operation: 'AttachNetworkInterface',
        cloudCode: 'ImdsAttachTimeout',
        message: `${eniId} (${mac}) not visible in instance metadata after ${d.attachWaitMs} ms: ${last}`,
      });
    }
    await d.clock.sleep(Math.min(delay, left));
    delay = Math.min(delay * 2, 2_000);
  }
}

/**
 * Best-effort reversal of a half-made ENI; never throws (the caller rethrows the original error). The ENI
 * exists (we made it), so NotFound is EC2 not seeing it yet, not success: past the visibility wait it is
 * handed to the leak reclaim like any other failed undo.
 */
async function undo(d: LifecycleDeps, eniId: string, attachmentId: string | undefined, cause: unknown): Promise<void> {
  try {
    if (attachmentId) {
      await detach(d, attachmentId);
      await awaitDetached(d, eniId);
    }
    await deleteWithRetry(d, eniId, 10, { justCreated: true });
  } catch (err) {
    d.onAbandoned?.(eniId);
    const why = { eniId, err: (err as Error).message, cause: (cause as Error).message };
    d.log?.error(why, 'could not undo a half-created ENI; the leak reclaim will delete it (it is tagged)');
  }
}

async function detach(d: LifecycleDeps, attachmentId: string): Promise<void> {
  try {
    await retryTransient(d.clock, () =>
      d.api.call('DetachNetworkInterface', (c) =>
        c.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachmentId })),
      ),
    );
  } catch (err) {
    if (!isNotFound(err)) throw err; // already detached
  }
}

export interface DeleteOptions {
  /** An undo's delete of the ENI it just made: NotFound is EC2 not seeing it yet, never "already gone". */
  justCreated?: boolean;
}

/**
 * DeleteNetworkInterface, retried with backoff (500 ms doubling to 5 s) while throttled or still in use
 * (detaching takes seconds), and while EC2 may not see a recently changed ENI yet. Not-found is success,
 * except with `justCreated` (an undo): then the ENI exists and the NotFound is thrown. The leak reclaim
 * passes `attempts` 1: it must not hold the daemon's start, and its next pass retries anyway.
 */
export async function deleteWithRetry(
  d: LifecycleDeps,
  id: string,
  attempts = 10,
  o: DeleteOptions = {},
): Promise<void> {
  const input = { NetworkInterfaceId: id };
  const del = () => d.api.call('DeleteNetworkInterface', (c) => c.send(new DeleteNetworkInterfaceCommand(input)));
  try {
    await byId(d, id, () => retryTransient(d.clock, del, { attempts, baseMs: 500 }));
  } catch (err) {
    if (!isNotFound(err) || o.justCreated) throw err;
  }
  d.recent.forget(id); // deleted: a later NotFound naming it is not EC2 lagging
}

/** Detaches (if attached to this instance) and deletes an ENI. Not-found is success. */
export async function detachAndDelete(d: LifecycleDeps, eniId: string): Promise<void> {
  let nic;
  try {
    [nic] = await byId(d, eniId, () => d.api.describeInterfaces({ NetworkInterfaceIds: [eniId] }));
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  if (!nic) return;
  const att = nic.Attachment;
  if (att?.AttachmentId && att.InstanceId && att.InstanceId !== d.identity.instanceId) {
    throw new InvalidCloudRequestError({
      provider: 'aws',
      operation: 'DetachNetworkInterface',
      cloudCode: 'InvalidNetworkInterface.InUse',
      message: `${eniId} is attached to ${att.InstanceId}, not to this node`,
    });
  }
  if (att?.DeviceIndex === 0) {
    throw new InvalidCloudRequestError({
      provider: 'aws',
      operation: 'DetachNetworkInterface',
      cloudCode: 'OperationNotPermitted',
      message: `${eniId} is the node's primary interface`,
    });
  }
  // The last guard before a Detach: a trunk, EFA, no_manage or foreign ENI is never ipamd's to remove,
  // whatever the caller's view of it (a stale inventory, a tag added since).
  const excluded = exclusionReason(nic, d.policy);
  if (excluded) {
    const message = `${eniId} is not managed by ipamd (${excluded}); not deleting it`;
    const op = 'DetachNetworkInterface';
    throw new InvalidCloudRequestError({ provider: 'aws', operation: op, cloudCode: 'OperationNotPermitted', message });
  }
  if (att?.AttachmentId) {
    const aid = att.AttachmentId;
    try {
      await d.api.call('DetachNetworkInterface', (c) =>
        c.send(new DetachNetworkInterfaceCommand({ AttachmentId: aid })),
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await awaitDetached(d, eniId);
  }
  await deleteWithRetry(d, eniId);
}

/**
 * Waits until a detach ipamd started has finished (EC2 keeps the ENI `in-use`, its attachment `detaching`, for
 * seconds), reading it through DescribeNetworkInterfaces with a filter: that takes from EC2's non-mutating
 * bucket (100, refilled 20 a second), where every premature Delete would spend a token of the account's
 * DeleteNetworkInterface bucket (100, refilled 5 a second) on "is currently in use". Bounded at about 15 s; a
 * failed read only ends the wait, and the delete's own retry covers whatever is left.
 */
async function awaitDetached(d: LifecycleDeps, eniId: string): Promise<void> {
  const Filters = [{ Name: 'network-interface-id', Values: [eniId] }];
  for (let spent = 0; spent <= 15_000;) {
    let nic: Ec2Interface | undefined;
    try {
      [nic] = await d.api.describeInterfaces({ Filters });
    } catch {
      return;
    }
    if (!nic?.Attachment || nic.Status === 'available') return;
    const delay = spent < 5_000 ? 1_000 : 5_000;
    await d.clock.sleep(delay);
    spent += delay;
  }
}
