/**
 * @module support bundle entries
 * What each collector of `vpc-ipamctl support-bundle` gives: files for the archive, and for everything it could
 * not get (a missing tool, ipamd down, a file absent) a note saying why. A note is part of the bundle, never a
 * failure of the command: an engineer learns as much from "iptables-save: not installed" as from its output.
 */

export interface BundleFile {
  /** Path inside the archive, under the bundle's top directory. */
  name: string;
  content: string | Buffer;
}

export interface BundleNote {
  /** What was being collected (a command line, a file, an introspection path). */
  what: string;
  /** `ok`, or why it is missing. */
  outcome: string;
}

export class Collected {
  readonly files: BundleFile[] = [];
  readonly notes: BundleNote[] = [];

  file(name: string, content: string | Buffer, what = name): void {
    this.files.push({ name, content });
    this.notes.push({ what, outcome: 'ok' });
  }

  missing(what: string, why: string): void {
    this.notes.push({ what, outcome: why });
  }
}

/** An errno code or a message: what a note says about a failure. */
export function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error)) return String(err);
  return e.code && !e.message.startsWith(e.code) ? `${e.code}: ${e.message}` : e.message;
}
