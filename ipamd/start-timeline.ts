/**
 * @module start timeline
 * When each step of a start happened (epoch ms on the daemon's clock), and when the first cloud call completed:
 * the order a restart promises (DEL and repeated ADD served before any cloud answer) is visible in the log line
 * "ipamd ready", on /v1/startup, and in `npm run bench:startup`, instead of being inferred from totals.
 */
import type { CallObserver } from './cloud/cloud-caller.js';

export type StartStep =
  /** The process began (run.ts: now − process.uptime()). */
  | 'process'
  /** run.ts entered startDaemon: node modules loaded, configuration parsed. */
  | 'config'
  /** The provider is built (its module and SDK loaded, the instance identity read from metadata). */
  | 'provider'
  /** The node's interfaces and limits are known: from the node cache, or from the cloud. */
  | 'node'
  /** The checkpoint is loaded, verified and restored over the node. */
  | 'checkpoint'
  /** The plugin socket and the HTTP endpoints listen: ready. */
  | 'serving'
  /** The cloud's own view of the node is applied (new addresses may be handed out). */
  | 'cloud'
  /** The first pool tick (the first fill) is done. */
  | 'filled';

export class StartTimeline {
  private readonly at: Partial<Record<StartStep, number>> = {};
  private firstCloudAnswer: number | undefined;

  constructor(private readonly now: () => number) {}

  /** The first time only: a later repeat (a second resync) is no start step. */
  mark(step: StartStep, at = this.now()): void {
    this.at[step] ??= at;
  }

  /** Wraps the cloud caller's observer: the first attempt that completes (answer or error) is recorded. */
  observe(inner: CallObserver): CallObserver {
    return {
      onStart: (op) => inner.onStart?.(op),
      onAttempt: (op, result, seconds, err) => {
        this.firstCloudAnswer ??= this.now();
        inner.onAttempt(op, result, seconds, err);
      },
    };
  }

  /** Epoch ms of each step so far, and `firstCloudCall`; with `sinceProcessMs`, each relative to the process. */
  view(): {
    steps: Partial<Record<StartStep, number>>;
    firstCloudCall?: number;
    sinceProcessMs: Record<string, number>;
  } {
    const origin = this.at.process;
    const rel: Record<string, number> = {};
    if (origin !== undefined) {
      for (const [k, v] of Object.entries(this.at)) if (k !== 'process') rel[k] = v - origin;
      if (this.firstCloudAnswer !== undefined) rel.firstCloudCall = this.firstCloudAnswer - origin;
    }
    return {
      steps: { ...this.at },
      ...(this.firstCloudAnswer !== undefined ? { firstCloudCall: this.firstCloudAnswer } : {}),
      sinceProcessMs: rel,
    };
  }
}
