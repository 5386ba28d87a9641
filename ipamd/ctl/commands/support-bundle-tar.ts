/**
 * @module support bundle archive
 * The bundle's .tar.gz: ustar entries (POSIX.1-1988 headers, which GNU tar, bsdtar and busybox read), all
 * regular files, built in memory and gzipped once. Written here rather than with a library: the bundle is a
 * few MB of small files whose names it chooses itself (short, ASCII), which is the 60 lines below; tar-stream
 * (only a transitive dependency today) would add a stream API and a dependency for the same bytes.
 */
import { gzipSync } from 'node:zlib';

export class ArchiveNameError extends Error {}

const BLOCK = 512;

function octal(n: number, width: number): string {
  // width - 1 digits and a NUL, as ustar readers expect.
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, size: number, mtimeSec: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  if (Buffer.byteLength(name) > 100 || !/^[\x20-\x7e]+$/.test(name) || name.startsWith('/') || name.includes('..'))
    throw new ArchiveNameError(`not a portable archive name: ${JSON.stringify(name)}`);
  h.write(name, 0, 100, 'ascii');
  h.write(octal(0o644, 8), 100, 'ascii'); // mode
  h.write(octal(0, 8), 108, 'ascii'); // uid
  h.write(octal(0, 8), 116, 'ascii'); // gid
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(mtimeSec, 12), 136, 'ascii');
  h.write(' '.repeat(8), 148, 'ascii'); // checksum field counts as spaces while summing
  h.write('0', 156, 'ascii'); // regular file
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** Collects files, then gives the gzipped archive. */
export class TarBuilder {
  private readonly parts: Buffer[] = [];
  private readonly names = new Set<string>();

  constructor(private readonly mtimeMs: number) {}

  add(name: string, content: string | Buffer): void {
    if (this.names.has(name)) throw new ArchiveNameError(`${name} added twice`);
    this.names.add(name);
    const body = typeof content === 'string' ? Buffer.from(content) : content;
    this.parts.push(header(name, body.length, Math.floor(this.mtimeMs / 1000)), body);
    const pad = (BLOCK - (body.length % BLOCK)) % BLOCK;
    if (pad) this.parts.push(Buffer.alloc(pad));
  }

  /** Two zero blocks end a tar archive. */
  gzip(): Buffer {
    return gzipSync(Buffer.concat([...this.parts, Buffer.alloc(BLOCK * 2)]));
  }
}
