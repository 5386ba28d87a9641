import { mkdtempSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { awsNodeProbe, waitForAwsNodeGone } from '../../../ipamd/adopt/aws-node-liveness.js';
import { AdoptionRefusedError } from '../../../ipamd/adopt/errors.js';
import { VirtualClock } from '../../../ipamd/util/clock.js';

describe("waiting for aws-node's ipamd to stop", () => {
  it('finds aws-node by its socket beside the checkpoint; a dead one is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aws-node-'));
    const sock = join(dir, 'ipamd.sock');
    const server = net.createServer((c) => c.end());
    await new Promise<void>((r) => server.listen(sock, r));
    const probe = awsNodeProbe(join(dir, 'ipam.json'));
    expect(await probe()).toBe(sock);
    await new Promise<void>((r) => server.close(() => r()));
    expect(await probe()).toBeUndefined();
  });

  it('waits while aws-node answers and goes on once it stops; refuses if it never does', async () => {
    const clock = new VirtualClock();
    let answering = 3;
    const probe = async () => (answering-- > 0 ? 'ipamd.sock' : undefined);
    const waited = waitForAwsNodeGone(probe, clock, 30_000);
    await clock.advance(3_000);
    await waited;
    expect(clock.now()).toBe(3_000);

    const forever = waitForAwsNodeGone(async () => 'ipamd.sock', clock, 30_000).catch((e: unknown) => e);
    await clock.advance(31_000);
    const err = await forever;
    expect(err).toBeInstanceOf(AdoptionRefusedError);
    expect((err as AdoptionRefusedError).refusal).toBe('aws-node-running');
  });
});
