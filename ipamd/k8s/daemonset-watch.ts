/**
 * @module own DaemonSet watch
 * Why: `kubectl delete -f` of the whole install deletes the ServiceAccount,
 * Roles and bindings within the same second as the DaemonSet. By the time
 * the kubelet sends SIGTERM, ipamd's token is refused (401) or its rules are
 * gone (403), so the read at stop (uninstall.ts) cannot tell an uninstall
 * from a restart and keeps the conflist: every node stays Ready with a CNI
 * nobody serves. A watch authenticates and is authorised once, when it is
 * opened; an open stream keeps delivering after its credentials are revoked.
 * So ipamd watches its own DaemonSet from start and remembers a deletion it
 * saw, for the decision at SIGTERM.
 *
 * RBAC: the Role grants `watch` only with `resourceNames: [vpc-ipam-node]`;
 * the API server authorises a collection watch as a request for one name
 * only when it carries `fieldSelector=metadata.name=<name>`, which is how
 * this watch is opened. No `list`: a watch without a resourceVersion starts
 * with the current object as a synthetic ADDED event.
 *
 * What counts as an uninstall: a DELETED event, or the object with a
 * deletionTimestamp (foreground deletion: `foregroundDeletion` finalizer).
 * Not: a deletion with the `orphan` finalizer (`--cascade=orphan`, then
 * usually a re-create that adopts the Pods), nor a deletion followed by a
 * DaemonSet of that name with another UID (re-created: its Pod will serve).
 */
import type { Clock } from '../util/clock.js';
import { describeError, httpStatus, jittered, retryFloorMs, type K8sApis } from './client.js';
import { daemonSetOwner } from './uninstall.js';

export interface OwnDaemonSetWatchOptions {
  apis: K8sApis;
  namespace: string;
  podName: string;
  clock: Clock;
  log: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
  /** Server-side watch lifetime before jitter (×1–2); long, so a reconnect rarely falls between the deletions. */
  watchTimeoutSeconds?: number;
  /** Silence past the timeout after which the stream is taken for half-open. */
  stallMarginMs?: number;
  random?: () => number;
}

interface DsMeta {
  name?: string;
  uid?: string;
  resourceVersion?: string;
  deletionTimestamp?: string | Date | null;
  finalizers?: string[];
}

export class OwnDaemonSetWatch {
  /** The DaemonSet that owns our Pod, once our Pod has been read. */
  owner: string | undefined;
  /** Set when the watch saw our DaemonSet deleted or being deleted (not orphaning, not re-created since). */
  deletion: string | undefined;
  readonly stats = { watches: 0, events: 0, errors: 0, stalls: 0 };
  private rv: string | undefined;
  /** The UID of the deleted DaemonSet: another UID under the name is a re-create. */
  private deletedUid: string | undefined;
  private readonly orphaned = new Set<string>();
  private readonly stopper = new AbortController();
  private current: AbortController | undefined;
  private loopDone: Promise<void> | undefined;
  private warnedRbac = false;

  constructor(private readonly o: OwnDaemonSetWatchOptions) {}

  start(): void {
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    this.current?.abort();
    await this.loopDone;
  }

