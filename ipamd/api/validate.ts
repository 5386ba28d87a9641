/**
 * @module request validation
 * Everything that arrives on the socket is checked here before it touches the
 * datastore, a path or the kernel. Container IDs, interface names and network
 * names are judged by ./identifiers.ts, the rule book the plugin uses too, so
 * both sides accept and refuse the same names with the same problem code.
 */
import { z } from 'zod';
import { BadRequestError, InvalidIdentifierError } from '../../providers/errors.js';
import { IDENTIFIER_CHECKS, type IdentifierKind, type IdentifierProblem } from '../../cni/contract/identifiers.js';
import {
  EXEC_ENV_KEYS,
  MAX_EXEC_LINE_BYTES,
  MAX_GC_ATTACHMENTS,
  PROTOCOL_VERSION,
  type Request,
} from '../../cni/contract/protocol.js';

/** A zod field judged by the shared rule book; the problem code rides in the issue's params. */
function identifier(kind: IdentifierKind) {
  return z.any().superRefine((v: unknown, ctx) => {
    const i = IDENTIFIER_CHECKS[kind](v);
    if (i) ctx.addIssue({ code: z.ZodIssueCode.custom, message: i.message, params: { identifier: i.problem } });
  }) as unknown as z.ZodType<string>;
}

const containerId = identifier('containerId');
const ifName = identifier('ifName');
const network = identifier('network');
const netns = z
  .object({ path: z.string().min(1).max(4096).startsWith('/'), mtu: z.number().int().min(576).max(9001).optional() })
  .strict();
const pod = z
  .object({
    namespace: z.string().max(253).optional(),
    name: z.string().max(253).optional(),
    uid: z.string().max(64).optional(),
  })
  .strict();
const key = { v: z.literal(PROTOCOL_VERSION), network, containerId, ifName };
/**
 * exec's envelope only: the variables and stdin are the plugin's to judge (cni/env.ts, cni/config.ts), with its
 * own messages and CNI error codes, before anything touches a path or the kernel. Here: no variable beyond the
 * CNI_* the plugin reads, none longer than the plugin accepts (CNI_ARGS 8192, a path 4096), no NUL.
 */
const envValue = z
  .string()
  .max(8192)
  .refine((s) => !s.includes('\0'), 'contains a NUL character');
const execEnv = z.object(Object.fromEntries(EXEC_ENV_KEYS.map((k) => [k, envValue.optional()]))).strict();

const schema = z.discriminatedUnion('op', [
  z
    .object({
      ...key,
      op: z.literal('add'),
      pod: pod.optional(),
      netns: netns.optional(),
      waitMs: z.number().int().min(0).max(300_000).optional(),
    })
    .strict(),
  z.object({ ...key, op: z.literal('del'), netns: netns.optional() }).strict(),
  z.object({ ...key, op: z.literal('check'), netns: netns.optional() }).strict(),
  z.object({ v: z.literal(PROTOCOL_VERSION), op: z.literal('status') }).strict(),
  z.object({ v: z.literal(PROTOCOL_VERSION), op: z.literal('hello') }).strict(),
  z
    .object({
      v: z.literal(PROTOCOL_VERSION),
      op: z.literal('exec'),
      env: execEnv,
      stdin: z.string().max(MAX_EXEC_LINE_BYTES),
    })
    .strict(),
  z
    .object({
      v: z.literal(PROTOCOL_VERSION),
      op: z.literal('gc'),
      network,
      // A node's attachments; the socket's line limit for gc is sized from this (api/protocol.ts).
      valid: z.array(z.object({ containerId, ifName }).strict()).max(MAX_GC_ATTACHMENTS),
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
    throw Object.assign(
      new BadRequestError(
        `protocol version ${JSON.stringify((raw as { v: unknown }).v)} is not supported; ` +
          `ipamd speaks ${PROTOCOL_VERSION}`,
      ),
      {
        badVersion: true,
      },
    );
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.join('.') || 'request';
    const custom = issue.code === z.ZodIssueCode.custom;
    const problem = custom ? (issue.params?.identifier as IdentifierProblem | undefined) : undefined;
    if (problem) throw new InvalidIdentifierError(where, problem, `${where}: ${issue.message}`);
    throw new BadRequestError(`${where}: ${issue.message}`);
  }
  return r.data as Request;
}
