/**
 * @module introspection address
 * INTROSPECTION_BIND_ADDRESS as the AWS VPC CNI reads it (pkg/ipamd/introspect.go, v1.23.1 @b521883:
 * `strings.HasPrefix(addr, "unix:")`, the rest is the socket path), plus our `off` and loopback-only `host:port`.
 *
 * The AWS CNI hands the path to `net.Listen("unix", …)` as it is; here it must be absolute, free of NUL and `..`,
 * and fit a socket address, because ipamd replaces a stale socket file there (ipamd/server/socket-file.ts): a
 * relative path would depend on the working directory and `..` could walk out of the directory an operator meant.
 * That the directory exists is checked when ipamd listens, not here: parsing stays free of the file system (the
 * simulator parses a node's environment on another machine).
 */
import * as path from 'node:path';
import { ConfigError } from '../../providers/errors.js';
import { present, readListen, type Env } from './readers.js';

const NAME = 'INTROSPECTION_BIND_ADDRESS';
const UNIX_PREFIX = 'unix:';
/** sun_path holds 108 bytes with its terminating NUL (Linux unix(7)). */
const MAX_SOCKET_PATH_BYTES = 107;

export type IntrospectionAddress = { host: string; port: number } | { socketPath: string };

export function readIntrospectionAddress(env: Env): IntrospectionAddress | undefined {
  const raw = present(env, NAME);
  // Case-sensitive, as the AWS CNI's HasPrefix: `UNIX:/x` is no socket there either (and no host:port here).
  if (raw?.startsWith(UNIX_PREFIX)) return { socketPath: checkSocketPath(raw.slice(UNIX_PREFIX.length)) };
  return readListen(env, NAME, '127.0.0.1:61679', true);
}

function checkSocketPath(p: string): string {
  const refuse = (why: string): never => {
    throw new ConfigError(NAME, `unix:${JSON.stringify(p).slice(1, -1)}: ${why}`);
  };
  if (p === '') refuse('no socket path after "unix:" (expected unix:/absolute/path.sock)');
  if (p.includes('\0')) refuse('the socket path contains a NUL byte');
  if (!path.posix.isAbsolute(p)) refuse('the socket path must be absolute (expected unix:/absolute/path.sock)');
  if (p.split('/').includes('..')) refuse('the socket path must not contain ".."');
  const normal = path.posix.normalize(p);
  if (normal.endsWith('/')) refuse('the socket path names a directory, not a socket file');
  if (Buffer.byteLength(normal) > MAX_SOCKET_PATH_BYTES) {
    refuse(`the socket path is longer than ${MAX_SOCKET_PATH_BYTES} bytes, the most a Unix socket address holds`);
  }
  return normal;
}
