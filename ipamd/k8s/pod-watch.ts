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
 *   reconnect, not an error.
 * Errors back off exponentially (on the injected clock) up to 30 s.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Clock } from '../util/clock.js';
import { describeError, httpStatus, type K8sApis } from './client.js';
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
  if (ann[MIRROR_POD_ANNOTATION] !== undefined && ann[CONFIG_HASH_ANNOTATION]) info.staticUid = ann[CONFIG_HASH_ANNOTATION];
  return info;
}

export interface NodePodWatchOptions {
  apis: K8sApis;
  nodeName: string;
  clock: Clock;
  log: { info(o: object, m?: string): void; warn(o: object, m?: string): void; debug?(o: object, m?: string): void };
  /** The cache changed (after a list, or an event). */
  onChange: () => void;
  /** Server-side watch lifetime; default 300 s like client-go's reflector (which jitters 5-10 min). */
  watchTimeoutSeconds?: number;
}

type WatchEnd = 'closed' | 'gone' | 'error';

export class NodePodWatch {
  readonly pods = new Map<string, PodInfo>();
  private rv: string | undefined;
  private stopped = false;
  private readonly stopSignal = new AbortController();
  private current: AbortController | undefined;
  private loopDone: Promise<void> | undefined;
  readonly stats = { lists: 0, watches: 0, gone: 0, errors: 0, events: 0 };

  constructor(private readonly o: NodePodWatchOptions) {}

  get fieldSelector(): string {
    return `spec.nodeName=${this.o.nodeName}`;
  }

  get resourceVersion(): string | undefined {
    return this.rv;
  }

  /** A fresh, consistent LIST (no resourceVersion: read from the API server's storage, not its cache). */
  async list(): Promise<{ pods: PodInfo[]; resourceVersion: string | undefined }> {
    const { apis } = this.o;
    const res = await apis.call('list pods', () => apis.core.listPodForAllNamespaces({ fieldSelector: this.fieldSelector }));
    this.stats.lists++;
    const pods = res.items.map(podInfo).filter((p): p is PodInfo => p !== undefined);
    return { pods, resourceVersion: res.metadata?.resourceVersion };
  }

  /** Lists once (retrying until it works or `stop`), then keeps watching in the background. */
  async start(): Promise<void> {
    await this.relistWithRetry();
    this.loopDone = this.loop();
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
        this.o.onChange();
        return;
      } catch (err) {
        this.stats.errors++;
        this.o.log.warn({ err: describeError(err), attempt }, 'listing this node\'s Pods failed; retrying');
        await this.backoff(attempt);
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
      } else if (end === 'error') {
        failures++;
        await this.backoff(failures);
      } else failures = 0;
    }
  }

  private watchOnce(): Promise<WatchEnd> {
    const { apis } = this.o;
    this.stats.watches++;
    return new Promise<WatchEnd>((resolve) => {
      let end: WatchEnd | undefined;
      const finish = (e: WatchEnd) => {
        if (end) return;
        end = e;
        this.current?.abort();
        resolve(e);
      };
      const onEvent = (type: string, obj: Record<string, unknown>) => {
        this.stats.events++;
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
            timeoutSeconds: this.o.watchTimeoutSeconds ?? 300,
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

  private backoff(attempt: number): Promise<void> {
    const ms = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7));
    return this.o.clock.sleep(ms, this.stopSignal.signal).catch(() => {});
  }
}
