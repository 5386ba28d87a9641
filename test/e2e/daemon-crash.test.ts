/**
 * The checkpoint is the truth: the real daemon process under a churn of
 * ADD/DELs through its real socket, including the requests runtimes really
 * send together (an ADD retried while the first is still running, a DEL
 * racing the ADD of the same container), SIGKILLed 100 times at random
 * moments. After every kill the checkpoint it left (the snapshot and its
 * journal, read as ipamd restores them), and after every restart
 * /v1/assignments, must keep every acknowledged assignment with its address,
 * keep every acknowledged release, and give no address to two containers.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type Response } from '../../cni/contract/protocol.js';
import { pendingReleaseDir, writePendingRelease } from '../../cni/contract/pending-release.js';
import { callIpamd } from '../../cni/contract/socket-client.js';
import { AckLedger, type Held, type Outcome } from '../helpers/ack-ledger.js';
import { checkpointAssignments } from '../helpers/checkpoint-file.js';
import { getJson, kill, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';
import { rng } from '../helpers/rng.js';

const KILLS = 100;
const MAX_LIVE = 14; // m5.large: 3 interfaces x 9 addresses; stay well inside so ADDs do not wait on the cloud
const NET = { network: 'vpc-ipam', ifName: 'eth0' };

const handles: DaemonHandle[] = [];
afterAll(async () => {
  for (const h of handles) await kill(h, 'SIGKILL');
});

async function ask(h: DaemonHandle, op: 'add' | 'del', containerId: string): Promise<Outcome<Response>> {
  try {
    const value = await callIpamd(h.socket, { v: PROTOCOL_VERSION, op, ...NET, containerId }, 20_000);
    return { answered: true, value };
  } catch {
    return { answered: false }; // the daemon died under the request: it may or may not have committed
  }
}

const ipOf = (o: Outcome<Response>) =>
  o.answered && o.value.ok && 'allocation' in o.value ? o.value.allocation.ip : undefined;
const refused = (o: Outcome<Response>) => o.answered && !o.value.ok;
const yieldTurn = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Random churn against one daemon; every answer goes into the ledger. */
class Churn {
  private next = 0;
  private readonly busy = new Set<string>();
  counts = { add: 0, double: 0, race: 0, del: 0 };

  constructor(
    private readonly ledger: AckLedger,
    private readonly random: () => number,
  ) {}

  /** 4 to 6 concurrent actions, each on its own container. */
  async batch(h: DaemonHandle): Promise<void> {
    await Promise.all(Array.from({ length: 4 + Math.floor(this.random() * 3) }, () => this.act(h)));
  }

  private async act(h: DaemonHandle): Promise<void> {
    const L = this.ledger;
    const live = [...L.live.keys()].filter((id) => !this.busy.has(id) && !L.uncertain.has(id));
    const r = this.random();
    const mustDel = live.length >= MAX_LIVE || (live.length > 0 && r < 0.3);
    const kind = mustDel ? 'del' : r < 0.55 ? 'add' : r < 0.8 ? 'double' : 'race';
    this.counts[kind]++;
    const id = kind === 'del' ? live[Math.floor(this.random() * live.length)]! : `c${this.next++}`;
    this.busy.add(id);
    try {
      if (kind === 'del') {
        this.ledger.deleting.add(id);
        this.del(id, await ask(h, 'del', id));
        this.ledger.deleting.delete(id);
      } else if (kind === 'race') await this.race(h, id);
      else await this.add(h, id, kind === 'double' ? 2 : 1);
    } finally {
      this.busy.delete(id);
    }
  }

  /** One ADD, or the same ADD twice at once (a runtime retry). */
  private async add(h: DaemonHandle, id: string, times: number): Promise<void> {
    const outs = await Promise.all(Array.from({ length: times }, () => ask(h, 'add', id)));
    const ips = outs.map(ipOf).filter((ip): ip is string => ip !== undefined);
    for (const ip of ips) this.ledger.ackAdd(id, ip);
    for (const o of outs) {
      if (!o.answered) this.ledger.noAnswer(id, ips.length === 0);
      else if (refused(o)) this.ledger.refused++;
    }
  }

  private del(id: string, o: Outcome<Response>): void {
    if (!o.answered) this.ledger.noAnswer(id);
    else if (o.value.ok) this.ledger.ackDel(id);
    else {
      this.ledger.refused++;
      this.ledger.uncertain.add(id);
    }
  }

