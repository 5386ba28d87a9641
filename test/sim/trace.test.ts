import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTrace, TraceError } from '../../ipamd/sim/trace.js';

describe('parseTrace', () => {
  it('reads events, skipping comments and blank lines, in ms, with their line numbers', () => {
    const t = parseTrace('# a node\n\nt_seconds,op,pod\n0,add,a\n# mid comment\n1.5,add,b\n2.0005,del,a\n', 'x.csv');
    expect(t.events).toEqual([
      { tMs: 0, op: 'add', pod: 'a', line: 4 },
      { tMs: 1500, op: 'add', pod: 'b', line: 6 },
      { tMs: 2001, op: 'del', pod: 'a', line: 7 },
    ]);
    expect(t.durationMs).toBe(2001);
    expect(t.source).toBe('x.csv');
  });

  it('accepts CRLF line ends and spaces around fields', () => {
    const t = parseTrace('t_seconds, op, pod\r\n 3 , add , web-1 \r\n', 'x.csv');
    expect(t.events).toEqual([{ tMs: 3000, op: 'add', pod: 'web-1', line: 2 }]);
  });

  it('lets a pod come back after its del (a new sandbox with the same name)', () => {
    const t = parseTrace('t_seconds,op,pod\n0,add,a\n1,del,a\n2,add,a\n', 'x.csv');
    expect(t.events.map((e) => e.op)).toEqual(['add', 'del', 'add']);
  });

  const bad: Array<[string, string, number, RegExp]> = [
    ['empty file', '', 0, /no "t_seconds,op,pod" header/],
    ['only comments', '# nothing\n\n', 0, /no "t_seconds,op,pod" header/],
    ['header only', 't_seconds,op,pod\n', 0, /no events/],
    ['wrong header', 'time,op,pod\n0,add,a\n', 1, /expected the header "t_seconds,op,pod", got "time,op,pod"/],
    ['too few fields', 't_seconds,op,pod\n0,add,a\n1,add\n', 3, /expected 3 comma-separated fields .* got 2/],
    ['too many fields', 't_seconds,op,pod\n0,add,a,extra\n', 2, /got 4/],
    ['negative time', 't_seconds,op,pod\n-1,add,a\n', 2, /non-negative decimal number, got "-1"/],
    ['not a number', 't_seconds,op,pod\n0,add,a\nsoon,add,b\n', 3, /got "soon"/],
    ['exponent', 't_seconds,op,pod\n1e3,add,a\n', 2, /got "1e3"/],
    ['time going backwards', 't_seconds,op,pod\n5,add,a\n4.999,add,b\n', 3, /time goes backwards: 4.999 s after 5 s/],
    ['unknown op', 't_seconds,op,pod\n0,ADD,a\n', 2, /op must be "add" or "del", got "ADD"/],
    ['empty pod', 't_seconds,op,pod\n0,add,\n', 2, /pod must be a name/],
    ['pod with a space', 't_seconds,op,pod\n0,add,my pod\n', 2, /pod must be a name/],
    [
      'add twice',
      't_seconds,op,pod\n0,add,a\n1,add,b\n2,add,a\n',
      4,
      /pod "a" is added again without a del \(added on line 2\)/,
    ],
    ['del of an unknown pod', 't_seconds,op,pod\n0,add,a\n1,del,b\n', 3, /pod "b" is deleted but was never added/],
    ['del twice', 't_seconds,op,pod\n0,add,a\n1,del,a\n2,del,a\n', 4, /pod "a" is deleted twice/],
  ];

  it.each(bad)('rejects %s with the line number', (_name, text, line, message) => {
    let err: unknown;
    try {
      parseTrace(text, 'bad.csv');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TraceError);
    const te = err as TraceError;
    expect(te.line).toBe(line);
    expect(te.code).toBe('BAD_REQUEST');
    expect(te.message).toMatch(message);
    expect(te.message.startsWith(line > 0 ? `bad.csv:${line}: ` : 'bad.csv: ')).toBe(true);
  });

  it('reads the shared steady trace', () => {
    // The benchmark's copy has two extra comment lines at the top; its events are the shared file's.
    const t = parseTrace(readFileSync('test/bench/traces/steady.csv', 'utf8'), 'steady.csv');
    expect(t.events.filter((e) => e.op === 'add')).toHaveLength(1095);
    expect(t.events.filter((e) => e.op === 'del')).toHaveLength(1095);
    expect(t.durationMs).toBe(23_647_022);
  });
});
