/**
 * The snapshot warm-up (cni/warm-up.ts) must really run ADD and DEL to the end, or the snapshot carries no
 * bytecode for them and the plugin silently pays lazy compilation again; and it must need nothing of the
 * machine (no namespace, no ipamd, no root), because it runs inside `npm run build:cni`.
 */
import { describe, expect, it } from 'vitest';
import { warmUpVerbs } from '../../cni/warm-up.js';

describe('snapshot warm-up', () => {
  it('answers VERSION, completes an ADD through the socket client, and a DEL that prints nothing', async () => {
    const out = await warmUpVerbs();
    expect(JSON.parse(out.version)).toMatchObject({ supportedVersions: expect.arrayContaining(['1.1.0']) });
    const add = JSON.parse(out.add) as { ips?: Array<{ address: string }>; code?: number };
    expect(add.code).toBeUndefined();
    expect(add.ips?.[0]?.address).toBe('192.0.2.10/32');
    expect(out.del).toBe('');
  });

  it('can run twice in one process (nothing of the first run is left to collide with)', async () => {
    await warmUpVerbs();
    await expect(warmUpVerbs()).resolves.toMatchObject({ del: '' });
  });
});