  /** ADD and DEL of a fresh container at once, in either order; DEL's `released` says which ran first. */
  private async race(h: DaemonHandle, id: string): Promise<void> {
    const addFirst = this.random() < 0.5;
    const gap = this.random() < 0.5;
    const p1 = ask(h, addFirst ? 'add' : 'del', id);
    if (gap) await yieldTurn();
    const p2 = ask(h, addFirst ? 'del' : 'add', id);
    const [oa, od] = addFirst ? await Promise.all([p1, p2]) : (await Promise.all([p1, p2])).reverse();
    const L = this.ledger;
    const ip = ipOf(oa!);
    if (refused(oa!)) L.refused++;
    if (!od!.answered || !od!.value.ok) {
      if (ip) L.ackAddThenUnsure(id);
      else this.del(id, od!); // unanswered or refused: uncertain
      if (!oa!.answered) L.noAnswer(id);
      return;
    }
    const released = 'released' in od!.value && od!.value.released === true;
    if (released) {
      // The ADD ran first; the DEL's acknowledgement is the last word.
      if (ip) L.ackAddThenDel(id);
      else {
        if (!oa!.answered) L.noAnswer(id, false);
        L.ackDel(id);
      }
    } else {
      // The DEL found nothing, so it ran first; the ADD decides.
      L.ackDel(id);
      if (ip) L.ackAdd(id, ip);
      else if (!oa!.answered) L.noAnswer(id);
    }
  }
}

/** Records in the journal beside the checkpoint (0 when absent or just compacted). */
function journalRecords(h: DaemonHandle): number {
  const file = path.join(h.env.VPC_IPAM_STATE_DIR!, 'ipam.json.journal');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length - 1 : 0;
}

function checkpointOf(h: DaemonHandle): Promise<Held[]> {
  return checkpointAssignments<Held>(path.join(h.env.VPC_IPAM_STATE_DIR!, 'ipam.json'));
}

describe('ipamd process under SIGKILL', () => {
  it('100 kills of a churn with doubled ADDs and ADD/DEL races lose no acknowledgement', async () => {
    const started = Date.now();
    let h = await startDaemon({ WARM_IP_TARGET: '3', MINIMUM_IP_TARGET: '6', IP_COOLDOWN_PERIOD: '0' });
    handles.push(h);
    const ledger = new AckLedger();
    const random = rng(7);
    const churn = new Churn(ledger, random);
    let kills = 0;
    let replayedKills = 0;
    while (kills < KILLS) {
      await churn.batch(h); // some state that is surely acknowledged
      let dying = false;
      const running = (async () => {
        while (!dying) await churn.batch(h);
      })();
      await sleep(2 + random() * 25);
      dying = true;
      await kill(h, 'SIGKILL');
      kills++;
      await running;
      ledger.verify(await checkpointOf(h), `kill ${kills}, checkpoint left behind`);
      if (journalRecords(h) > 0) replayedKills++; // the state left behind was the snapshot plus journal records
      h = await startDaemon({}, h);
      handles.push(h);
      const after = await getJson<{ assignments: Held[]; orphaned: Held[] }>(h, '/v1/assignments');
      if (after.orphaned.length) ledger.violations.push(`kill ${kills}: orphaned ${JSON.stringify(after.orphaned)}`);
      ledger.verify(after.assignments, `kill ${kills}, after restart`);
      ledger.settle(after.assignments);
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`${ledger.summary(kills)}; actions ${JSON.stringify(churn.counts)}; ${seconds} s`);
    expect(ledger.violations.slice(0, 20)).toEqual([]);
    expect(ledger.ackedAdd).toBeGreaterThan(KILLS);
    expect(ledger.ackedDel).toBeGreaterThan(KILLS);
    // The kills hit the journal, not only freshly compacted snapshots.
    expect(replayedKills).toBeGreaterThan(KILLS / 2);

    const final = await getJson<{ assignments: Held[] }>(h, '/v1/assignments');
    expect(new Map(final.assignments.map((a) => [a.containerId, a.ip]))).toEqual(ledger.live);
    for (const id of [...ledger.live.keys()]) {
      const res = await callIpamd(h.socket, { v: PROTOCOL_VERSION, op: 'del', ...NET, containerId: id });
      expect(res.ok).toBe(true);
    }
    const pool = await getJson<{ assigned: number; total: number }>(h, '/v1/pool');
    expect(pool.assigned).toBe(0);
    expect(pool.total).toBeGreaterThan(0);
    // Graceful stop writes the checkpoint and exits 0.
    expect(await kill(h, 'SIGTERM')).toBe(0);
  }, 240_000);

  it('replays DELs the plugin spooled while ipamd was down', async () => {
    let h = await startDaemon({ IP_COOLDOWN_PERIOD: '0' });
    handles.push(h);
    const key = { network: 'vpc-ipam', ifName: 'eth0' };
    for (const id of ['keep', 'gone']) {
      expect(await callIpamd(h.socket, { v: PROTOCOL_VERSION, op: 'add', ...key, containerId: id })).toMatchObject({
        ok: true,
      });
    }
    await kill(h, 'SIGKILL');
    const spool = pendingReleaseDir(h.socket);
    writePendingRelease(spool, { v: PROTOCOL_VERSION, op: 'del', ...key, containerId: 'gone' });
    h = await startDaemon({}, h);
    handles.push(h);
    const after = await getJson<{ assignments: Held[] }>(h, '/v1/assignments');
    expect(after.assignments.map((a) => a.containerId)).toEqual(['keep']);
    expect(readdirSync(spool)).toEqual([]);
  });
});
