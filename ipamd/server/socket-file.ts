/**
 * @module socket file
 * The Unix socket files ipamd listens on (the plugin socket, and introspection with `unix:`): a stale file left
 * by a daemon that died is replaced, a live one or anything that is not a socket is refused, and the new socket
 * is mode 0600 from the moment it exists, so only root (ipamd runs as root) can connect.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ConfigError } from '../../providers/errors.js';
import { ensureDirSync } from '../util/ensure-dir.js';

/**
 * Makes `socketPath` ready to listen on: its directory exists, and a socket file left by a daemon that died is
 * removed (see {@link replaceStaleSocket}). Run before the daemon touches its cloud or its checkpoint too
 * (ipamd/run.ts): a second daemon on a node must stop before it writes anything.
 */
export async function prepareSocketPath(socketPath: string, variable: string): Promise<void> {
  ensureDirSync(path.dirname(socketPath), variable, 0o755);
  await replaceStaleSocket(socketPath, variable);
}

/**
 * Removes a socket file nobody listens on. A live socket means another ipamd; anything that is not a socket is
 * refused, never removed (a typo in the variable must not delete the file it happens to name).
 */
export async function replaceStaleSocket(socketPath: string, variable: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = await fs.promises.lstat(socketPath);
  } catch {
    return;
  }
  if (!st.isSocket()) {
    throw new ConfigError(variable, `${socketPath} exists and is not a socket; refusing to replace it`);
  }
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(socketPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) {
    throw new ConfigError(variable, `another ipamd is already serving ${socketPath} (stop it, or use another path)`);
  }
  await fs.promises.rm(socketPath, { force: true });
}

/** Listens on `socketPath` (prepared), mode 0600; a failure is a ConfigError naming `variable`. */
export async function listenOnSocketFile(server: net.Server, socketPath: string, variable: string): Promise<void> {
  // umask closes the window between bind() and chmod() in which the socket would be world-writable.
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(variable, `cannot listen on ${socketPath}: ${code}`);
  } finally {
    process.umask(oldMask);
  }
  await fs.promises.chmod(socketPath, 0o600);
}
