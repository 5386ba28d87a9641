/**
 * @module ec2 api
 * The EC2 calls the AWS provider makes, each wrapped so that any failure
 * leaves as a typed CloudError (mapped once, in `errors.ts`), plus the two
 * helpers every multi-call operation needs: paginated
 * DescribeNetworkInterfaces and a short, jittered retry for single steps.
 */
import {
  DescribeNetworkInterfacesCommand,
  type DescribeNetworkInterfacesCommandInput,
  type EC2Client,
  type NetworkInterface as Ec2Interface,
} from '@aws-sdk/client-ec2';
import type { Clock } from '../clock.js';
import { CloudError } from '../errors.js';
import { mapEc2Error, type Ec2CallContext } from './errors.js';

export class Ec2Api {
  /** Logical calls per EC2 action (each may be several HTTP attempts inside the SDK). */
  readonly calls: Record<string, number> = {};

  constructor(readonly client: EC2Client) {}

  /** Runs one SDK call; any error becomes a CloudError naming `action` (read in the light of `ctx`). */
  async call<T>(action: string, fn: (c: EC2Client) => Promise<T>, ctx?: Ec2CallContext): Promise<T> {
    this.calls[action] = (this.calls[action] ?? 0) + 1;
    try {
      return await fn(this.client);
    } catch (err) {
      throw mapEc2Error(err, action, ctx);
    }
  }

  /**
   * Every interface matching `input`, following NextToken. MaxResults is
   * only sent without explicit ids, which EC2 refuses to combine with it.
   */
  async describeInterfaces(input: DescribeNetworkInterfacesCommandInput): Promise<Ec2Interface[]> {
    const out: Ec2Interface[] = [];
    const paged = !input.NetworkInterfaceIds?.length;
    let token: string | undefined;
    do {
      const page = await this.call('DescribeNetworkInterfaces', (c) =>
        c.send(
          new DescribeNetworkInterfacesCommand({
            ...input,
            ...(paged ? { MaxResults: 1000 } : {}),
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      out.push(...(page.NetworkInterfaces ?? []));
      token = page.NextToken;
    } while (token);
    return out;
  }
}

export interface RetryOptions {
  attempts?: number;
  /** First backoff for errors other than throttling, ms (default 200). */
  baseMs?: number;
  /** Which failures to retry (default: every retryable CloudError: throttled, in use, 5xx). */
  retry?: (err: CloudError) => boolean;
  /** Uniform [0, 1) for the jitter (default Math.random). */
  random?: () => number;
}

/** The SDK's base delay for throttling errors (cloud-apis.md §3): EC2 refills a bucket in tokens per second. */
export const THROTTLE_BASE_MS = 1_000;
const MAX_BACKOFF_MS = 5_000;

/** Retry only throttling: the request was refused unseen, so sending it again cannot do anything twice. */
export const throttledOnly = (err: CloudError): boolean => err.code === 'CLOUD_THROTTLED';

/**
 * Retries `fn` while it fails with a retryable CloudError (or what `o.retry` picks), up to `attempts`
 * times. Clean-up steps must not give up at the first throttle: an undo that fails leaks an interface
 * until the leaked-interface sweep finds it. The backoff doubles (throttling from 1 s, as the SDK's, since
 * EC2 refills buckets per second; otherwise from `baseMs`), capped at 5 s, with equal jitter: half fixed,
 * half random, so nodes throttled together do not retry together (AWS advises backoff with jitter in
 * "Request throttling for the Amazon EC2 API"), while an in-use retry still waits for the detach.
 */
export async function retryTransient<T>(clock: Clock, fn: () => Promise<T>, o: RetryOptions = {}): Promise<T> {
  const { attempts = 6, baseMs = 200, retry = (e: CloudError) => e.retryable, random = Math.random } = o;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!(CloudError.isCloud(err) && retry(err)) || i >= attempts) throw err;
      const base = err.code === 'CLOUD_THROTTLED' ? Math.max(baseMs, THROTTLE_BASE_MS) : baseMs;
      const delay = Math.min(MAX_BACKOFF_MS, base * 2 ** (i - 1));
      await clock.sleep(delay / 2 + random() * (delay / 2));
    }
  }
}
