/**
 * @module node Pod watch
 * A list-then-watch of the Pods bound to this node (field selector
 * `spec.nodeName=<node>`, which the API server indexes), kept as a small
 * cache of what the demand and the reaper need. Watch semantics are the
 * API server's:
 * - the watch resumes from the last resourceVersion seen (object or
 *   BOOKMARK), so a reconnect neither misses nor replays events;
 * - `410 Gone` (the version was compacted away; sent as an ERROR event, or
 *   as the HTTP status) means the cache may have missed deletions: re-list;
 * - the server ends every watch after `timeoutSeconds`; that is a normal
 *   reconnect, not an error. The timeout is jittered (×1–2, as client-go's
 *   reflector does: 5–10 min), so nodes started together do not reconnect
 *   together;
 * - a watch that has seen nothing, not even a BOOKMARK (which the server
 *   sends about every minute), for its timeout plus a margin is half-open
 *   (a dead peer behind a load balancer, a lost FIN): it is aborted and
 *   re-opened from the last resourceVersion, instead of hanging forever.
 * Errors back off exponentially (on the injected clock) up to 30 s, with
 * jitter, and never sooner than a Retry-After the server sent (a watch's
 * 429 loses its headers in client-node: then 1 s, the server's usual value).
 *
 * A Pod being deleted (`deletionTimestamp` set: MODIFIED) stays in the cache,
 * marked `deleting`, until its DELETED event: its containers may run until
 * the grace period ends, and its sandbox's address with them.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Clock } from '../util/clock.js';
import { describeError, httpStatus, jittered, retryFloorMs, type K8sApis } from './client.js';
import { CONFIG_HASH_ANNOTATION, MIRROR_POD_ANNOTATION } from './names.js';

export interface PodInfo {
  uid: string;
  namespace: string;
  name: string;
  phase: string;
  hostNetwork: boolean;
  podIP?: string;
  deleting: boolean;
  /** For a mirror Pod: the static Pod's UID, which is what the runtime passes to the CNI. */
  staticUid?: string;
}

export function podInfo(p: V1Pod): PodInfo | undefined {
  const m = p.metadata;
  if (!m?.uid || !m.name) return undefined;
  const ann = m.annotations ?? {};
  const info: PodInfo = {
    uid: m.uid,
    namespace: m.namespace ?? 'default',
    name: m.name,
    phase: p.status?.phase ?? 'Pending',
    hostNetwork: p.spec?.hostNetwork === true,
    deleting: m.deletionTimestamp !== undefined && m.deletionTimestamp !== null,
  };
  if (p.status?.podIP) info.podIP = p.status.podIP;
  if (ann[MIRROR_POD_ANNOTATION] !== undefined && ann[CONFIG_HASH_ANNOTATION])
    info.staticUid = ann[CONFIG_HASH_ANNOTATION];
  return info;
}

export interface NodePodWatchOptions {
  apis: K8sApis;
  nodeName: string;
  clock: Clock;
  log: { info(o: object, m?: string): void; warn(o: object, m?: string): void; debug?(o: object, m?: string): void };
  /** The cache changed (after a list, or an event). */
  onChange: () => void;
  /** Server-side watch lifetime before jitter (×1–2); default 300 s like client-go's reflector. */
  watchTimeoutSeconds?: number;
  /** Silence beyond the watch's timeout after which it is taken for half-open; default 30 s. */
  stallMarginMs?: number;
  /** For the jitter (tests make it deterministic). */
  random?: () => number;
}

type WatchEnd = 'closed' | 'gone' | 'error' | 'stalled';

export class NodePodWatch {
  readonly pods = new Map<string, PodInfo>();
  private rv: string | undefined;
  private stopped = false;
  private readonly stopSignal = new AbortController();
  private current: AbortController | undefined;
  private loopDone: Promise<void> | undefined;
  private listedAt: number | undefined;
  /** Why the last watch ended in error (its Retry-After, if any, bounds the backoff). */
  private lastError: unknown;
  readonly stats = { lists: 0, watches: 0, gone: 0, errors: 0, events: 0, stalls: 0 };

  constructor(private readonly o: NodePodWatchOptions) {}

  get fieldSelector(): string {
    return `spec.nodeName=${this.o.nodeName}`;
  }

  get resourceVersion(): string | undefined {
    return this.rv;
  }

  /**
   * A LIST of the node's Pods. Without `notOlderThan`: a consistent read
   * (from etcd, a quorum read on servers before 1.31). With it:
   * `resourceVersionMatch=NotOlderThan`, which the API server's watch cache
   * answers with a state at least that new: cheap, for periodic checks.
   */
  async list(o: { notOlderThan?: string } = {}): Promise<{ pods: PodInfo[]; resourceVersion: string | undefined }> {
    const { apis } = this.o;
    const fieldSelector = this.fieldSelector;
    const rv = o.notOlderThan ? { resourceVersion: o.notOlderThan, resourceVersionMatch: 'NotOlderThan' } : {};
    const res = await apis.call('list pods', () => apis.core.listPodForAllNamespaces({ fieldSelector, ...rv }));
    this.stats.lists++;
    const pods = res.items.map(podInfo).filter((p): p is PodInfo => p !== undefined);
    return { pods, resourceVersion: res.metadata?.resourceVersion };
  }

