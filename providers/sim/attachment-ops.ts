/**
 * @module sim attachment operations
 * Attach, modify and detach: how an interface joins and leaves an instance
 * (cloud-apis.md §1.6).
 *
 * - Attach needs a free device index on its network card and a free slot on
 *   that card (`AttachmentLimitExceeded`). Multi-card types (p4d.24xlarge:
 *   4 cards × 15 ENIs) count each card on its own, as EC2's
 *   `NetworkCards[].MaximumNetworkInterfaces` says, and device indexes are
 *   per card: AWS's P5 EFA launch examples put `DeviceIndex=1` on every card
 *   but 0. The primary interface is on card 0, device index 0, and cannot be
 *   detached.
 * - Attach and detach are immediate unless the caller (the EC2 emulator)
 *   gives a `settlesAt`: the attachment is then `attaching` or `detaching`
 *   until {@link settleTransitions} runs at or after that time. A detaching
 *   interface is still attached for every rule (device index, interface
 *   count, delete refused), as on EC2.
 */
import type { SimInstanceLimits, SimInterface } from './model.js';
import { checkAddressLimit } from './interface-ops.js';
import type { SimStore } from './store.js';

/** When an attach or detach settles: undefined for at once (the sim provider), else emulator time in ms. */
export interface Transition {
  settlesAt?: number;
}

/** How an attach is made: when it settles, and on which network card (default 0). */
export interface AttachOptions extends Transition {
  networkCardIndex?: number;
}

/** The network card an attached interface is on (absent in the record: card 0). */
export function cardOf(nic: SimInterface): number {
  return nic.attachment?.networkCardIndex ?? 0;
}

function checkCard(store: SimStore, limits: SimInstanceLimits, card: number, op: string): void {
  const cards = limits.networkCards ?? 1;
  if (!Number.isInteger(card) || card < 0 || card >= cards) {
    // UNVERIFIED wording: EC2's answer to a card the type lacks is not documented.
    const has = `${cards} card${cards > 1 ? 's' : ''}`;
    const msg = `The network card index ${card} is not valid for instance type ${limits.instanceType} (${has}).`;
    throw store.fail('invalidParameter', op, msg);
  }
}

/** AttachNetworkInterface at `deviceIndex` of card `o.networkCardIndex`; returns the attachment id. */
export function attachInterface(
  store: SimStore,
  nicId: string,
  instanceId: string,
  deviceIndex: number,
  o: AttachOptions = {},
): string {
  const op = 'AttachNetworkInterface';
  const nic = store.nic(nicId, op);
  const inst = store.instance(instanceId, op);
  const limits: SimInstanceLimits = store.instanceLimits(inst, op);
  const card = o.networkCardIndex ?? 0;
  if (nic.attachment) throw store.fail('interfaceInUse', op, `Interface: [${nic.id}] in use.`);
  if (!Number.isInteger(deviceIndex) || deviceIndex < 0) {
    throw store.fail('invalidParameter', op, `Invalid device index ${deviceIndex}`);
  }
  checkCard(store, limits, card, op);
  if (nic.vpcId !== inst.vpcId || nic.zone !== inst.zone) {
    const iface = `Interface ${nic.id} (${nic.vpcId}, ${nic.zone})`;
    const host = `instance ${inst.id} (${inst.vpcId}, ${inst.zone})`;
    throw store.fail('invalidParameter', op, `${iface} and ${host} must share VPC and zone`);
  }
  if (!limits.canCreateInterfaces) {
    throw store.fail('operationNotPermitted', op, `Interfaces cannot be attached to a running ${inst.instanceType}`);
  }
  const onCard = store.attachedTo(inst.id).filter((n) => cardOf(n) === card);
  if (onCard.some((n) => n.attachment!.deviceIndex === deviceIndex)) {
    const at = card === 0 ? `device index '${deviceIndex}'` : `device index '${deviceIndex}' of network card ${card}`;
    throw store.fail('deviceIndexInUse', op, `Instance '${inst.id}' already has an interface attached at ${at}.`);
  }
  if (onCard.length + 1 > limits.maxInterfaces) {
    const count = onCard.length + 1;
    throw store.fail('attachmentLimit', op, `Interface count ${count} exceeds the limit for ${inst.instanceType}`);
  }
  if (nic.prefixes.length > 0 && !limits.supportsPrefixes) {
    throw store.fail('invalidParameter', op, `Instance type ${inst.instanceType} does not support prefix delegation`);
  }
  checkAddressLimit(store, nic, limits, 0, op);
  const id = store.newId('eni-attach');
  nic.attachment = { id, instanceId: inst.id, deviceIndex, deleteOnTermination: false, attachedAt: store.now() };
  if (card !== 0) nic.attachment.networkCardIndex = card;
  if (o.settlesAt !== undefined) Object.assign(nic.attachment, { state: 'attaching', settlesAt: o.settlesAt });
  nic.status = 'in-use';
  return id;
}

/** ModifyNetworkInterfaceAttribute on the attachment (only deleteOnTermination is modelled). */
export function modifyAttachment(store: SimStore, nicId: string, change: { deleteOnTermination: boolean }): void {
  const op = 'ModifyNetworkInterfaceAttribute';
  const nic = store.nic(nicId, op);
  if (!nic.attachment) throw store.fail('attachmentNotFound', op, `The network interface ${nic.id} has no attachment`);
  nic.attachment.deleteOnTermination = change.deleteOnTermination;
}

/**
 * DetachNetworkInterface: `available` at once, or `detaching` until `settlesAt`. Detaching one already
 * detaching changes nothing (its first detach still settles when it was due).
 */
export function detachInterface(store: SimStore, nicId: string, t: Transition = {}): void {
  const op = 'DetachNetworkInterface';
  const nic = store.nic(nicId, op);
  const a = nic.attachment;
  if (!a) throw store.fail('attachmentNotFound', op, `The network interface ${nic.id} has no attachment`);
  if (a.deviceIndex === 0 && (a.networkCardIndex ?? 0) === 0) {
    const text = 'The network interface at device index 0 and networkCard index 0 cannot be detached.';
    throw store.fail('operationNotPermitted', op, text);
  }
  if (a.state === 'detaching') return;
  if (t.settlesAt !== undefined) {
    Object.assign(a, { state: 'detaching', settlesAt: t.settlesAt });
    return;
  }
  delete nic.attachment;
  nic.status = 'available';
}

/**
 * Ends every `attaching`/`detaching` due at `now`. Returns the latest `settlesAt` it applied (when the
 * last change took effect), or undefined when nothing was due.
 */
export function settleTransitions(store: SimStore, now: number): number | undefined {
  let latest: number | undefined;
  for (const nic of store.interfaces.values()) {
    const a = nic.attachment;
    if (a?.settlesAt === undefined || a.settlesAt > now) continue;
    latest = Math.max(latest ?? a.settlesAt, a.settlesAt);
    if (a.state === 'detaching') {
      delete nic.attachment;
      nic.status = 'available';
    } else {
      delete a.state;
      delete a.settlesAt;
    }
  }
  return latest;
}
