/**
 * Test helper: a MemoryCheckpointer whose writes can be held at a gate and
 * made to fail, so a test can line requests up inside the window in which a
 * change is in memory but not yet on disk (the window a SIGKILL or a full
 * disk hits in production).
 */
import { CheckpointError } from '../../providers/errors.js';
import { MemoryCheckpointer, type CheckpointData } from '../../ipamd/datastore/checkpoint.js';

export class GatedCheckpointer extends MemoryCheckpointer {
  /** Writes asked for while the gate was closed that have not passed it yet. */
  held = 0;
  private gate: { wait: Promise<void>; open: () => void } | undefined;
  private failing = 0;
  // One write at a time, in call order, like the file checkpointer's chain.
  private chain: Promise<void> = Promise.resolve();

  /** Later writes wait until {@link open}. */
  hold(): void {
    let open!: () => void;
    const wait = new Promise<void>((r) => (open = r));
    this.gate = { wait, open };
  }

  open(): void {
    const g = this.gate;
    this.gate = undefined;
    g?.open();
  }

  /** The next `n` writes fail (after the gate), as on a full or read-only disk. */
  failWrites(n: number): void {
    this.failing = n;
  }

  override save(read: () => CheckpointData): Promise<void> {
    const gate = this.gate;
    if (gate) this.held++;
    const p = this.chain.then(async () => {
      if (gate) await gate.wait.finally(() => this.held--);
      // Let the previous write's caller run its rollback before this write reads the state.
      await new Promise((r) => setImmediate(r));
      if (this.failing > 0) {
        this.failing--;
        throw new CheckpointError('injected checkpoint write failure (test)');
      }
      await super.save(read);
    });
    this.chain = p.catch(() => {});
    return p;
  }
}

/** Resolves once `cond()` holds, yielding to the event loop between looks (no timers, no virtual time). */
export async function until(cond: () => boolean, what: string, maxTurns = 10_000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what}`);
}
