/**
 * @module request validation
 * Everything that arrives on the socket is checked here before it touches the
 * datastore, a path or the kernel. Container IDs follow the CNI spec's
 * alphabet, so `/` and `..` can never reach a file name or an interface name.
 */
import { z } from 'zod';
import { BadRequestError } from '../../providers/errors.js';
import { PROTOCOL_VERSION, type Request } from './protocol.js';

/** CNI spec: alphanumerics, then alphanumerics, underscore, dot, hyphen. */
export const CONTAINER_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Linux interface names: 1-15 chars, no slash, colon or whitespace, not "." or "..". */
export const IFNAME_RE = /^(?!\.{1,2}$)[^/:\s]{1,15}$/;

const containerId = z
  .string()
  .max(256)
  .regex(CONTAINER_ID_RE, 'container ID must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$')
  .refine((s) => !s.includes('..'), 'container ID must not contain ".."');
const ifName = z.string().regex(IFNAME_RE, 'interface name must be 1-15 chars without "/", ":" or spaces');
const network = z.string().min(1).max(128).regex(/^[a-zA-Z0-9_.-]+$/, 'network name may use letters, digits, "_", "." and "-"');
const netns = z.object({ path: z.string().min(1).max(4096).startsWith('/'), mtu: z.number().int().min(576).max(9001).optional() }).strict();
const pod = z
  .object({ namespace: z.string().max(253).optional(), name: z.string().max(253).optional(), uid: z.string().max(64).optional() })
  .strict();
const key = { v: z.literal(PROTOCOL_VERSION), network, containerId, ifName };

const schema = z.discriminatedUnion('op', [
  z.object({ ...key, op: z.literal('add'), pod: pod.optional(), netns: netns.optional(), waitMs: z.number().int().min(0).max(300_000).optional() }).strict(),
  z.object({ ...key, op: z.literal('del'), netns: netns.optional() }).strict(),
  z.object({ ...key, op: z.literal('check'), netns: netns.optional() }).strict(),
  z.object({ v: z.literal(PROTOCOL_VERSION), op: z.literal('status') }).strict(),
  z.object({ v: z.literal(PROTOCOL_VERSION), op: z.literal('hello') }).strict(),
  z
    .object({
      v: z.literal(PROTOCOL_VERSION),
      op: z.literal('gc'),
      network,
      valid: z.array(z.object({ containerId, ifName }).strict()).max(100_000),
    })
    .strict(),
]);

/** Parses one request line. Throws BadRequestError (code BAD_VERSION in details when the version is wrong). */
export function parseRequest(line: string): Request {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new BadRequestError('request is not valid JSON');
  }
  if (typeof raw === 'object' && raw !== null && 'v' in raw && (raw as { v: unknown }).v !== PROTOCOL_VERSION) {
    throw Object.assign(new BadRequestError(`protocol version ${JSON.stringify((raw as { v: unknown }).v)} is not supported; ipamd speaks ${PROTOCOL_VERSION}`), {
      badVersion: true,
    });
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new BadRequestError(`${issue.path.join('.') || 'request'}: ${issue.message}`);
  }
  return r.data as Request;
}
