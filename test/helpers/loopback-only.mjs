/**
 * No test may send traffic anywhere but loopback (or namespaces it created).
 * Loaded in every test worker (vitest.config.ts `setupFiles`) and, through
 * NODE_OPTIONS, in every Node process a test starts (daemons, vpc-ipamctl,
 * the plugin run as `node vpc-ipam.cjs`): a TCP connect to anything but
 * loopback fails at once with an error naming the target, before any DNS
 * lookup or packet. So a default that would reach the real EC2 instance
 * metadata service (169.254.169.254), an Azure or GCE metadata server or a
 * cloud API fails the test that has it, instead of going out from a CI host
 * that may have a real cloud role. Unix sockets are not affected.
 *
 * Plain JavaScript, not TypeScript: child processes load it with
 * `node --import` and no TypeScript loader.
 */
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';

const SELF = import.meta.url;
const MARK = Symbol.for('vpc-ipam.loopback-only');

/** What `--import` option child processes need to get this guard too. */
export const LOOPBACK_GUARD_OPTION = `--import=${SELF}`;
export const LOOPBACK_GUARD_FILE = fileURLToPath(SELF);

function loopback(host) {
  if (host === undefined || host === null || host === '' || host === 'localhost') return true;
  const h = String(host)
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
  if (h === '::1' || h === '0.0.0.0' || h === '::' || h.endsWith('.localhost')) return true;
  return /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The TCP target of a Socket#connect call, undefined for a Unix socket path. */
function targetOf(args) {
  let first = args[0];
  // net.connect() and http agents pass one normalized array [options, callback].
  if (Array.isArray(first)) first = first[0];
  if (first !== null && typeof first === 'object') {
    return first.path ? undefined : { host: first.host, port: first.port };
  }
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    return { host: typeof args[1] === 'string' ? args[1] : undefined, port: first };
  }
  return undefined;
}

if (!globalThis[MARK]) {
  globalThis[MARK] = true;
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(...args) {
    const t = targetOf(args);
    if (t && !loopback(t.host)) {
      const err = Object.assign(
        new Error(`test traffic to ${t.host}:${t.port} refused: tests reach loopback only (helpers/loopback-only.mjs)`),
        { code: 'ETESTNOTLOOPBACK' },
      );
      process.nextTick(() => this.destroy(err));
      return this;
    }
    return connect.apply(this, args);
  };
  // Children that inherit this environment get the guard as well.
  const opts = process.env.NODE_OPTIONS ?? '';
  if (!opts.includes(LOOPBACK_GUARD_OPTION)) process.env.NODE_OPTIONS = `${opts} ${LOOPBACK_GUARD_OPTION}`.trim();
}
