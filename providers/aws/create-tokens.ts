/**
 * @module create tokens
 * CreateNetworkInterface is idempotent by `ClientToken`: the same token with
 * the same parameters returns the first ENI instead of making another (AWS,
 * "Ensuring idempotency in Amazon EC2 API requests"). The SDK fills a token
 * in when the caller gives none and keeps it across its own retries of that
 * one call; but a retry of the whole operation (ipamd's CloudCaller, after a
 * timeout or a 5xx for a create EC2 may well have carried out) is a new call,
 * and a new token would make a second ENI.
 *
 * So the provider gives each create its own token, and when an attempt ends
 * without a definite answer it keeps the exact request (token, tags and all:
 * other parameters with the same token are `IdempotentParameterMismatch`) for
 * the next attempt of the same create, so EC2 answers it with the ENI it
 * already made. A success, or a refusal that changed nothing, ends it. A kept
 * request expires with the leak reclaim's grace: by then an ENI it made, left
 * detached and tagged, is the reclaim's to delete.
 */
import { randomUUID } from 'node:crypto';
import type { CreateNetworkInterfaceCommandInput } from '@aws-sdk/client-ec2';
import type { Clock } from '../clock.js';
import { CloudError } from '../errors.js';
import type { CreateInterfaceRequest } from '../types.js';

/** Default lifetime of a kept request: the leak reclaim's default grace (providers/leak-reclaim.ts). */
export const PENDING_CREATE_TTL_MS = 5 * 60_000;

/** What makes two creates "the same" for ipamd: everything the caller asked for. */
export function createKey(req: CreateInterfaceRequest): string {
  const { subnetId, securityGroups, description, tags, initial } = req;
  return JSON.stringify({ subnetId, securityGroups, description, tags, initial });
}

/**
 * An attempt ended with this error: is the create unfinished? A 5xx, a timeout or a reset may come after
 * EC2 made the ENI. A throttle did nothing, but an earlier attempt of the same create may have, so it keeps
 * the request too. A definite refusal (subnet full, bad parameters, a mismatch) ends the create: EC2 judged
 * the token's request as new and made nothing.
 */
export function unfinished(err: unknown): boolean {
  return CloudError.isCloud(err) && err.retryable;
}

export class PendingCreates {
  /** Per create: its last unfinished request, since when, and whether an attempt is sending it now. */
  private readonly kept = new Map<string, { input: CreateNetworkInterfaceCommandInput; at: number; busy: boolean }>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = PENDING_CREATE_TTL_MS,
  ) {}

  /**
   * The request for this create: the one an unfinished attempt sent, or `build()`'s with a new token. A kept
   * request goes to one attempt at a time: a second create of the same kind running alongside gets its own.
   */
  input(key: string, build: () => CreateNetworkInterfaceCommandInput): CreateNetworkInterfaceCommandInput {
    const now = this.clock.now();
    for (const [k, v] of this.kept) if (!v.busy && now - v.at >= this.ttlMs) this.kept.delete(k);
    const kept = this.kept.get(key);
    if (kept && !kept.busy) {
      kept.busy = true;
      return kept.input;
    }
    return { ...build(), ClientToken: randomUUID() };
  }

  /**
   * The attempt with `input` ended (`err` undefined: with an ENI). Its request is kept while the create is
   * unfinished. When another attempt's request is kept already, this one is not: an ENI it may have made is
   * left, tagged and detached, to the leak reclaim.
   */
  ended(key: string, input: CreateNetworkInterfaceCommandInput, err?: unknown): void {
    const kept = this.kept.get(key);
    const mine = kept?.input === input;
    if (err !== undefined && unfinished(err)) {
      if (mine) kept!.busy = false;
      else if (!kept) this.kept.set(key, { input, at: this.clock.now(), busy: false });
    } else if (mine) {
      this.kept.delete(key);
    }
  }

  /** Creates whose next attempt will reuse a token. */
  get size(): number {
    return this.kept.size;
  }
}
