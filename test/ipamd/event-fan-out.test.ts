/** Reconciler events reach every subscriber directly, in order, with the arguments the reconciler gave. */
import { describe, expect, it } from 'vitest';
import { fanOutEvents } from '../../ipamd/pool/event-fan-out.js';

describe('fanOutEvents', () => {
  it('calls each subscriber of an event in order, with the original arguments', () => {
    const calls: string[] = [];
    const events = fanOutEvents([
      { onGrowthBlocked: (reason, code, until) => calls.push(`a:${reason}:${code}:${until}`) },
      { onPoolChanged: () => calls.push('b:changed') },
      { onGrowthBlocked: (_r, _c, until, typed) => calls.push(`c:${until}:${typed}`) },
    ]);
    events.onGrowthBlocked?.('subnet full', 'InsufficientFreeAddressesInSubnet', 120_000, 'CLOUD_SUBNET_FULL');
    events.onPoolChanged?.();
    expect(calls).toEqual([
      'a:subnet full:InsufficientFreeAddressesInSubnet:120000',
      'c:120000:CLOUD_SUBNET_FULL',
      'b:changed',
    ]);
    expect(events.onSync).toBeUndefined();
  });
});
