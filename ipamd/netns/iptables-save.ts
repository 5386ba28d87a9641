/**
 * @module iptables-save output: parsing, and a canonical key per rule (pure)
 * verify() must tell "our rule is there" from "it is not" by reading `iptables-save`, in a fresh process
 * that never applied anything (ipamd restarts, then verifies). iptables-save prints a rule in its own
 * canonical form, which can differ from the text that was fed in: quoting (`--comment x` vs `"x"`), host
 * bits (`-d 10.0.0.5/16` reads back as `10.0.0.0/16`, a bare address as `/32`), mark spelling
 * (`--set-mark 128` as `--set-xmark 0x80/0xffffffff`), the order of options. {@link ruleKey} maps both
 * sides to one string: it parses a rule into its base options, its `-m` matches and its `-j` target, puts
 * each part's options (and the matches) in a fixed order, and writes values in one spelling. Our rules are
 * also rendered in iptables-save's own form (snat-rules.ts), so the key only has to absorb quoting and the
 * spellings above; the privileged tests check both backends' real output against it.
 */

import { Address4 } from 'ip-address';

export interface SavedRule {
  chain: string;
  /** Tokens after `-A <chain>`, unquoted: argv for `iptables -D <chain> ...`. */
  args: string[];
}

export interface SavedTable {
  /** Every chain declared (`:NAME POLICY [p:b]`), built-in or not. */
  chains: Set<string>;
  rules: SavedRule[];
}

/** Splits one line as iptables-save quotes it: double quotes, with `\"`, `\'` and `\\` escaped inside. */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '\\' && i + 1 < line.length) cur += line[++i];
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') {
      quoted = true;
      inToken = true;
    } else if (c === ' ' || c === '\t') {
      if (inToken) out.push(cur);
      cur = '';
      inToken = false;
    } else {
      cur += c;
      inToken = true;
    }
  }
  if (inToken) out.push(cur);
  return out;
}

/** Tables of an iptables-save text (one table or all), by name. */
export function parseSave(text: string): Map<string, SavedTable> {
  const tables = new Map<string, SavedTable>();
  let t: SavedTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      t = { chains: new Set(), rules: [] };
      tables.set(line.slice(1), t);
    } else if (!t || line === 'COMMIT' || line.startsWith('#')) {
      continue;
    } else if (line.startsWith(':')) {
      t.chains.add(line.slice(1).split(' ')[0]!);
    } else if (line.startsWith('-A ')) {
      const [, chain, ...args] = tokenize(line);
      if (chain) t.rules.push({ chain, args });
    }
  }
  return tables;
}

/** The chain a rule jumps or goes to (`-j X` / `-g X`), if any. */
export function jumpTarget(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length - 1; i++) if (args[i] === '-j' || args[i] === '-g') return args[i + 1];
  return undefined;
}

/** The options iptables itself parses (not a match's), long form to the short one iptables-save prints. */
const BASE_OPTIONS = new Map([
  ['-s', '-s'],
  ['--source', '-s'],
  ['-d', '-d'],
  ['--destination', '-d'],
  ['-i', '-i'],
  ['--in-interface', '-i'],
  ['-o', '-o'],
  ['--out-interface', '-o'],
  ['-p', '-p'],
  ['--protocol', '-p'],
  ['-f', '-f'],
  ['--fragment', '-f'],
]);
const isOption = (t: string): boolean => /^--?[A-Za-z]/.test(t);
const MARKISH = /mark|mask/i;

function hexOf(v: string): string | undefined {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? `0x${n.toString(16)}` : undefined;
}

/** `-s`/`-d` values as iptables stores them: network address and prefix length. */
function canonicalAddress(v: string): string {
  const [addr, len] = v.split('/');
  if (!addr || !Address4.isValid(addr) || (len !== undefined && !/^\d{1,2}$/.test(len))) return v;
  try {
    const a = new Address4(`${addr}/${len ?? '32'}`);
    return `${a.startAddress().correctForm()}/${a.subnetMask}`;
  } catch {
    return v;
  }
}

