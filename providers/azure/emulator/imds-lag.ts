/**
 * @module azure emulator IMDS lag
 * What Azure IMDS knows of the VM: the world as ARM has it, `delayMs` late on the emulator's clock (the
 * emulator kit's metadata timeline). Azure documents no figure for the lag; the knob exists so a test can put
 * the adapter behind a stale IMDS, as EC2's is seconds behind (aws/emulator/imds.ts). With no lag nothing is
 * recorded and IMDS shows the live world.
 */
import type { Clock } from '../../clock.js';
import { MetadataTimeline } from '../../emulator-kit/metadata-timeline.js';
import type { AzureWorld } from './azure-world.js';
import { imdsJson } from './json-views.js';

export class LaggedImds {
  private readonly timeline: MetadataTimeline<Record<string, unknown>>;

  constructor(
    private readonly world: AzureWorld,
    clock: Pick<Clock, 'now'>,
    private readonly delayMs: number,
    /** The VM IMDS describes (default: the first VM, looked up on each call). */
    private readonly vmName: string | undefined,
  ) {
    this.timeline = new MetadataTimeline(() => clock.now(), { min: delayMs, max: delayMs });
  }

  /** The VM IMDS answers for; undefined when the world has none. */
  vm(): string | undefined {
    return this.vmName ?? this.world.vms()[0]?.tags['azure:name'];
  }

  /** Stamps the world's latest change now (after each request and each operation's end): a lag counts from it. */
  note(): void {
    const vm = this.vm();
    if (!this.delayMs || !vm || !this.world.vm(vm)) return;
    this.timeline.note(this.world.cloud.revision, () => imdsJson(this.world, vm));
  }

  /** The instance document IMDS serves for `vm` at this moment. */
  document(vm: string): Record<string, unknown> {
    if (!this.delayMs) return imdsJson(this.world, vm);
    return this.timeline.observe(this.world.cloud.revision, () => imdsJson(this.world, vm));
  }
}