  private get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped && this.owner === undefined) {
      const r = await this.readOwner().catch((err: unknown) => {
        this.noteError('cannot read own Pod to find its DaemonSet yet', err, failures);
        return 'retry' as const;
      });
      if (r === 'none') return;
      if (r === 'retry') await this.backoff(++failures);
    }
    failures = 0;
    while (!this.stopped) {
      const err = await this.watchOnce();
      if (err === undefined) failures = 0;
      else {
        this.noteError('DaemonSet watch ended with an error; reconnecting', err, failures);
        await this.backoff(++failures, err);
      }
    }
  }

  /** Our Pod's controlling DaemonSet; 'none' when there is none (not run by a DaemonSet: nothing to watch). */
  private async readOwner(): Promise<'found' | 'none'> {
    const { apis, namespace, podName } = this.o;
    const pod = await apis.call('read own pod', () => apis.core.readNamespacedPod({ name: podName, namespace }));
    const ref = daemonSetOwner(pod);
    if (!ref) {
      this.o.log.info({ pod: `${namespace}/${podName}` }, 'own Pod has no DaemonSet owner: not watching for uninstall');
      return 'none';
    }
    this.owner = ref.name;
    return 'found';
  }

  private onObject(type: string, m: DsMeta): void {
    const ns = this.o.namespace;
    const uid = m.uid ?? '';
    if (m.resourceVersion) this.rv = m.resourceVersion;
    const deleting = m.deletionTimestamp !== undefined && m.deletionTimestamp !== null;
    if (deleting && m.finalizers?.includes('orphan')) this.orphaned.add(uid);
    if (this.orphaned.has(uid)) return;
    if (type === 'DELETED') {
      this.remember(uid, `the watch saw DaemonSet ${ns}/${this.owner} deleted`);
    } else if (deleting) {
      this.remember(uid, `the watch saw DaemonSet ${ns}/${this.owner} being deleted`);
    } else if (this.deletion !== undefined && uid !== this.deletedUid) {
      // Re-created under the same name: its Pod will serve this node, so a SIGTERM now is a replacement.
      this.o.log.info({ uid }, 'own DaemonSet re-created: a stop is no longer taken for an uninstall');
      this.deletion = undefined;
    }
  }

  private remember(uid: string, why: string): void {
    if (this.deletion === undefined) this.o.log.info({ uid }, `${why}: the next stop removes the CNI config`);
    this.deletion = why;
    this.deletedUid = uid;
  }

  /** One watch stream; resolves undefined on a normal end (timeout, stop), else the error. */
  private watchOnce(): Promise<unknown> {
    const { apis, clock, namespace } = this.o;
    this.stats.watches++;
    const timeoutSeconds = Math.round(jittered(this.o.watchTimeoutSeconds ?? 300, 1, this.o.random));
    const silenceMs = timeoutSeconds * 1000 + (this.o.stallMarginMs ?? 30_000);
    return new Promise<unknown>((resolve) => {
      let done = false;
      let lastSeen = clock.now();
      const watchdog = new AbortController();
      const finish = (err: unknown) => {
        if (done) return;
        done = true;
        watchdog.abort();
        this.stopper.signal.removeEventListener('abort', onStop);
        this.current?.abort();
        resolve(err);
      };
      const onStop = () => finish(undefined);
      this.stopper.signal.addEventListener('abort', onStop, { once: true });
      void (async () => {
        // Bookmarks come about every minute: a stream silent past its own timeout is half-open.
        for (let wait = silenceMs; !done; wait = lastSeen + silenceMs - clock.now()) {
          if (wait <= 0) {
            this.stats.stalls++;
            return finish(new Error('DaemonSet watch silent past its timeout: half-open'));
          }
          await clock.sleep(wait, watchdog.signal).catch(() => {});
        }
      })();
      const onEvent = (type: string, obj: { metadata?: DsMeta; code?: number }) => {
        this.stats.events++;
        lastSeen = clock.now();
        if (type === 'ERROR') {
          // 410: the resourceVersion was compacted away; a fresh watch starts from the current object.
          if (obj.code === 410) this.rv = undefined;
          return finish(obj.code === 410 ? undefined : new Error(`watch error event ${JSON.stringify(obj)}`));
        }
        if (type === 'BOOKMARK') {
          if (obj.metadata?.resourceVersion) this.rv = obj.metadata.resourceVersion;
          return;
        }
        this.onObject(type, obj.metadata ?? {});
      };
      const onDone = (err: unknown) => {
        if (this.stopped || !err) return finish(undefined);
        if (httpStatus(err) === 410) {
          this.rv = undefined;
          return finish(undefined);
        }
        finish(err);
      };
      const query = {
        fieldSelector: `metadata.name=${this.owner}`,
        allowWatchBookmarks: true,
        timeoutSeconds,
        ...(this.rv ? { resourceVersion: this.rv } : {}),
      };
      apis.watch.watch(`/apis/apps/v1/namespaces/${namespace}/daemonsets`, query, onEvent, onDone).then(
        (ac) => {
          this.current = ac;
          if (done) ac.abort();
        },
        (err: unknown) => onDone(err ?? new Error('watch failed')),
      );
    });
  }

  private noteError(what: string, err: unknown, failures: number): void {
    this.stats.errors++;
    const status = httpStatus(err);
    if ((status === 401 || status === 403) && !this.warnedRbac) {
      this.warnedRbac = true;
      const hint = 'uninstall detection falls back to a read at SIGTERM (the Role needs daemonsets watch)';
      this.o.log.warn({ err: describeError(err) }, `${what}; ${hint}`);
    } else if (failures % 10 === 0) this.o.log.warn({ err: describeError(err), failures }, what);
  }

  private backoff(attempt: number, err?: unknown): Promise<void> {
    const base = Math.min(60_000, 500 * 2 ** Math.min(attempt, 7));
    const ms = Math.max(retryFloorMs(err), jittered(base / 2, 1, this.o.random));
    return this.o.clock.sleep(ms, this.stopper.signal).catch(() => {});
  }
}

/** The watch, started, when there is a conflist to decide about and our Pod is known (MY_POD_NAME). */
export function watchOwnDaemonSet(
  s: { writeConflist: boolean; namespace: string; podName: string | undefined },
  o: Omit<OwnDaemonSetWatchOptions, 'namespace' | 'podName'>,
): OwnDaemonSetWatch | undefined {
  if (!s.writeConflist || !s.podName) return undefined;
  const w = new OwnDaemonSetWatch({ ...o, namespace: s.namespace, podName: s.podName });
  w.start();
  return w;
}
