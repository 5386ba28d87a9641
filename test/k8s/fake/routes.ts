/**
 * @module fake API server: paths and discovery
 * Which resource a path names, and the discovery documents (`/api`,
 * `/api/v1`, `/apis`, `/apis/<group>`, `/apis/<group>/<version>`), as
 * kube-apiserver builds them from what it serves
 * (staging/src/k8s.io/apiserver/pkg/endpoints/discovery/).
 *
 * A path nothing serves falls through the whole delegation chain (aggregator
 * → kube-apiserver → apiextensions-apiserver) to the last handler, which
 * answers a plain-text `404 page not found`, not a Status
 * (staging/src/k8s.io/apiserver/pkg/util/notfoundhandler/notfoundhandler.go:
 * `http.NotFound`). That is also what a custom resource's paths answer while
 * its CRD is not installed (the apiextensions handler delegates when no CRD
 * matches: staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/
 * customresource_handler.go); its group is absent from `/apis` when none of
 * the group's CRDs is installed, and each resource from the group's list.
 */
import { RESOURCES, type ResourceDef } from './store.js';

export interface Route {
  def: ResourceDef;
  ns?: string;
  name?: string;
  sub?: string;
}

export type Resolved =
  | { kind: 'resource'; route: Route }
  | { kind: 'discovery'; body: unknown }
  /** Nothing serves this path: `404 page not found`. */
  | { kind: 'unserved' };

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

function resourceList(groupVersion: string, defs: ResourceDef[]) {
  const resources = defs.flatMap((d) => {
    const { namespaced, kind } = d;
    const main = { name: d.resource, singularName: kind.toLowerCase(), namespaced, kind, verbs: VERBS };
    const verbs = ['get', 'patch', 'update'];
    const status = { name: `${d.resource}/status`, singularName: '', namespaced, kind, verbs };
    return d.hasStatus ? [main, status] : [main];
  });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources };
}

function apiGroup(group: string, version: string) {
  const gv = { groupVersion: `${group}/${version}`, version };
  return { name: group, versions: [gv], preferredVersion: gv };
}

/** What `path` is, given which custom resources' CRDs are installed. */
export function resolve(path: string, installed: (def: ResourceDef) => boolean): Resolved {
  const served = RESOURCES.filter((d) => !d.custom || installed(d));
  const groups = [...new Set(served.filter((d) => d.group).map((d) => `${d.group}/${d.version}`))];
  const segs = path.split('/').filter(Boolean);
  if (segs[0] === 'api') {
    if (segs.length === 1) return { kind: 'discovery', body: { kind: 'APIVersions', versions: ['v1'] } };
    if (segs[1] !== 'v1') return { kind: 'unserved' };
    if (segs.length === 2)
      return {
        kind: 'discovery',
        body: resourceList(
          'v1',
          served.filter((d) => !d.group),
        ),
      };
    return route(served, '', 'v1', segs.slice(2));
  }
  if (segs[0] !== 'apis') return { kind: 'unserved' };
  if (segs.length === 1) {
    const list = groups.map((gv) => apiGroup(gv.split('/')[0]!, gv.split('/')[1]!));
    return { kind: 'discovery', body: { kind: 'APIGroupList', apiVersion: 'v1', groups: list } };
  }
  const [group, version] = [segs[1]!, segs[2]];
  const gv = groups.find((x) => x.startsWith(`${group}/`));
  if (!gv) return { kind: 'unserved' };
  if (version === undefined) {
    return { kind: 'discovery', body: { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group, gv.split('/')[1]!) } };
  }
  if (gv !== `${group}/${version}`) return { kind: 'unserved' };
  if (segs.length === 3) {
    return {
      kind: 'discovery',
      body: resourceList(
        gv,
        served.filter((d) => d.group === group),
      ),
    };
  }
  return route(served, group, version, segs.slice(3));
}

function route(served: ResourceDef[], group: string, version: string, rest: string[]): Resolved {
  let ns: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    ns = rest[1];
    rest = rest.slice(2);
  }
  const def = served.find((d) => d.group === group && d.version === version && d.resource === rest[0]);
  if (!def || rest.length > 3) return { kind: 'unserved' };
  // A namespaced resource asked for without its namespace is a list across namespaces; never the reverse.
  if (!def.namespaced && ns !== undefined) return { kind: 'unserved' };
  if (def.namespaced && ns === undefined && rest.length > 1) return { kind: 'unserved' };
  if (rest[2] !== undefined && !(rest[2] === 'status' && def.hasStatus)) return { kind: 'unserved' };
  return { kind: 'resource', route: { def, ns, name: rest[1], sub: rest[2] } };
}
