/**
 * @module support bundle redaction
 * What `vpc-ipamctl support-bundle` removes before anything reaches the archive, which an operator attaches to
 * a ticket. Two passes over every text it collects:
 *
 * - by name, in JSON and in `NAME=value` lines (the environment, sysctls): a value whose name has a word
 *   token, secret, password, passwd, credential(s), authorization, cookie, or ends in a word `key` after another
 *   word (`AWS_SECRET_ACCESS_KEY`, `privateKey`, `GCP_SA_KEY`). A bare `key` or `keys` is not a secret name: the
 *   datastore keys its assignments by `key`, and hiding those would hide what the bundle is for;
 * - by shape, anywhere: AWS access key ids (`AKIA…`, `ASIA…`), bearer tokens, JWTs (service-account tokens)
 *   and PEM private keys.
 */

export const REDACTED = '[redacted]';

const SECRET_WORDS = new Set([
  'token',
  'tokens',
  'secret',
  'secrets',
  'password',
  'passwd',
  'credential',
  'credentials',
  'authorization',
  'cookie',
  'apikey',
]);

/** `AWS_SECRET_ACCESS_KEY` → aws, secret, access, key; `privateKey` → private, key. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

export function isSecretName(name: string): boolean {
  const w = words(name);
  if (w.some((x) => SECRET_WORDS.has(x))) return true;
  return w.length > 1 && w[w.length - 1] === 'key';
}

const SHAPES: ReadonlyArray<[RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, REDACTED],
  [/\b(?:AKIA|ASIA|AIDA|AROA)[0-9A-Z]{16}\b/g, REDACTED],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, REDACTED],
];

/** Replaces secret-shaped substrings anywhere in `text`. */
export function redactShapes(text: string): string {
  let out = text;
  for (const [re, by] of SHAPES) out = out.replace(re, by);
  return out;
}

/** A parsed JSON value with every secret-named member's value replaced, and secret shapes in strings. */
export function redactJson(value: unknown): unknown {
  if (typeof value === 'string') return redactShapes(value);
  if (Array.isArray(value)) return value.map(redactJson);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = isSecretName(k) && v !== null && v !== '' && typeof v !== 'boolean' ? REDACTED : redactJson(v);
  }
  return out;
}

/** `NAME=value` lines (an environment): secret-named values replaced, then shapes. */
export function redactAssignments(lines: ReadonlyArray<readonly [string, string]>): string {
  return lines
    .map(([k, v]) => `${k}=${isSecretName(k) && v !== '' ? REDACTED : redactShapes(v)}`)
    .join('\n')
    .concat('\n');
}

/** Any collected text: JSON redacted by name and shape, anything else by shape. */
export function redactText(text: string): string {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return `${JSON.stringify(redactJson(JSON.parse(text)), null, 2)}\n`;
    } catch {
      // Not one JSON document (JSON lines, a log): by shape, line by line below.
    }
  }
  return redactShapes(text).split('\n').map(redactJsonLine).join('\n');
}

/** A log line that is a JSON object (pino, the plugin) gets the by-name pass too. */
function redactJsonLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    return JSON.stringify(redactJson(JSON.parse(line)));
  } catch {
    return line;
  }
}
