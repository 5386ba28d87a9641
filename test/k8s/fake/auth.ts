/**
 * @module fake API server: bearer tokens
 * The tokens the fake accepts, and the kubelet's side of a projected
 * service-account token: the file a Pod reads (`…/serviceaccount/token`).
 *
 * In a cluster the kubelet rewrites that file before the token expires (at
 * 80 % of its lifetime: about 48 minutes of the default hour,
 * pkg/kubelet/token/token_manager.go `requiresRefresh`), atomically (the
 * projected volume's AtomicWriter swaps a `..data` symlink,
 * pkg/volume/util/atomic_writer.go); the old token then works until its own
 * expiry. {@link TokenAuth.rotate} is that rewrite, and by default also the
 * old token's expiry at once: the worst case a client must survive. A
 * request with any other token is a 401 whose body is the Status the
 * authentication filter writes (staging/src/k8s.io/apiserver/pkg/endpoints/
 * filters/authentication.go, `Unauthorized`).
 */
import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ApiError } from './store.js';

export class TokenAuth {
  /** token → accepted until (epoch ms). */
  private readonly accepted = new Map<string, number>();
  private seq = 0;
  private tokenFile: string | undefined;
  current: string;
  readonly stats = { rotations: 0, rejected: 0 };

  constructor(initial: string) {
    this.current = initial;
    this.accepted.set(initial, Infinity);
  }

  /** Throws the 401 unless `authorization` is `Bearer <an accepted token>`. */
  check(authorization: string | undefined, now = Date.now()): void {
    const m = /^Bearer (\S+)$/.exec(authorization ?? '');
    const until = m ? this.accepted.get(m[1]!) : undefined;
    if (until !== undefined && until > now) return;
    this.stats.rejected++;
    throw new ApiError(401, 'Unauthorized', 'Unauthorized');
  }

  /** Another accepted token (a second ServiceAccount's), so one client's credentials can be revoked alone. */
  issue(): string {
    const t = `fake-token-sa-${++this.seq}-${randomBytes(6).toString('hex')}`;
    this.accepted.set(t, Infinity);
    return t;
  }

  /**
   * The token's ServiceAccount is deleted: the token is refused (401) from now on. As in kube-apiserver,
   * only new requests are authenticated: a watch opened before keeps streaming.
   */
  revoke(token: string): void {
    this.accepted.delete(token);
  }

  /** Keeps the current token in `file` (written now, and again at every rotation). */
  projectTo(file: string): void {
    this.tokenFile = file;
    this.write();
  }

  /**
   * A new token, written to the projected file; the old one is accepted for
   * `oldValidMs` more (default 0: refused from now on).
   */
  rotate(o: { oldValidMs?: number; now?: number } = {}): string {
    const now = o.now ?? Date.now();
    this.accepted.set(this.current, now + (o.oldValidMs ?? 0));
    this.current = `fake-token-${++this.seq}-${randomBytes(6).toString('hex')}`;
    this.accepted.set(this.current, Infinity);
    this.stats.rotations++;
    this.write();
    return this.current;
  }

  private write(): void {
    if (!this.tokenFile) return;
    // Write beside, then rename: a reader sees the old file or the new one, never half of one (as AtomicWriter).
    const tmp = path.join(path.dirname(this.tokenFile), `.token-${this.seq}.tmp`);
    writeFileSync(tmp, this.current, { mode: 0o600 });
    renameSync(tmp, this.tokenFile);
  }
}
