/**
 * @module attachment lanes
 * One lane per attachment (network, container ID, interface name): ADD, DEL,
 * CHECK and GC's release of that attachment run one at a time, in arrival
 * order, each to its end (checkpoint written, Pod wired or unwired) before
 * the next starts. Lanes of different attachments run concurrently.
 *
 * Why: runtimes retry an ADD while the first is still running, and send DEL
 * while an ADD is in flight. Answered from memory, the retry was acknowledged
 * before the first ADD's write was durable (lost on a crash or a failed
 * write), and a DEL could release an address that the ADD then wired.
 *
 * A DEL also cancels the ADDs queued before it: one still waiting for the pool
 * to grow gives up at once, instead of holding the DEL for up to the ADD wait
 * (longer than the plugin's DEL timeout). An ADD that already got its address
 * finishes, and the DEL then releases it.
 */
import { keyString } from '../datastore/types.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import type { AttachmentKey } from '../../cni/contract/protocol.js';

export class AttachmentLanes {
  private readonly mutex = new KeyedMutex();
  /** Per attachment: the cancel signal shared by its ADDs that arrived since the last DEL. */
  private readonly adds = new Map<string, { ac: AbortController; users: number }>();

  /** Queues an ADD; `cancel` fires when a DEL for the same attachment arrives. */
  async add<T>(key: AttachmentKey, job: (cancel: AbortSignal) => Promise<T>): Promise<T> {
    const k = keyString(key);
    const entry = this.adds.get(k) ?? { ac: new AbortController(), users: 0 };
    entry.users++;
    this.adds.set(k, entry);
    try {
      return await this.mutex.run(k, () => job(entry.ac.signal));
    } finally {
      if (--entry.users === 0 && this.adds.get(k) === entry) this.adds.delete(k);
    }
  }

  /** Queues a DEL behind everything before it, after telling the ADDs among them that they are superseded. */
  del<T>(key: AttachmentKey, job: () => Promise<T>): Promise<T> {
    const k = keyString(key);
    const entry = this.adds.get(k);
    if (entry) {
      this.adds.delete(k); // ADDs after this DEL get a fresh signal
      entry.ac.abort();
    }
    return this.mutex.run(k, job);
  }

  /** Queues any other request on the attachment (CHECK, GC's release of it). */
  run<T>(key: AttachmentKey, job: () => Promise<T>): Promise<T> {
    return this.mutex.run(keyString(key), job);
  }

  /** Attachments with a request running or queued. */
  get busy(): number {
    return this.mutex.size;
  }
}
