/**
 * @module kept veths
 * The host veths DEL left in place (netns/plumber.ts `keepLink`): a DEL answers once the Pod's host route and
 * rules are gone and its address is released, without waiting ~20 ms for the kernel to delete the link. The
 * runtime deletes the Pod's namespace right after DEL, which destroys the pair (as the AWS VPC CNI relies on);
 * a link still there after `graceMs` (a namespace the runtime kept) is deleted then, as that very link (by
 * index), on the plumbing worker while nothing is urgent.
 *
 * An ADD that will create a veth of the same name (the same attachment again, or a new sandbox of a Pod named
 * after it) settles the pending deletion first, so it never races the link it replaces.
 */
import type { KeptLink } from '../netns/plumber.js';

interface Entry {
  link: KeptLink;
  timer?: ReturnType<typeof setTimeout>;
  running?: Promise<void>;
}

/** Long enough for the runtime to delete the namespace first (it does so right after DEL answers). */
export const KEPT_VETH_GRACE_MS = 1_000;

export class KeptVeths {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly remove: (link: KeptLink) => Promise<boolean>,
    private readonly graceMs = KEPT_VETH_GRACE_MS,
    private readonly log?: { warn(o: object, m?: string): void },
  ) {}

  /** Links waiting for (or in) their deletion. */
  get pending(): number {
    return this.entries.size;
  }

  keep(link: KeptLink): void {
    const id = `${link.name}#${link.index}`;
    if (this.entries.has(id)) return;
    const entry: Entry = { link };
    entry.timer = setTimeout(() => void this.run(id, entry), this.graceMs);
    entry.timer.unref?.();
    this.entries.set(id, entry);
  }

  /** Deletes now, and waits for, every pending link named `name`. Never rejects. */
  async settle(name: string): Promise<void> {
    const mine = [...this.entries].filter(([, e]) => e.link.name === name);
    await Promise.all(mine.map(([id, e]) => this.run(id, e)));
  }

  /** Deletes every pending link now (shutdown, tests). Never rejects. */
  async flush(): Promise<void> {
    await Promise.all([...this.entries].map(([id, e]) => this.run(id, e)));
  }

  private run(id: string, e: Entry): Promise<void> {
    if (e.timer) clearTimeout(e.timer);
    e.timer = undefined;
    e.running ??= this.remove(e.link)
      .then(
        () => undefined,
        // Left to the namespace's deletion; an ADD of the same name replaces it anyway (pod-wiring.ts).
        (err: unknown) =>
          this.log?.warn({ link: e.link.name, err: (err as Error).message }, 'kept host veth not deleted'),
      )
      .finally(() => {
        if (this.entries.get(id) === e) this.entries.delete(id);
      });
    return e.running;
  }
}
