import { describe, expect, it } from 'vitest';
import { routeTableFor as fromHandlerSide } from '../../ipamd/netns/route-table.js';
import { routeTableFor as fromPlumberSide } from '../../ipamd/netns/host-interface.js';

describe('routeTableFor: one definition for answers, plumbing and introspection', () => {
  it('gives the main table (0) to the primary interface and n + 1 to secondary interface n', () => {
    expect(fromHandlerSide(0)).toBe(0);
    expect(fromHandlerSide(1)).toBe(2);
    expect(fromHandlerSide(14)).toBe(15);
    expect(fromPlumberSide).toBe(fromHandlerSide);
  });
});
