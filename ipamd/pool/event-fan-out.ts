/**
 * @module reconciler event fan-out
 * The reconciler has one `events` slot; the daemon, its subnet monitor and the Kubernetes integration all
 * listen. Each subscriber is handed over whole and called directly, in the order given, instead of each
 * wrapping the one before it (a chain of wrappers once re-derived "now" from `untilMs - backoff` on the way).
 */
import type { ReconcilerEvents } from './reconciler.js';

/** Every event name: adding one to ReconcilerEvents without listing it here fails the typecheck. */
const EVENT_NAMES = {
  onPlan: true,
  onActionError: true,
  onGrowthBlocked: true,
  onPoolChanged: true,
  onSync: true,
  onInterfaceAttached: true,
  onInterfaceDeleted: true,
} satisfies Record<keyof ReconcilerEvents, true>;

type Handler = (...args: unknown[]) => void;

/** One {@link ReconcilerEvents} that calls each subscriber's handler of an event, in subscriber order. */
export function fanOutEvents(subscribers: readonly ReconcilerEvents[]): ReconcilerEvents {
  const out: Partial<Record<keyof ReconcilerEvents, Handler>> = {};
  for (const name of Object.keys(EVENT_NAMES) as (keyof ReconcilerEvents)[]) {
    const handlers = subscribers.flatMap((s) => (s[name] ? [(s[name] as Handler).bind(s)] : []));
    if (handlers.length) out[name] = (...args) => handlers.forEach((h) => h(...args));
  }
  return out as ReconcilerEvents;
}
