/**
 * @module gce emulator metadata lag
 * What the metadata server knows of each node: its tree as Compute has it, `delayMs` late on the emulator's
 * clock (the emulator kit's metadata timeline), so a new alias range shows in `ip-aliases` after
 * `instances.get` has it. Google publishes no figure for the lag; with none (the default) nothing is recorded
 * and the metadata server shows the live cloud.
 */
import type { Clock } from '../../clock.js';
import { MetadataTimeline } from '../../emulator-kit/metadata-timeline.js';
import type { GceNode, GceView } from './gce-view.js';
import { metadataTree, type MetadataTree } from './metadata-api.js';

export class LaggedMetadata {
  private readonly timelines = new Map<string, MetadataTimeline<MetadataTree>>();

  constructor(
    private readonly view: GceView,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly delayMs: number,
  ) {}

  /** Stamps the cloud's latest change now (after each request and each operation that lands). */
  note(): void {
    if (!this.delayMs) return;
    const revision = this.view.cloud.revision;
    for (const n of this.view.nodes()) this.timeline(n.name).note(revision, () => metadataTree(this.view, n));
  }

  /** The tree the metadata server serves for `n` at this moment. */
  tree(n: GceNode): MetadataTree {
    if (!this.delayMs) return metadataTree(this.view, n);
    return this.timeline(n.name).observe(this.view.cloud.revision, () => metadataTree(this.view, n));
  }

  private timeline(name: string): MetadataTimeline<MetadataTree> {
    let t = this.timelines.get(name);
    if (!t) {
      t = new MetadataTimeline<MetadataTree>(() => this.clock.now(), { min: this.delayMs, max: this.delayMs });
      this.timelines.set(name, t);
    }
    return t;
  }
}
