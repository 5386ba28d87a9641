/**
 * A restart with 250 checkpointed assignments serves before any cloud call completes (issue 17): the daemon's
 * own start (ipamd/run.ts, real socket, real checkpoint file, node cache) over a sim cloud whose every call is
 * held until the test releases it. While held: ready, a DEL for a checkpointed Pod and a repeated ADD are
 * answered; an ADD that needs a free address is not (someone may have unassigned it while ipamd was down), and
 * is answered after the cloud's first answer, with an address that is not the one just released (cooldown).
 * Ordering only, from one event log: no timing threshold.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type Response } from '../../cni/contract/protocol.js';
import { callIpamd } from '../../cni/contract/socket-client.js';
import { parseConfig } from '../../ipamd/config.js';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { startDaemon, type RunningDaemon } from '../../ipamd/run.js';
import { setupSim } from '../../ipamd/setup/sim.js';
import type { BuiltProvider } from '../../ipamd/setup/types.js';
import { SystemClock } from '../../ipamd/util/clock.js';
import type { CloudProvider } from '../../providers/types.js';

const PODS = 250;
const key = (i: number) => ({ v: PROTOCOL_VERSION, network: 'vpc-ipam', containerId: `c${i}`, ifName: 'eth0' });

/** Every provider call waits for `release()`; `log` gets one entry per call that completed, in order. */
function gated(built: BuiltProvider, log: string[]): BuiltProvider & { release(): void } {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const provider = new Proxy(built.provider, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv) as unknown;
      if (typeof v !== 'function' || prop === 'close') return v;
      return async (...args: unknown[]) => {
        await gate;
        try {
          return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          log.push(`cloud ${String(prop)}`);
        }
      };
    },
  }) as CloudProvider;
  return { ...built, provider, release: () => open() };
}

describe('restart with 250 checkpointed assignments, cloud held', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ipamd-restart-'));
  const env = {
    VPC_IPAM_PROVIDER: 'sim',
    VPC_IPAM_STATE_DIR: path.join(dir, 'state'),
    VPC_IPAM_SOCKET: path.join(dir, 'ipamd.sock'),
    INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0',
    VPC_IPAM_METRICS_ADDRESS: 'off',
    VPC_IPAM_SIM_LATENCY_SCALE: '0',
    VPC_IPAM_PLUMBING: 'off',
    VPC_IPAM_SIM_SUBNET_CIDR: '10.0.0.0/21',
    // Prefix mode: the checkpoint's blocks hold free addresses, which must still wait for the cloud.
    ENABLE_PREFIX_DELEGATION: 'true',
    MINIMUM_IP_TARGET: String(PODS + 10),
    VPC_IPAM_ADD_WAIT_SECONDS: '120',
  };
  const config = parseConfig(env);
  const log = silentLogger();
  let running: RunningDaemon | undefined;
  afterAll(async () => {
    await running?.stop();
  });

  const call = (req: Parameters<typeof callIpamd>[1]) => callIpamd(config.socketPath, req) as Promise<Response>;
  const ipOf = (r: Response) => (r.ok && 'allocation' in r ? r.allocation?.ip : undefined);

  it('answers ready, DEL and a repeated ADD before any cloud call completes; a new ADD only after', async () => {
    // First run: fill, 250 ADDs (each on disk before its answer), graceful stop.
    running = await startDaemon(config, log);
    await running.started;
    const before = new Map<number, string>();
    for (let i = 0; i < PODS; i += 25) {
      const batch = await Promise.all(Array.from({ length: 25 }, (_, j) => call({ ...key(i + j), op: 'add' })));
      batch.forEach((r, j) => before.set(i + j, ipOf(r) ?? JSON.stringify(r)));
    }
    expect([...before.values()].filter((ip) => ip.startsWith('{'))).toEqual([]);
    await running.stop();
    running = undefined;

    // Restart over the same state dir and sim cloud, every cloud call held.
    const events: string[] = [];
    const built = gated(await setupSim(config, 0, new SystemClock(), log), events);
    running = await startDaemon(config, log, { provider: built });
    events.push('ready');
    const port = running.ports.introspectionPort!;
    const readyz = await fetch(`http://127.0.0.1:${port}/readyz`);
    events.push(`readyz ${readyz.status}`);

    const del = await call({ ...key(0), op: 'del' });
    events.push(`del ${del.ok && 'released' in del && del.released}`);
    const again = await call({ ...key(1), op: 'add' });
    events.push(`repeated add ${ipOf(again) === before.get(1)}`);
    // A Pod never seen: needs a free address, which the checkpoint's prefixes have, but the cloud is unread.
    const fresh = call({ ...key(PODS), op: 'add' }).then((r) => {
      events.push('new add answered');
      return r;
    });
    const status = await call({ v: PROTOCOL_VERSION, op: 'status' });
    events.push(`status ready ${status.ok && 'status' in status && status.status.ready}`);
    expect(events).toEqual(['ready', 'readyz 200', 'del true', 'repeated add true', 'status ready true']);

    built.release();
    const got = await fresh;
    await running.started;
    const firstCloud = events.findIndex((e) => e.startsWith('cloud '));
    expect(firstCloud).toBeGreaterThan(events.indexOf('status ready true'));
    expect(events.indexOf('new add answered')).toBeGreaterThan(firstCloud);
    expect(got.ok).toBe(true);
    // The address just released cools down; the new Pod gets another one, and nobody else's.
    expect(ipOf(got)).not.toBe(before.get(0));
    expect([...before.values()]).not.toContain(ipOf(got));
    const cooling = running.daemon.datastore.coolingEntries(Date.now()).map((c) => c.ip);
    expect(cooling).toContain(before.get(0));
    // The cloud's view bound every checkpointed Pod: none is an orphan, 249 held plus the new one.
    const list = running.daemon.datastore.list();
    expect(list).toHaveLength(PODS);
    expect(running.daemon.datastore.orphaned()).toHaveLength(0);
  }, 180_000);
});
