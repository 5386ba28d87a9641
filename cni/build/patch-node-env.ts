/**
 * @module node binary env-name patch (build time only)
 * A Node single executable still honours NODE_OPTIONS (a `--require` preload
 * runs before our code) and NODE_EXTRA_CA_CERTS (~80 ms of certificate
 * parsing at start-up). Re-executing without them cannot help: the first
 * process has already paid for and run both. So the plugin's copy of the node
 * binary is made deaf to them instead: the C-string names that node.cc hands
 * to getenv() are renamed in `.rodata` to same-length names nobody sets.
 *
 * Only NUL-delimited occurrences inside `.rodata` whose neighbouring strings
 * are also printable C strings are touched (that excludes the embedded JS
 * sources, which quote the names, and V8 snapshot strings, which sit between
 * binary headers). The build then proves the effect by running the binary
 * with both variables set (see build.ts); if that proof fails the build fails.
 */

export const RENAMES: ReadonlyArray<readonly [string, string]> = [
  ['NODE_OPTIONS', '_VPCIPAM_IG1'],
  ['NODE_EXTRA_CA_CERTS', '_VPCIPAM_IGNORED_02'],
];

interface Section {
  name: string;
  offset: number;
  size: number;
}

/** Section headers of a little-endian ELF64 file. */
export function elfSections(buf: Buffer): Section[] {
  if (buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1)
    throw new Error('not a little-endian ELF64 file');
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  const hdr = (i: number) => shoff + i * shentsize;
  const strOff = Number(buf.readBigUInt64LE(hdr(shstrndx) + 0x18));
  const out: Section[] = [];
  for (let i = 0; i < shnum; i++) {
    const h = hdr(i);
    const nameOff = strOff + buf.readUInt32LE(h);
    const name = buf.toString('latin1', nameOff, buf.indexOf(0, nameOff));
    out.push({ name, offset: Number(buf.readBigUInt64LE(h + 0x18)), size: Number(buf.readBigUInt64LE(h + 0x20)) });
  }
  return out;
}

const isPrintable = (b: Buffer, from: number, to: number): boolean => {
  if (to - from < 2) return false;
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a) || c > 0x7e) return false;
  }
  return true;
};

/** Offsets of `name` as a C string in .rodata with printable C-string neighbours. */
export function findCStringSites(buf: Buffer, rodata: Section, name: string): number[] {
  const needle = Buffer.from(`\0${name}\0`, 'latin1');
  const end = rodata.offset + rodata.size;
  const sites: number[] = [];
  for (let at = buf.indexOf(needle, rodata.offset); at >= 0 && at < end; at = buf.indexOf(needle, at + 1)) {
    const start = at + 1;
    const prevStart = buf.lastIndexOf(0, at - 1) + 1;
    const nextStart = start + name.length + 1;
    const nextEnd = buf.indexOf(0, nextStart);
    if (isPrintable(buf, prevStart, at) && isPrintable(buf, nextStart, nextEnd)) sites.push(start);
  }
  return sites;
}

/** Renames the sites in place; returns what was patched. Throws if a name has no site. */
export function patchNodeEnvNames(buf: Buffer): Array<{ from: string; to: string; sites: number[] }> {
  const rodata = elfSections(buf).find((s) => s.name === '.rodata');
  if (!rodata) throw new Error('no .rodata section');
  return RENAMES.map(([from, to]) => {
    if (from.length !== to.length) throw new Error(`rename ${from} -> ${to} changes length`);
    const sites = findCStringSites(buf, rodata, from);
    if (sites.length === 0) throw new Error(`no C-string site for ${from} in .rodata`);
    for (const s of sites) buf.write(to, s, 'latin1');
    return { from, to, sites };
  });
}
