/**
 * @module CNI prevResult
 * Reads the `prevResult` a runtime passes (ADD after another plugin, CHECK,
 * DEL) into the spec's result shape, and nothing more. The spec makes a
 * chained plugin output its prevResult with its own changes, so whatever we
 * accept here reaches the runtime, the next plugin and the CNI cache under
 * our name. The rule (docs/cni.md "prevResult"):
 *
 * - a spec field with a wrong value (an address that is no CIDR, an
 *   `interface` index pointing nowhere, a route without `dst`) is refused,
 *   code 7, naming the field: the chain is broken and our merge would compute
 *   indexes over garbage;
 * - a key the spec does not define (at any level, or one of a later version
 *   than the configuration's) is dropped, and named in `dropped` so the
 *   plugin logs it. libcni-based plugins decode into Go structs and drop the
 *   same keys, so this is what the rest of the chain does too.
 */

import { isIP } from 'node:net';
import { configError } from './errors.js';
import type { CniInterface, CniIpConfig, CniResult, CniRoute, DnsConfig } from './result.js';
import { compareVersions, type CniVersion } from './contract/spec-versions.js';

export interface ParsedPrevResult {
  result: CniResult;
  /** Paths of keys dropped as not in the spec, e.g. `prevResult.custom`, `prevResult.ips[0].note`. */
  dropped: string[];
}

type Obj = Record<string, unknown>;

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5,19}$/; // Ethernet (6 bytes) up to InfiniBand (20)
const CONTROL_RE = /\p{Cc}/u; // C0 and C1 controls and DEL: U+0000-001F, U+007F-009F

class Reader {
  readonly dropped: string[] = [];
  constructor(readonly v11: boolean) {}

  bad(where: string, why: string): never {
    throw configError(where, why);
  }

  obj(v: unknown, where: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.bad(where, 'must be an object');
    return v as Obj;
  }

  list(v: unknown, where: string): unknown[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) this.bad(where, 'must be a list');
    return v;
  }

  /** Records keys outside `known` as dropped. */
  only(o: Obj, where: string, known: readonly string[]): void {
    for (const k of Object.keys(o)) if (!known.includes(k)) this.dropped.push(`${where}.${k}`);
  }

  text(v: unknown, where: string, max = 4096): string | undefined {
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string' || v.length > max || CONTROL_RE.test(v)) {
      this.bad(where, `must be a string of at most ${max} characters without control characters`);
    }
    return v;
  }

  int(v: unknown, where: string, min: number, max: number): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.bad(where, `must be an integer in [${min}, ${max}]`);
    }
    return v;
  }

  ip(v: unknown, where: string): string | undefined {
    const s = this.text(v, where, 64);
    if (s !== undefined && isIP(s) === 0) this.bad(where, `${JSON.stringify(s)} is not an IP address`);
    return s;
  }

  cidr(v: unknown, where: string): string {
    const s = this.text(v, where, 64);
    const [addr, len, extra] = (s ?? '').split('/');
    const family = isIP(addr ?? '');
    const bits = Number(len);
    const ok = family !== 0 && extra === undefined && /^\d{1,3}$/.test(len ?? '') && bits <= (family === 4 ? 32 : 128);
    if (!ok) this.bad(where, `${JSON.stringify(v)} is not an address with a prefix length (CIDR)`);
    return s!;
  }
}

const IFACE_KEYS = ['name', 'mac', 'sandbox', 'mtu', 'socketPath', 'pciID'] as const;
const IFACE_KEYS_10 = ['name', 'mac', 'sandbox'] as const;

function iface(r: Reader, v: unknown, where: string): CniInterface {
  const o = r.obj(v, where);
  r.only(o, where, r.v11 ? IFACE_KEYS : IFACE_KEYS_10);
  const name = r.text(o.name, `${where}.name`, 255);
  if (!name) r.bad(`${where}.name`, 'missing');
  const out: CniInterface & Obj = { name };
  const mac = r.text(o.mac, `${where}.mac`, 64);
  if (mac !== undefined && !MAC_RE.test(mac)) r.bad(`${where}.mac`, `${JSON.stringify(mac)} is not a hardware address`);
  if (mac) out.mac = mac;
  if (r.v11) {
    const mtu = r.int(o.mtu, `${where}.mtu`, 0, 65535);
    if (mtu !== undefined) out.mtu = mtu;
  }
  const sandbox = r.text(o.sandbox, `${where}.sandbox`);
  if (sandbox) out.sandbox = sandbox;
  if (r.v11) {
    const socketPath = r.text(o.socketPath, `${where}.socketPath`);
    if (socketPath) out.socketPath = socketPath;
    const pciID = r.text(o.pciID, `${where}.pciID`, 64);
    if (pciID) out.pciID = pciID;
  }
  return out;
}

