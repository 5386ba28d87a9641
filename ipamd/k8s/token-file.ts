/**
 * @module projected token file
 * The in-cluster credential: the service account token the kubelet projects
 * into the Pod (`/var/run/secrets/kubernetes.io/serviceaccount/token`). It
 * is bound and short-lived: the kubelet writes a new one at about 80 % of
 * its lifetime (~48 min of the default hour) by swapping the volume's
 * `..data` symlink, and the old one stops working when it expires.
 *
 * client-node's own `tokenFile` provider re-reads the file only when 60 s
 * have passed since the last read (client-go does the same, once a minute).
 * That is enough against a real API server, where the old token outlives
 * the rewrite by minutes, but not against a token revoked at once or a
 * clock that jumped. So ipamd installs this authenticator instead: before
 * every request it stats the file (one syscall, following the symlink) and
 * reads it again when its inode, size or mtime changed. A rotated token is
 * used from the next request on, without a restart. An unreadable file
 * keeps the last token (the kubelet may be mid-swap) and is read again next
 * time; with no token at all the request goes out without one, and the API
 * server's 401 says so.
 */
import { readFileSync, statSync } from 'node:fs';
import type * as k8s from '@kubernetes/client-node';

type Authenticator = Parameters<k8s.KubeConfig['addAuthenticator']>[0];
type User = Parameters<Authenticator['isAuthProvider']>[0];

/** The auth provider name our in-cluster user carries (client-node's built-ins ignore it). */
export const PROJECTED_TOKEN_PROVIDER = 'vpc-ipam-projected-token';

export class ProjectedTokenAuth implements Authenticator {
  private cached: { version: string; token: string } | undefined;
  readonly stats = { reads: 0, failures: 0 };

  isAuthProvider(user: User): boolean {
    return user.authProvider?.name === PROJECTED_TOKEN_PROVIDER;
  }

  async applyAuthentication(user: User, opts: Parameters<Authenticator['applyAuthentication']>[1]): Promise<void> {
    const file = (user.authProvider?.config as { path?: string } | undefined)?.path;
    const token = file ? this.token(file) : undefined;
    if (!token) return;
    opts.headers ??= {};
    (opts.headers as Record<string, string>).Authorization = `Bearer ${token}`;
  }

  /** The token in `file` now, read again only when the file changed. */
  token(file: string): string | undefined {
    try {
      const st = statSync(file);
      const version = `${st.ino}:${st.size}:${st.mtimeMs}`;
      if (this.cached?.version !== version) {
        this.cached = { version, token: readFileSync(file, 'utf8').trim() };
        this.stats.reads++;
      }
    } catch {
      this.stats.failures++;
    }
    return this.cached?.token || undefined;
  }
}
