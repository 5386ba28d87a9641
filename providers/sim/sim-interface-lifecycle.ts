/**
 * @module sim interface lifecycle
 * {@link SimInterfaceLifecycle}: how a {@link SimProvider} makes and removes an interface, with the calls and
 * waits the AWS adapter makes (providers/aws/eni-lifecycle.ts): create, attach, DeleteOnTermination, the
 * metadata wait; detach, wait for the detach, delete. A failed step of a create undoes the earlier ones,
 * retrying each undo step a few times; what it still cannot undo goes to the leak reclaim (`abandon`).
 */
import { CloudError } from '../errors.js';
import type { NetworkInterface } from '../types.js';
import type { SimCloud } from './cloud.js';
import type { CreateInterfaceOptions } from './interface-ops.js';
import { DELETE_ATTEMPTS, type SimRealism } from './realism.js';
import { isNotFound, type SimCalls } from './sim-calls.js';
import type { SimClock } from './time.js';
import { toNetworkInterface } from './views.js';

/** Attempts of one undo step before it is left to the leak reclaim. */
const UNDO_ATTEMPTS = 3;

export interface SimInterfaceLifecycleOptions {
  cloud: SimCloud;
  clock: SimClock;
  realism: SimRealism;
  calls: SimCalls;
  /** The node the interfaces are attached to. */
  instanceId: string;
  /** Hands an interface an undo could not remove to the leak reclaim. */
  abandon: (interfaceId: string) => void;
}

export class SimInterfaceLifecycle {
  constructor(private readonly o: SimInterfaceLifecycleOptions) {}

  /** Create → attach → DeleteOnTermination → metadata wait; a failed step undoes the earlier ones. */
  async createAndAttach(opts: CreateInterfaceOptions): Promise<NetworkInterface> {
    const { calls, cloud, clock, realism } = this.o;
    const nic = await calls.call('CreateNetworkInterface', () => cloud.createInterface(opts));
    realism.changed(nic.id);
    try {
      // The device index is chosen when the attach lands, so concurrent creates cannot collide.
      await calls.byId('AttachNetworkInterface', nic.id, () => cloud.attachInterface(nic.id, this.o.instanceId));
    } catch (err) {
      await this.undo(nic.id, false);
      throw err;
    }
    realism.changed(nic.id);
    const attachedAt = clock.now();
    try {
      const change = { deleteOnTermination: true };
      await calls.byId('ModifyNetworkInterfaceAttribute', nic.id, () => cloud.modifyAttachment(nic.id, change));
    } catch (err) {
      await this.undo(nic.id, true);
      throw err;
    }
    // Metadata shows the interface its propagation lag after the attach; the Modify call overlaps that wait.
    const wait = attachedAt + realism.propagationMs() - clock.now();
    if (wait > 0) await clock.sleep(wait);
    const now = cloud.getInterface(nic.id);
    return toNetworkInterface(now, cloud.getSubnet(now.subnetId).cidr);
  }

  /** Detaches (if attached to this node) and deletes; an interface already gone is success. */
  async deleteInterface(interfaceId: string): Promise<void> {
    const { calls, cloud } = this.o;
    const nic = calls.peek(interfaceId);
    if (!nic) return;
    if (nic.attachment && nic.attachment.instanceId !== this.o.instanceId) {
      throw cloud.makeError(
        'interfaceInUse',
        'DetachNetworkInterface',
        `Interface ${interfaceId} is attached to another instance (${nic.attachment.instanceId})`,
      );
    }
    if (nic.attachment) {
      const gone = await calls.call('DetachNetworkInterface', () => {
        try {
          this.detachNow(interfaceId);
          return false;
        } catch (err) {
          // Interface gone, or already detached by someone else: nothing left to detach.
          if (isNotFound(err)) return calls.peek(interfaceId) === undefined;
          throw err;
        }
      });
      if (gone) return;
      await this.awaitDetached(interfaceId);
    }
    await this.deleteWhenDetached(interfaceId);
  }

  /** Reverses a half-made interface; what cannot be undone now is left to the leak reclaim. Never throws. */
  private async undo(nicId: string, attached: boolean): Promise<void> {
    const detach = async () => {
      await this.o.calls.call('DetachNetworkInterface', () => this.detachNow(nicId));
      await this.awaitDetached(nicId);
    };
    const detached = !attached || (await this.undoStep(detach));
    const deleted = detached && (await this.undoStep(() => this.deleteWhenDetached(nicId)));
    if (!deleted) this.o.abandon(nicId);
  }

  /** DetachNetworkInterface on the model: done at once, or `detaching` for the profile's settle time. */
  private detachNow(nicId: string): void {
    this.o.cloud.detachInterface(nicId, this.o.realism.detachTransition());
  }

  /** Waits for a detach to finish, reading the interface as the AWS adapter does (a filtered describe). */
  private awaitDetached(id: string): Promise<void> {
    const { calls } = this.o;
    const read = () => calls.call('DescribeNetworkInterfaces', () => calls.peek(id)?.attachment !== undefined);
    return this.o.realism.awaitDetached(read);
  }

  /**
   * DeleteNetworkInterface, tried again while the interface is still detaching ("is currently in use"), with
   * the AWS adapter's backoff (realism.ts). NotFound is success: the interface is gone.
   */
  private async deleteWhenDetached(id: string): Promise<void> {
    const { calls, cloud, realism } = this.o;
    for (let attempt = 1; ; attempt++) {
      try {
        await calls.byId('DeleteNetworkInterface', id, () => cloud.deleteInterface(id));
        break;
      } catch (err) {
        if (isNotFound(err)) break;
        if (calls.peek(id)?.attachment?.state !== 'detaching' || attempt >= DELETE_ATTEMPTS) throw err;
        await this.o.clock.sleep(realism.deleteBackoffMs(attempt));
      }
    }
    realism.forget(id);
  }

  /**
   * One undo step, retried while the cloud says it may work later; false when
   * it did not (the caller's error is the original one, not this).
   */
  private async undoStep(step: () => Promise<void>): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await step();
        return true;
      } catch (err) {
        if (isNotFound(err)) return true; // already gone
        if (!(CloudError.isCloud(err) && err.retryable) || attempt >= UNDO_ATTEMPTS) return false;
        await this.o.clock.sleep(200 * attempt);
      }
    }
  }
}
