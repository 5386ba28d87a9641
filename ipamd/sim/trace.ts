/**
 * @module sim trace
 * The per-node Pod churn trace the simulator replays: CSV with the header
 * `t_seconds,op,pod` (`op` is `add` or `del`), `#` comment lines and blank
 * lines allowed. Times are seconds from the moment the node's ipamd became
 * ready (the kubelet schedules nothing earlier) and never go backwards.
 *
 * A trace is checked as a whole before anything runs, and every mistake is
 * reported with its 1-based line number: a replay of a wrong trace would
 * produce plausible-looking numbers, which is worse than no numbers.
 */
import { BadRequestError } from '../../providers/errors.js';

export type TraceOp = 'add' | 'del';

export interface TraceEvent {
  /** Milliseconds from the start of the trace. */
  tMs: number;
  op: TraceOp;
  pod: string;
  /** 1-based line in the source, for messages. */
  line: number;
}

export interface Trace {
  source: string;
  events: TraceEvent[];
  /** Time of the last event (ms); the replay measures over [0, durationMs]. */
  durationMs: number;
}

/** A malformed trace line; `line` is 1-based (0 when the problem is the file as a whole). */
export class TraceError extends BadRequestError {
  constructor(
    readonly source: string,
    readonly line: number,
    detail: string,
  ) {
    super(line > 0 ? `${source}:${line}: ${detail}` : `${source}: ${detail}`);
  }
}

const HEADER = 't_seconds,op,pod';
const POD_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,252}$/;
const NUMBER = /^\d+(\.\d+)?$/;

/** Parses and checks a trace; throws a {@link TraceError} naming the first bad line. */
export function parseTrace(text: string, source = 'trace'): Trace {
  const lines = text.split(/\r?\n/);
  const events: TraceEvent[] = [];
  const live = new Map<string, number>(); // pod → line of its add
  const seen = new Set<string>();
  let header = false;
  let last = 0;
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const raw = lines[i]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    if (!header) {
      if (raw.replace(/\s+/g, '') !== HEADER)
        throw new TraceError(source, n, `expected the header "${HEADER}", got "${clip(raw)}"`);
      header = true;
      continue;
    }
    const cols = raw.split(',').map((c) => c.trim());
    if (cols.length !== 3)
      throw new TraceError(
        source,
        n,
        `expected 3 comma-separated fields (t_seconds,op,pod), got ${cols.length}: "${clip(raw)}"`,
      );
    const [t, op, pod] = cols as [string, string, string];
    if (!NUMBER.test(t))
      throw new TraceError(source, n, `t_seconds must be a non-negative decimal number, got "${clip(t)}"`);
    const tMs = Math.round(Number(t) * 1000);
    if (!Number.isSafeInteger(tMs)) throw new TraceError(source, n, `t_seconds ${clip(t)} is too large`);
    if (tMs < last) throw new TraceError(source, n, `time goes backwards: ${t} s after ${last / 1000} s`);
    if (op !== 'add' && op !== 'del') throw new TraceError(source, n, `op must be "add" or "del", got "${clip(op)}"`);
    if (!POD_NAME.test(pod))
      throw new TraceError(
        source,
        n,
        `pod must be a name of letters, digits and ._:/- (at most 253), got "${clip(pod)}"`,
      );
    if (op === 'add') {
      const at = live.get(pod);
      if (at !== undefined)
        throw new TraceError(source, n, `pod "${pod}" is added again without a del (added on line ${at})`);
      live.set(pod, n);
      seen.add(pod);
    } else {
      if (!live.has(pod)) {
        throw new TraceError(
          source,
          n,
          seen.has(pod) ? `pod "${pod}" is deleted twice` : `pod "${pod}" is deleted but was never added`,
        );
      }
      live.delete(pod);
    }
    events.push({ tMs, op, pod, line: n });
    last = tMs;
  }
  if (!header) throw new TraceError(source, 0, `empty trace: no "${HEADER}" header`);
  if (events.length === 0) throw new TraceError(source, 0, 'the trace has a header but no events');
  return { source, events, durationMs: last };
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
