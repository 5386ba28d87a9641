/**
 * @module ec2 api
 * The EC2 calls the AWS provider makes, each wrapped so that any failure
 * leaves as a typed CloudError (mapped once, in `errors.ts`), plus the two
 * helpers every multi-call operation needs: paginated
 * DescribeNetworkInterfaces and a short retry for clean-up steps.
 */
import {
  DescribeNetworkInterfacesCommand,
  type DescribeNetworkInterfacesCommandInput,
  type EC2Client,
  type NetworkInterface as Ec2Interface,
} from '@aws-sdk/client-ec2';
import type { Clock } from '../../ipamd/util/clock.js';
import { CloudError } from '../errors.js';
import { mapEc2Error } from './errors.js';

export class Ec2Api {
  /** Logical calls per EC2 action (each may be several HTTP attempts inside the SDK). */
  readonly calls: Record<string, number> = {};

  constructor(readonly client: EC2Client) {}

  /** Runs one SDK call; any error becomes a CloudError naming `action`. */
  async call<T>(action: string, fn: (c: EC2Client) => Promise<T>): Promise<T> {
    this.calls[action] = (this.calls[action] ?? 0) + 1;
    try {
      return await fn(this.client);
    } catch (err) {
      throw mapEc2Error(err, action);
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
        c.send(new DescribeNetworkInterfacesCommand({ ...input, ...(paged ? { MaxResults: 1000 } : {}), ...(token ? { NextToken: token } : {}) })),
      );
      out.push(...(page.NetworkInterfaces ?? []));
      token = page.NextToken;
    } while (token);
    return out;
  }
}

/**
 * Retries `fn` while it fails with a retryable CloudError (throttled, in
 * use, 5xx), up to `attempts` times with doubling sleeps on the Clock. For
 * clean-up steps that must not give up at the first throttle: an undo that
 * fails leaks an interface until the leaked-interface sweep finds it.
 */
export async function retryTransient<T>(clock: Clock, fn: () => Promise<T>, attempts = 6, baseMs = 200): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!(CloudError.isCloud(err) && err.retryable) || i >= attempts) throw err;
      await clock.sleep(Math.min(5_000, baseMs * 2 ** (i - 1)));
    }
  }
}
