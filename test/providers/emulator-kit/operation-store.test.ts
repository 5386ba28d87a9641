/**
 * The emulator kit's operation store on a virtual clock: an operation is pending until its time, lands then
 * whether or not anyone looks, `wait` returns at the due time or the cap, and never leaves a due operation
 * pending; `flush` lands everything; only finished operations are forgotten.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock, type Clock } from '../../../ipamd/util/clock.js';
import { OperationStore } from '../../../providers/emulator-kit/operation-store.js';

interface Op {
  id: string;
  done: boolean;
  doneAtMs?: number;
}

/**
 * A clock whose timers fire only when the test says, at whatever time it has set: how a system timer that
 * fires a millisecond before its time by the wall clock looks to the store.
 */
class HandClock implements Clock {
  t = 0;
  readonly timers: Array<() => void> = [];
  now(): number {
    return this.t;
  }
  sleep(): Promise<void> {
    return new Promise((resolve) => this.timers.push(resolve));
  }
}

function store(clock: Clock, keep?: number, forgotten: string[] = []) {
  const s = new OperationStore<Op>({
    clock,
    complete: (op) => {
      op.done = true;
      op.doneAtMs = clock.now();
    },
    forget: (op) => forgotten.push(op.id),
    ...(keep !== undefined ? { keep } : {}),
  });
  const add = (id: string, ms: number) => {
    const op: Op = { id, done: false };
    s.schedule(id, op, ms);
    return op;
  };
  return { s, add };
}

describe('emulator kit: operation store', () => {
  it('lands an operation at its time on the clock, even if nobody polls', async () => {
    const clock = new VirtualClock(1_000);
    const { s, add } = store(clock);
    const op = add('a', 3_000);
    expect(s.isPending('a')).toBe(true);
    await clock.advance(2_999);
    expect(op.done).toBe(false);
    await clock.advance(1);
    expect(op).toEqual({ id: 'a', done: true, doneAtMs: 4_000 });
    expect(s.dueAt('a')).toBeUndefined();
  });

  it('settles from the clock on a read, before the timer has fired', () => {
    const clock = new HandClock();
    const { s, add } = store(clock);
    const op = add('a', 500);
    clock.t = 500; // due, its timer not fired (a late timer, or a clock set without running its timers)
    expect(s.peek('a')?.done).toBe(false);
    expect(s.get('a')?.done).toBe(true);
    expect(op.doneAtMs).toBe(500);
  });

  it('wait: returns at the due time with the operation done, or at the cap with it pending', async () => {
    const clock = new VirtualClock(0);
    const { s, add } = store(clock);
    const slow = add('slow', 10_000);
    const capped = s.wait('slow', 2_000);
    await clock.advance(2_000);
    await capped;
    expect(slow.done).toBe(false);
    const fast = add('fast', 1_000);
    const waited = s.wait('fast', 5_000);
    await clock.advance(1_000);
    await waited;
    expect(fast).toMatchObject({ done: true, doneAtMs: 3_000 });
  });

  it('wait: a wait that slept until the due time completes the operation, even if its timer fired early', async () => {
    const clock = new HandClock();
    const { s, add } = store(clock);
    const op = add('a', 1_000);
    const waited = s.wait('a', 60_000);
    await Promise.resolve();
    expect(clock.timers).toHaveLength(2); // the operation's own, then the wait's
    clock.t = 999; // the wait's timer fires a millisecond early by the clock; the operation's has not fired
    clock.timers[1]!();
    await waited;
    expect(op.done).toBe(true);
  });

  it('wait: a cap of 0 answers at once, as an overloaded server may', async () => {
    const clock = new VirtualClock(0);
    const { s, add } = store(clock);
    const op = add('a', 1_000);
    await s.wait('a', 0);
    expect(op.done).toBe(false);
    expect(clock.now()).toBe(0);
  });

  it('flush lands every pending operation now; a recorded one is never completed', async () => {
    const clock = new VirtualClock(0);
    const { s, add } = store(clock);
    const a = add('a', 1_000);
    const b = add('b', 2_000);
    const refused: Op = { id: 'refused', done: false };
    s.record('refused', refused);
    s.flush();
    expect([a.done, b.done, refused.done]).toEqual([true, true, false]);
    expect(clock.pending()).toBe(0); // their timers are cancelled
  });

  it('keeps a bounded number of operations, forgetting the oldest finished ones, never a pending one', async () => {
    const clock = new VirtualClock(0);
    const forgotten: string[] = [];
    const { s, add } = store(clock, 2, forgotten);
    add('pending', 60_000);
    add('done1', 0);
    await clock.advance(0);
    add('done2', 0);
    await clock.advance(0);
    add('new', 1_000);
    expect(forgotten).toEqual(['done1', 'done2']);
    expect(s.values().map((o) => o.id)).toEqual(['pending', 'new']);
  });
});
