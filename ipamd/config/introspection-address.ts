/**
 * @module introspection address
 * INTROSPECTION_BIND_ADDRESS as the AWS VPC CNI reads it (pkg/ipamd/introspect.go, v1.23.1 @b521883:
 * `strings.HasPrefix(addr, "unix:")`, the rest is the socket path), plus our `off` and loopback-only `host:port`.
 *
 * The socket path is checked as every socket path is (socket-path.ts).
 */
import { checkSocketPath } from './socket-path.js';
import { present, readListen, type Env } from './readers.js';

const NAME = 'INTROSPECTION_BIND_ADDRESS';
const UNIX_PREFIX = 'unix:';

export type IntrospectionAddress = { host: string; port: number } | { socketPath: string };

export function readIntrospectionAddress(env: Env): IntrospectionAddress | undefined {
  const raw = present(env, NAME);
  // Case-sensitive, as the AWS CNI's HasPrefix: `UNIX:/x` is no socket there either (and no host:port here).
  if (raw?.startsWith(UNIX_PREFIX))
    return { socketPath: checkSocketPath(NAME, raw.slice(UNIX_PREFIX.length), (p) => UNIX_PREFIX + p) };
  return readListen(env, NAME, '127.0.0.1:61679', true);
}
