/**
 * @module fake API server: list and watch
 * LIST with limit/continue (a continue token older than the compacted
 * history is 410 Expired), selectors and the resourceVersion rules of
 * {@link checkListVersion}; WATCH as a chunked stream of JSON events:
 * from a resourceVersion (410 Gone sent as an ERROR event when it was
 * compacted away), or from the current state as ADDED events; selector
 * transitions turn into ADDED/DELETED for the watcher; BOOKMARKs when asked
 * for; the stream ends after `timeoutSeconds`. A black-holed watch gets its
 * 200 and then nothing, ever (a half-open connection).
 */
import type * as http from 'node:http';
import { checkListVersion } from './validation.js';
import {
  ApiError,
  parseFieldSelector,
  parseLabelSelector,
  statusBody,
  type K8sObject,
  type ResourceDef,
  type Selector,
  type Store,
  type WatchEvent,
} from './store.js';

const apiVersion = (def: ResourceDef) => (def.group ? `${def.group}/${def.version}` : def.version);

function selector(def: ResourceDef, q: URLSearchParams): Selector {
  const a = parseFieldSelector(def, q.get('fieldSelector'));
  const b = parseLabelSelector(q.get('labelSelector'));
  return (o) => a(o) && b(o);
}

export function listBody(store: Store, def: ResourceDef, ns: string | undefined, q: URLSearchParams) {
  checkListVersion(q, store.rv);
  let items = store.list(def, ns, selector(def, q));
  let rv = store.rv;
  let start = 0;
  const cont = q.get('continue');
  if (cont) {
    const c = JSON.parse(Buffer.from(cont, 'base64url').toString()) as { rv: number; start: number };
    if (c.rv < store.oldestWatchable) {
      const why = 'The provided continue parameter is too old to display a consistent list result.';
      throw new ApiError(410, 'Expired', why);
    }
    ({ rv, start } = c);
  }
  const limit = Number(q.get('limit') ?? 0);
  let next: string | undefined;
  if (limit > 0 && items.length > start + limit) {
    next = Buffer.from(JSON.stringify({ rv, start: start + limit })).toString('base64url');
  }
  items = limit > 0 ? items.slice(start, start + limit) : items.slice(start);
  const metadata = { resourceVersion: String(rv), ...(next ? { continue: next } : {}) };
  return { kind: `${def.kind}List`, apiVersion: apiVersion(def), metadata, items };
}

export interface WatchOptions {
  store: Store;
  bookmarkIntervalMs: number;
  blackhole: boolean;
  /** Open watches (the server ends them on stop and on dropWatches). */
  open: Set<http.ServerResponse>;
}

export function serveWatch(
  o: WatchOptions,
  def: ResourceDef,
  ns: string | undefined,
  q: URLSearchParams,
  res: http.ServerResponse,
): void {
  const { store } = o;
  const sel = selector(def, q);
  const inNs = (x: K8sObject) => ns === undefined || (x.metadata as { namespace?: string }).namespace === ns;
  const match = (x: K8sObject) => inNs(x) && sel(x);
  // The 200 goes out at once, before any event (the watch handler flushes it: endpoints/handlers/watch.go).
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  if (o.blackhole) {
    o.open.add(res);
    res.on('close', () => o.open.delete(res));
    return;
  }
  const write = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
  const deliver = (e: WatchEvent) => {
    if (e.resource !== def.resource) return;
    const now = match(e.object);
    const before = e.old ? match(e.old) : false;
    if (e.type === 'MODIFIED') {
      if (before && now) write('MODIFIED', e.object);
      else if (now) write('ADDED', e.object);
      else if (before) write('DELETED', e.object);
    } else if (now) write(e.type, e.object);
  };
  const rvParam = q.get('resourceVersion');
  if (!rvParam || rvParam === '0') {
    for (const x of store.list(def, ns, sel)) write('ADDED', x);
  } else {
    try {
      for (const e of store.since(def.resource, Number(rvParam))) deliver(e);
    } catch (err) {
      write('ERROR', statusBody(err as ApiError));
      res.end();
      return;
    }
  }
  o.open.add(res);
  const unsubscribe = store.subscribe(deliver);
  const timers: NodeJS.Timeout[] = [];
  if (q.get('allowWatchBookmarks') === 'true') {
    const bookmark = () => {
      const metadata = { resourceVersion: String(store.rv) };
      write('BOOKMARK', { kind: def.kind, apiVersion: apiVersion(def), metadata });
    };
    timers.push(setInterval(bookmark, o.bookmarkIntervalMs));
  }
  const timeout = Number(q.get('timeoutSeconds') ?? 0);
  if (timeout > 0) timers.push(setTimeout(() => res.end(), timeout * 1000));
  res.on('close', () => {
    unsubscribe();
    timers.forEach((t) => clearTimeout(t));
    o.open.delete(res);
  });
}