function ipConfig(r: Reader, v: unknown, where: string, interfaces: number, v04: boolean): CniIpConfig {
  const o = r.obj(v, where);
  r.only(o, where, v04 ? ['version', 'address', 'gateway', 'interface'] : ['address', 'gateway', 'interface']);
  const address = r.cidr(o.address, `${where}.address`);
  const out: CniIpConfig = { address };
  if (v04) {
    // 0.4.0 carries the family; derive it rather than trust or lose it.
    const family = isIP(address.split('/')[0]!) === 6 ? '6' : '4';
    if (o.version !== undefined && o.version !== family) {
      r.bad(`${where}.version`, `must be "${family}" for ${address}`);
    }
    out.version = family;
  }
  const gateway = r.ip(o.gateway, `${where}.gateway`);
  if (gateway) out.gateway = gateway;
  const idx = r.int(o.interface, `${where}.interface`, 0, Math.max(0, interfaces - 1));
  if (idx !== undefined) {
    if (interfaces === 0) r.bad(`${where}.interface`, 'points into an empty interfaces list');
    out.interface = idx;
  }
  return out;
}

const ROUTE_KEYS = ['dst', 'gw', 'mtu', 'advmss', 'priority', 'table', 'scope'] as const;

function route(r: Reader, v: unknown, where: string): CniRoute {
  const o = r.obj(v, where);
  r.only(o, where, r.v11 ? ROUTE_KEYS : ['dst', 'gw']);
  const out: CniRoute = { dst: r.cidr(o.dst, `${where}.dst`) };
  const gw = r.ip(o.gw, `${where}.gw`);
  if (gw) out.gw = gw;
  if (r.v11) {
    for (const k of ['mtu', 'advmss', 'priority', 'table'] as const) {
      const n = r.int(o[k], `${where}.${k}`, 0, 0xffffffff);
      if (n !== undefined) out[k] = n;
    }
    const scope = r.int(o.scope, `${where}.scope`, 0, 255);
    if (scope !== undefined) out.scope = scope;
  }
  return out;
}

function dns(r: Reader, v: unknown, where: string): DnsConfig | undefined {
  if (v === undefined || v === null) return undefined;
  const o = r.obj(v, where);
  r.only(o, where, ['nameservers', 'domain', 'search', 'options']);
  const out: DnsConfig = {};
  for (const k of ['nameservers', 'search', 'options'] as const) {
    const l = r.list(o[k], `${where}.${k}`);
    if (l) out[k] = l.map((x, i) => r.text(x, `${where}.${k}[${i}]`, 1024) ?? r.bad(`${where}.${k}[${i}]`, 'empty'));
  }
  const domain = r.text(o.domain, `${where}.domain`, 1024);
  if (domain) out.domain = domain;
  return out;
}

/** Validates and copies a prevResult; throws code 7 naming the first bad field. */
export function parsePrevResult(v: unknown, cniVersion: CniVersion): ParsedPrevResult {
  const r = new Reader(compareVersions(cniVersion, '1.1.0') >= 0);
  const where = 'prevResult';
  const o = r.obj(v, where);
  r.only(o, where, ['cniVersion', 'interfaces', 'ips', 'routes', 'dns']);
  if (o.cniVersion !== undefined && typeof o.cniVersion !== 'string') r.bad(`${where}.cniVersion`, 'must be a string');
  const result: CniResult = { cniVersion: (o.cniVersion as string | undefined) ?? cniVersion };
  const ifs = r.list(o.interfaces, `${where}.interfaces`);
  if (ifs) result.interfaces = ifs.map((x, i) => iface(r, x, `${where}.interfaces[${i}]`));
  const ips = r.list(o.ips, `${where}.ips`);
  const n = result.interfaces?.length ?? 0;
  if (ips) result.ips = ips.map((x, i) => ipConfig(r, x, `${where}.ips[${i}]`, n, cniVersion === '0.4.0'));
  const routes = r.list(o.routes, `${where}.routes`);
  if (routes) result.routes = routes.map((x, i) => route(r, x, `${where}.routes[${i}]`));
  const d = dns(r, o.dns, `${where}.dns`);
  if (d) result.dns = d;
  return { result, dropped: r.dropped };
}
