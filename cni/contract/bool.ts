/**
 * @module booleans
 * The one boolean parser for every variable and switch (ipamd, providers,
 * Kubernetes settings, the CNI plugin's CNI_ARGS). It takes exactly what Go's
 * `strconv.ParseBool` takes, because the AWS VPC CNI reads its variables with
 * it: a DaemonSet moved over from aws-node must mean the same thing here, and
 * anything else (`yes`, `on`, `enabled`) is refused rather than guessed.
 * No imports: it is part of the contract every layer may use (cni/contract), and the CNI plugin bundles it.
 */

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** For error messages: what {@link parseBool} accepts. */
export const BOOL_SPELLINGS = '1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False';

/** Go's `strconv.ParseBool`: true or false for its twelve spellings, undefined for anything else. */
export function parseBool(raw: string): boolean | undefined {
  if (TRUE.has(raw)) return true;
  if (FALSE.has(raw)) return false;
  return undefined;
}
