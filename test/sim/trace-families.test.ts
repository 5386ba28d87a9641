/**
 * The benchmark's second trace generator (test/bench/traces/families.ts):
 * every kind makes a valid trace, the same one for the same seed, another
 * for another seed, and never more Pods at once than the node's cap.
 */
import { describe, expect, it } from 'vitest';
import { parseTrace } from '../../ipamd/sim/trace.js';
import { familyCases, PARAMS } from '../bench/pool-families.js';
import { familyTrace, type FamilyKind } from '../bench/traces/families.js';

describe('familyTrace', () => {
  for (const kind of Object.keys(PARAMS) as FamilyKind[]) {
    it(`${kind}: valid, deterministic, within the cap`, () => {
      const p = { ...PARAMS[kind][0]!, durationS: 2 * 3_600, maxPods: 12 } as Parameters<typeof familyTrace>[1];
      const a = familyTrace(kind, p, 1);
      expect(familyTrace(kind, p, 1)).toBe(a);
      expect(familyTrace(kind, p, 2)).not.toBe(a);
      const t = parseTrace(a, kind);
      let live = 0;
      let most = 0;
      for (const e of t.events) {
        live += e.op === 'add' ? 1 : -1;
        most = Math.max(most, live);
      }
      expect(most).toBeLessThanOrEqual(12);
      expect(t.events.filter((e) => e.op === 'add').length).toBeGreaterThan(5);
    });
  }

  it('the benchmark cases: unique names, both instance types, tuning and held-out seeds', () => {
    const cases = familyCases();
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    expect(new Set(cases.map((c) => c.instanceType))).toEqual(new Set(['m5.large', 'm5.xlarge']));
    expect(cases.some((c) => c.heldOut) && cases.some((c) => !c.heldOut)).toBe(true);
  });
});
