/**
 * Test helper: what the callers of a crashing daemon were told, checked
 * against what the daemon holds after each restart. A request that got no
 * answer (the daemon died under it) makes its container "uncertain" until
 * the next look settles it; everything that was acknowledged must hold:
 * - an acknowledged ADD not followed by an acknowledged DEL is still assigned, with the same address;
 * - an acknowledged DEL (the last word on its container) does not come back;
 * - no address is held by two containers, and none by a container no ADD was acknowledged for.
 */

export interface Held {
  containerId: string;
  ip: string;
}

/** What one request came back with: an answer, or nothing because the daemon died. */
export type Outcome<T> = { answered: true; value: T } | { answered: false };

export class AckLedger {
  /** containerId → address, from an acknowledged ADD (or adopted after a restart showed it committed). */
  readonly live = new Map<string, string>();
  /** Containers whose last acknowledged request was a DEL. */
  readonly gone = new Set<string>();
  /** Containers with a request that got no answer. */
  readonly uncertain = new Set<string>();
  /** Containers with a DEL in flight: their address may already be someone else's. */
  readonly deleting = new Set<string>();
  readonly violations: string[] = [];
  ackedAdd = 0;
  ackedDel = 0;
  unanswered = 0;
  /** Answered, but not ok (e.g. POOL_EXHAUSTED): not an acknowledgement. */
  refused = 0;

  /** An ADD answered ok with `ip`: nobody else may hold it, and a container keeps one address. */
  ackAdd(id: string, ip: string): void {
    this.ackedAdd++;
    for (const [other, held] of this.live) {
      // Perhaps no longer a holder: a DEL of it is in flight, or one got no answer.
      if (held !== ip || other === id || this.deleting.has(other) || this.uncertain.has(other)) continue;
      this.violations.push(`ADD ${id} got ${ip}, acknowledged to ${other}`);
    }
    const had = this.live.get(id);
    if (had !== undefined && had !== ip) this.violations.push(`ADD ${id} got ${ip}, was acknowledged ${had}`);
    this.live.set(id, ip);
    this.gone.delete(id);
  }

  /** An ADD and a DEL of `id` both acknowledged, the DEL second: the address may be someone else's by now. */
  ackAddThenDel(id: string): void {
    this.ackedAdd++;
    this.ackDel(id);
  }

  /** An ADD of `id` acknowledged while a DEL of it got no answer (or failed): either may have been last. */
  ackAddThenUnsure(id: string): void {
    this.ackedAdd++;
    this.unanswered++;
    this.uncertain.add(id);
  }

  ackDel(id: string): void {
    this.ackedDel++;
    this.live.delete(id);
    this.gone.add(id);
  }

  /**
   * A request for `id` got no answer. `mayHaveChanged` false when an acknowledgement for the same
   * container stands anyway (the twin of an acknowledged ADD cannot undo it).
   */
  noAnswer(id: string, mayHaveChanged = true): void {
    this.unanswered++;
    if (mayHaveChanged) this.uncertain.add(id);
  }

  /** Checks a view of the daemon's state (its checkpoint file or /v1/assignments) against the acknowledgements. */
  verify(view: Held[], where: string): void {
    const byId = new Map<string, string>();
    const byIp = new Map<string, string>();
    for (const a of view) {
      const dupIp = byIp.get(a.ip);
      if (dupIp !== undefined) this.violations.push(`${where}: ${a.ip} held by ${dupIp} and ${a.containerId}`);
      if (byId.has(a.containerId)) this.violations.push(`${where}: ${a.containerId} holds two addresses`);
      byIp.set(a.ip, a.containerId);
      byId.set(a.containerId, a.ip);
    }
    for (const [id, ip] of [...this.live]) {
      if (this.uncertain.has(id)) continue; // e.g. a DEL in flight when the daemon died
      const now = byId.get(id);
      if (now === ip) continue;
      this.violations.push(`${where}: acknowledged ${id} → ${ip} ${now ? `now holds ${now}` : 'is lost'}`);
      this.live.delete(id); // counted once
    }
    for (const id of this.gone) {
      if (!this.uncertain.has(id) && byId.has(id)) this.violations.push(`${where}: deleted ${id} came back`);
    }
    for (const id of byId.keys()) {
      const known = this.live.has(id) || this.uncertain.has(id) || this.gone.has(id);
      if (!known) this.violations.push(`${where}: ${id} holds ${byId.get(id)} but no ADD of it was acknowledged`);
    }
  }

  /** After a restart: unanswered requests either committed or did not; take the daemon's word for them. */
  settle(view: Held[]): void {
    const byId = new Map(view.map((a) => [a.containerId, a.ip]));
    for (const id of this.uncertain) {
      const ip = byId.get(id);
      if (ip !== undefined) {
        this.live.set(id, ip);
        this.gone.delete(id);
      } else {
        this.live.delete(id);
      }
    }
    this.uncertain.clear();
  }

  summary(kills: number): string {
    return (
      `crash soak: ${kills} kills, ${this.ackedAdd} acked ADD, ${this.ackedDel} acked DEL, ` +
      `${this.violations.length} violations (${this.unanswered} unanswered, ${this.refused} refused)`
    );
  }
}
