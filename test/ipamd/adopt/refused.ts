/** Test helper: the {@link AdoptionRefusedError} `fn` throws; fails the test when it throws nothing or another error. */
import { expect } from 'vitest';
import { AdoptionRefusedError } from '../../../ipamd/adopt/errors.js';

export function refusedBy(fn: () => unknown): AdoptionRefusedError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AdoptionRefusedError);
    return err as AdoptionRefusedError;
  }
  throw new Error('not refused');
}