/** Mark values and masks in one spelling: `0x80/0xffffffff` for a bare `--set-mark 128`. */
function canonicalMark(option: string, v: string): string {
  const [val, mask, ...rest] = v.split('/');
  const h = hexOf(val ?? '');
  if (rest.length || h === undefined) return v;
  if (mask === undefined) return option === '--set-xmark' ? `${h}/0xffffffff` : h;
  return `${h}/${hexOf(mask) ?? mask}`;
}

/** Groups a part's tokens into options: `[!] --flag value...`. */
function options(tokens: readonly string[], part: string): string[] {
  const opts: string[][] = [];
  let cur: string[] | undefined;
  let negate = false;
  for (const t of tokens) {
    if (t === '!') {
      negate = true;
      continue;
    }
    if (isOption(t) || !cur) {
      cur = negate ? ['!', t] : [t];
      opts.push(cur);
    } else {
      cur.push(t);
    }
    negate = false;
  }
  return opts
    .map((o) => {
      const flag = o[0] === '!' ? o[1]! : o[0]!;
      let name = flag;
      let values = o.slice(o[0] === '!' ? 2 : 1);
      // The old spellings of CONNMARK's options, as iptables-save prints them.
      if (part === 'CONNMARK' && name === '--set-mark') name = '--set-xmark';
      if (part === 'CONNMARK' && name === '--mask') {
        const m = values.map((v) => ` ${JSON.stringify(hexOf(v) ?? v)}`).join('');
        return [`--nfmask${m}`, `--ctmask${m}`];
      }
      if (name === '-s' || name === '-d') {
        values = values.map(canonicalAddress);
      } else if (MARKISH.test(name)) {
        values = values.map((v) => canonicalMark(name, v));
      }
      const neg = o[0] === '!' ? '! ' : '';
      return [`${neg}${name}${values.map((v) => ` ${JSON.stringify(v)}`).join('')}`];
    })
    .flat()
    .sort();
}

/**
 * One string per rule meaning: equal keys for a rule as rendered and as iptables-save prints it. Matches are
 * sorted too: for the stateless matches our rules use, their order does not change what the rule matches.
 */
export function ruleKey(args: readonly string[]): string {
  const base: string[] = [];
  const matches: string[][] = [];
  let target: string[] | undefined;
  let cur = base;
  for (let i = 0; i < args.length; i++) {
    const t = args[i]!;
    // Base options may come after a match (`-m comment --comment x -d 10.0.0.0/16`); iptables-save puts them first.
    const neg = t === '!' && BASE_OPTIONS.has(args[i + 1] ?? '');
    const flag = BASE_OPTIONS.get(neg ? args[i + 1]! : t);
    if (flag && !target) {
      if (neg) i++;
      base.push(...(neg ? ['!', flag] : [flag]));
      if (flag !== '-f' && i + 1 < args.length) base.push(args[++i]!);
    } else if ((t === '-m' || t === '--match') && i + 1 < args.length && !target) {
      cur = [args[++i]!];
      matches.push(cur);
    } else if ((t === '-j' || t === '--jump' || t === '-g' || t === '--goto') && i + 1 < args.length && !target) {
      target = [t.startsWith('-g') || t === '--goto' ? '-g' : '-j', args[++i]!];
      cur = target;
    } else {
      cur.push(t);
    }
  }
  const part = (p: string[], head: number, name: string) => [...p.slice(0, head), ...options(p.slice(head), name)];
  const m = matches.map((x) => `-m ${part(x, 1, x[0]!).join(' ')}`).sort();
  const j = target ? [`${part(target, 2, target[1]!).join(' ')}`] : [];
  return [...part(base, 0, ''), ...m, ...j].join(' ');
}

/** A rule for humans: as iptables-save would print it, without our comment (the chain says whose it is). */
export function describeRule(args: readonly string[]): string {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-m' && args[i + 1] === 'comment' && args[i + 2] === '--comment') {
      i += 3;
      continue;
    }
    out.push(args[i]!);
  }
  return out.join(' ');
}