  /** Lists once (retrying until it works or `stop`), then keeps watching in the background. */
  async start(): Promise<void> {
    await this.relistWithRetry();
    this.loopDone = this.loop();
  }

  /**
   * List and watch, both in the background: what ipamd uses, so that it
   * serves ADD and DEL from its checkpoint while the API server is down.
   * {@link synced} tells when the cache holds a full list.
   */
  startInBackground(): void {
    this.loopDone = this.loop();
  }

  /** A list has succeeded since start (the cache is the API server's view, not empty-for-now). */
  get synced(): boolean {
    return this.listedAt !== undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopSignal.abort();
    this.current?.abort();
    await this.loopDone;
  }

  private async relistWithRetry(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const { pods, resourceVersion } = await this.list();
        this.pods.clear();
        for (const p of pods) this.pods.set(p.uid, p);
        this.rv = resourceVersion;
        this.listedAt = this.o.clock.now();
        this.o.onChange();
        return;
      } catch (err) {
        this.stats.errors++;
        this.o.log.warn({ err: describeError(err), attempt }, "listing this node's Pods failed; retrying");
        await this.backoff(attempt, err);
      }
    }
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      if (this.rv === undefined) await this.relistWithRetry();
      if (this.stopped) break;
      const end = await this.watchOnce();
      if (end === 'gone') {
        this.stats.gone++;
        this.o.log.info({ resourceVersion: this.rv }, 'Pod watch: resourceVersion expired (410 Gone); re-listing');
        this.rv = undefined;
        failures = 0;
      } else if (end === 'error' || end === 'stalled') {
        failures++;
        await this.backoff(failures, this.lastError);
      } else failures = 0;
    }
  }

  private watchOnce(): Promise<WatchEnd> {
    const { apis, clock } = this.o;
    this.stats.watches++;
    this.lastError = undefined;
    const timeoutSeconds = Math.round(jittered(this.o.watchTimeoutSeconds ?? 300, 1, this.o.random));
    const silenceMs = timeoutSeconds * 1000 + (this.o.stallMarginMs ?? 30_000);
    return new Promise<WatchEnd>((resolve) => {
      let end: WatchEnd | undefined;
      let lastSeen = clock.now();
      const watchdog = new AbortController();
      const finish = (e: WatchEnd) => {
        if (end) return;
        end = e;
        watchdog.abort();
        this.stopSignal.signal.removeEventListener('abort', onStop);
        this.current?.abort();
        resolve(e);
      };
      // stop() must not wait for a connect that never answers (the watchdog would take the whole timeout).
      const onStop = () => finish('closed');
      this.stopSignal.signal.addEventListener('abort', onStop, { once: true });
      void (async () => {
        // Re-armed from the last event; a watch still silent past its own timeout was never going to end.
        for (let wait = silenceMs; !end; wait = lastSeen + silenceMs - clock.now()) {
          if (wait <= 0) {
            this.stats.stalls++;
            const fields = { silentMs: clock.now() - lastSeen, timeoutSeconds };
            this.o.log.warn(fields, 'Pod watch silent past its timeout: half-open, reconnecting');
            return finish('stalled');
          }
          await clock.sleep(wait, watchdog.signal).catch(() => {});
        }
      })();
      const onEvent = (type: string, obj: Record<string, unknown>) => {
        this.stats.events++;
        lastSeen = clock.now();
        if (type === 'ERROR') {
          const code = (obj as { code?: number }).code;
          if (code === 410) return finish('gone');
          this.o.log.warn({ status: obj }, 'Pod watch: error event');
          return finish('error');
        }
        const rv = (obj as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
        if (type === 'BOOKMARK') {
          if (rv) this.rv = rv;
          return;
        }
        const info = podInfo(obj as V1Pod);
        if (rv) this.rv = rv;
        if (!info) return;
        if (type === 'DELETED') this.pods.delete(info.uid);
        else if (type === 'ADDED' || type === 'MODIFIED') this.pods.set(info.uid, info);
        this.o.onChange();
      };
      const onDone = (err: unknown) => {
        if (this.stopped) return finish('closed');
        if (!err) return finish('closed');
        if (httpStatus(err) === 410 || (err as { statusCode?: number }).statusCode === 410) return finish('gone');
        this.stats.errors++;
        this.lastError = err;
        this.o.log.warn({ err: describeError(err) }, 'Pod watch ended with an error; reconnecting');
        finish('error');
      };
      apis.watch
        .watch(
          '/api/v1/pods',
          {
            fieldSelector: this.fieldSelector,
            resourceVersion: this.rv,
            allowWatchBookmarks: true,
            timeoutSeconds,
          },
          onEvent,
          onDone,
        )
        .then(
          (ac) => {
            this.current = ac;
            if (end || this.stopped) ac.abort();
          },
          (err) => onDone(err ?? new Error('watch failed')),
        );
    });
  }

  /** Exponential, "equal jitter" (half fixed, half random), at least the server's Retry-After (1 s for a 429). */
  private backoff(attempt: number, err?: unknown): Promise<void> {
    const base = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7));
    const ms = Math.max(retryFloorMs(err), jittered(base / 2, 1, this.o.random));
    return this.o.clock.sleep(ms, this.stopSignal.signal).catch(() => {});
  }
}
