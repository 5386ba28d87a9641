/**
 * @module socket path
 * One check for every Unix socket path a variable names (VPC_IPAM_SOCKET, INTROSPECTION_BIND_ADDRESS=unix:…),
 * applied when the configuration is read, so a bad path stops the start with the variable's name instead of
 * surfacing later as a listen error.
 *
 * The path must be absolute, free of NUL and `..`, and fit a socket address, because ipamd replaces a stale
 * socket file there (ipamd/server/socket-file.ts): a relative path would depend on the working directory and `..`
 * could walk out of the directory an operator meant. That the directory exists is checked when ipamd listens, not
 * here: parsing stays free of the file system (the simulator parses a node's environment on another machine).
 */
import * as path from 'node:path';
import { ConfigError } from '../../providers/errors.js';
import { present, type Env } from './readers.js';

/** sun_path holds 108 bytes with its terminating NUL (Linux unix(7)). */
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * Returns the normalised path or throws a ConfigError naming `variable`; `shown` is how the value is quoted in
 * the message (the raw value by default, e.g. `unix:/x` for the introspection address).
 */
export function checkSocketPath(variable: string, p: string, shown: (p: string) => string = (s) => s): string {
  const example = shown('/absolute/path.sock');
  const refuse = (why: string): never => {
    throw new ConfigError(variable, `${shown(JSON.stringify(p).slice(1, -1))}: ${why}`);
  };
  if (p === '') refuse(`no socket path (expected ${example})`);
  if (p.includes('\0')) refuse('the socket path contains a NUL byte');
  if (!path.posix.isAbsolute(p)) refuse(`the socket path must be absolute (expected ${example})`);
  if (p.split('/').includes('..')) refuse('the socket path must not contain ".."');
  const normal = path.posix.normalize(p);
  if (normal.endsWith('/')) refuse('the socket path names a directory, not a socket file');
  if (Buffer.byteLength(normal) > MAX_SOCKET_PATH_BYTES) {
    refuse(`the socket path is longer than ${MAX_SOCKET_PATH_BYTES} bytes, the most a Unix socket address holds`);
  }
  return normal;
}

/** VPC_IPAM_SOCKET, checked; undefined when unset (each reader supplies its default). */
export function readSocketPath(env: Env): string | undefined {
  const raw = present(env, 'VPC_IPAM_SOCKET');
  return raw === undefined ? undefined : checkSocketPath('VPC_IPAM_SOCKET', raw);
}
