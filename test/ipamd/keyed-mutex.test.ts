import { describe, expect, it } from 'vitest';
import { KeyedMutex } from '../../ipamd/util/keyed-mutex.js';

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('KeyedMutex', () => {
  it('runs jobs of one key one at a time, in arrival order', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const job = (name: string) => async () => {
      log.push(`${name} start`);
      await turns(3);
      log.push(`${name} end`);
      return name;
    };
    const results = await Promise.all([m.run('k', job('a')), m.run('k', job('b')), m.run('k', job('c'))]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  });

  it('runs jobs of different keys concurrently', async () => {
    const m = new KeyedMutex();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = m.run('a', () => gate);
    let otherDone = false;
    const other = m.run('b', async () => {
      otherDone = true;
    });
    await other;
    expect(otherDone).toBe(true);
    expect(m.busy('a')).toBe(true);
    release();
    await slow;
  });

  it('a failing job rejects its caller only and does not block the next one', async () => {
    const m = new KeyedMutex();
    const failed = m.run('k', async () => {
      throw new Error('boom');
    });
    const next = m.run('k', async () => 'ran');
    await expect(failed).rejects.toThrow('boom');
    expect(await next).toBe('ran');
  });

  it('forgets a key once its last job settled', async () => {
    const m = new KeyedMutex();
    await Promise.all([m.run('k', async () => 1), m.run('j', async () => 2)]);
    await turns(1);
    expect(m.size).toBe(0);
  });
});
