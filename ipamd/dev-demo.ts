/**
 * @module dev demo workload
 * `npm start`'s demo: a few Pods come and go through the real socket, so the
 * pool moves. They use a fixed set of IDs (`demo-0` … `demo-19`), so a
 * restart after a crash finds the previous run's Pods in the checkpoint and
 * adopts them instead of leaking them, and `stop()` deletes every Pod the demo
 * holds before the daemon stops: Ctrl-C leaves nothing assigned, however many
 * times the runner starts.
 */
import { PROTOCOL_VERSION } from '../cni/contract/protocol.js';
import { callIpamd } from '../cni/contract/socket-client.js';
import type { Assignment } from './datastore/types.js';

export const DEMO_NETWORK = 'vpc-ipam';
export const DEMO_SLOTS = 20;
const DEMO_ID = /^demo-(\d+)$/;
/** IDs of earlier versions (`demo-<pid>-<n>`): never reused, so deleted at start. */
const OLD_DEMO_ID = /^demo-\d+-\d+$/;

export interface DemoOptions {
  socket: string;
  /** What the daemon holds now (its datastore), to adopt or clean up an earlier run's Pods. */
  assignments: () => Assignment[];
  /** Mean pause between two steps; each pause is this to 2.3 × this. */
  intervalMs: number;
  /** Told what was adopted, cleaned and deleted (the terminal). */
  say?: (line: string) => void;
}

export interface Demo {
  /** Stops the loop and deletes every demo Pod; resolves when they are released. */
  stop(): Promise<number>;
}

function call(socket: string, op: 'add' | 'del', containerId: string) {
  const req = { v: PROTOCOL_VERSION, op, network: DEMO_NETWORK, containerId, ifName: 'eth0' } as const;
  return callIpamd(socket, req).catch(() => undefined);
}

export function startDemo(o: DemoOptions): Demo {
  let stopped = false;
  let wake: (() => void) | undefined;
  const live = new Set<string>();
  const mine = o.assignments().filter((a) => a.network === DEMO_NETWORK && a.ifName === 'eth0');
  for (const a of mine) if (DEMO_ID.test(a.containerId)) live.add(a.containerId);
  const old = mine.filter((a) => OLD_DEMO_ID.test(a.containerId)).map((a) => a.containerId);
  if (live.size) o.say?.(`demo: adopted ${live.size} Pod(s) an earlier run left behind`);
  const loop = (async () => {
    for (const id of old) await call(o.socket, 'del', id);
    if (old.length) o.say?.(`demo: deleted ${old.length} Pod(s) of an older demo`);
    while (!stopped) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, o.intervalMs * (1 + Math.random() * 1.3));
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
      if (stopped) break;
      const add = live.size < 4 || (live.size < DEMO_SLOTS && Math.random() < 0.55);
      if (add) {
        let slot = 0;
        while (live.has(`demo-${slot}`)) slot++;
        const id = `demo-${slot}`;
        const res = await call(o.socket, 'add', id);
        if (res?.ok) live.add(id);
      } else {
        const ids = [...live];
        const id = ids[Math.floor(Math.random() * ids.length)]!;
        const res = await call(o.socket, 'del', id);
        if (res?.ok) live.delete(id);
      }
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      wake?.();
      await loop;
      // Also what the daemon holds under a demo ID: an ADD whose answer was lost may still have been assigned.
      const held = o.assignments().filter((a) => a.network === DEMO_NETWORK && a.ifName === 'eth0');
      for (const a of held) if (DEMO_ID.test(a.containerId) || OLD_DEMO_ID.test(a.containerId)) live.add(a.containerId);
      let deleted = 0;
      for (const id of live) if ((await call(o.socket, 'del', id))?.ok) deleted++;
      return deleted;
    },
  };
}
