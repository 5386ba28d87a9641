/**
 * @module plugin host
 * Runs one CNI invocation inside ipamd for the compiled shim (cni/shim/vpc-ipam-shim.c), which the runtime execs
 * instead of the Node single executable: one exec of a small C program instead of a Node start (~45 ms) per ADD
 * and per DEL (docs/cni.md "The shim").
 *
 * What runs is the plugin itself, cni/main.ts `runCli`, on the runtime's CNI_* variables and stdin as the shim
 * read them: the same validation, in the same order, before anything touches a path or the kernel (the CNI_NETNS
 * probe included: a path naming ipamd's or PID 1's namespace is refused, as it is for the plugin process, whose
 * namespace is the host's too), the same CNI result and error objects, the same log lines in the same log file.
 * Only the ipamd client differs: {@link InProcessClient} hands each request to the socket's own handler (lanes,
 * metrics) after the socket's own validation, with the plugin's reply budget, instead of a connection.
 *
 * The one exception to the rule that ipamd imports only cni/contract (.dependency-cruiser.cjs, rule
 * ipamd-not-cni-internals): this module may import cni/main.ts, lazily, so a daemon that never serves an exec
 * loads none of the plugin.
 */
import {
  PROTOCOL_VERSION,
  type ExecRequest,
  type ExecResponse,
  type Request,
  type Response,
} from '../../cni/contract/protocol.js';
import { IpamdUnavailableError, type IpamdClient, type RequestBody } from '../../cni/contract/socket-client.js';
import { BadRequestError } from '../../providers/errors.js';
import { errorBody } from './handler.js';
import { parseRequest } from './validate.js';

export type Handle = (req: Request) => Promise<Response>;

/**
 * The plugin's client, answered by `handle` in this process. Requests and replies still go through JSON, so the
 * handler sees exactly what the socket would give it (parseRequest's checks included) and the plugin exactly
 * what it would read from the socket. No reply within `timeoutMs` is a `timeout`, as on the socket: ADD answers
 * "try again later", DEL tears down offline and leaves a pending release, as the plugin process does.
 */
export class InProcessClient implements IpamdClient {
  constructor(private readonly handle: Handle) {}

  async call(body: RequestBody, timeoutMs: number): Promise<Response> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new IpamdUnavailableError('timeout', `no reply from ipamd (in process) within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.answer(JSON.stringify({ v: PROTOCOL_VERSION, ...body })), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async answer(line: string): Promise<Response> {
    let req: Request;
    try {
      req = parseRequest(line);
      // The plugin never sends exec; refusing it here keeps a run from nesting another.
      if (req.op === 'exec') throw new BadRequestError('exec inside exec');
    } catch (err) {
      return { ok: false, error: errorBody(err) };
    }
    return JSON.parse(JSON.stringify(await this.handle(req))) as Response;
  }
}

type RunCli = typeof import('../../cni/main.js').runCli;
let plugin: Promise<RunCli> | undefined;

/** The plugin's code, loaded at the first exec. */
function loadPlugin(): Promise<RunCli> {
  plugin ??= import('../../cni/main.js').then((m) => m.runCli);
  return plugin;
}

/** Runs the plugin on `req`'s environment and stdin; its exit status and stdout are the answer. */
export async function runExec(req: ExecRequest, handle: Handle): Promise<ExecResponse> {
  const runCli = await loadPlugin();
  let stdout = '';
  const exitCode = await runCli({
    env: { ...req.env },
    readStdin: () => Buffer.from(req.stdin, 'utf8'),
    writeStdout: (s) => {
      stdout += s;
    },
    deps: { client: new InProcessClient(handle) },
  });
  return { ok: true, exitCode, stdout };
}
