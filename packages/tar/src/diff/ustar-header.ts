// The 512-byte ustar header block, written in place into the output buffer. Field for field what
// tar-stream's `headers.encode` writes (so layers stay byte-identical to those diff wrote through
// pack()), without a fresh Buffer, a Date and a pack Sink per entry — on 100,000 small files those were
// most of diff's own time. Names that ustar cannot hold never get here: pax.ts moves them to PAX
// records and hands over an ASCII fallback.

export const BLOCK = 512;

const TYPEFLAGS: Record<string, number> = {
  file: 0,
  link: 1,
  symlink: 2,
  'character-device': 3,
  'block-device': 4,
  directory: 5,
  fifo: 6,
  'pax-header': 72,
};

export interface UstarFields {
  /** ASCII; split into prefix (≤ 155) and name (≤ 100) at a '/' as tar-stream does. */
  name: string;
  type: string;
  /** Permission bits with setuid/setgid/sticky; only the low 12 bits are written. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Whole seconds. */
  mtime: number;
  linkname?: string;
  devmajor: number;
  devminor: number;
}

/** `value` in octal, zero-padded to `digits`, then a space (all 7s when it does not fit). */
function writeOctal(buf: Buffer, off: number, value: number, digits: number): void {
  // Digit by digit from the right: no string per field (a header has seven of them).
  let v = value;
  if (v >= 8 ** digits) v = 8 ** digits - 1;
  for (let i = digits - 1; i >= 0; i--) {
    buf[off + i] = 0x30 + (v % 8);
    v = Math.floor(v / 8);
  }
  buf[off + digits] = 0x20;
}

/** Size: 11 octal digits, or base-256 (GNU) when it needs more (≥ 8 GiB; PAX carries it too). */
function writeSize(buf: Buffer, off: number, size: number): void {
  if (size.toString(8).length <= 11) {
    writeOctal(buf, off, size, 11);
    return;
  }
  buf[off] = 0x80;
  let n = size;
  for (let i = 11; i > 0; i--) {
    buf[off + i] = n & 0xff;
    n = Math.floor(n / 0x100);
  }
}

function byteSum(buf: Buffer, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += buf[i]!;
  return sum;
}

/**
 * Writes the header of `h` at `buf[off..off+512)`. Returns false (nothing usable written) when the name
 * or link name does not fit ustar — callers put those in PAX records first, so that is a bug upstream.
 */
export function writeUstarHeader(buf: Buffer, off: number, h: UstarFields): boolean {
  let name = h.name;
  let prefix = '';
  while (name.length > 100) {
    const i = name.indexOf('/');
    if (i === -1) return false;
    prefix += prefix ? `/${name.slice(0, i)}` : name.slice(0, i);
    name = name.slice(i + 1);
  }
  if (prefix.length > 155 || (h.linkname !== undefined && h.linkname.length > 100)) return false;

  buf.fill(0, off, off + BLOCK);
  buf.write(name, off, 'latin1');
  writeOctal(buf, off + 100, h.mode & 0o7777, 6);
  writeOctal(buf, off + 108, h.uid, 6);
  writeOctal(buf, off + 116, h.gid, 6);
  writeSize(buf, off + 124, h.size);
  writeOctal(buf, off + 136, h.mtime, 11);
  buf[off + 156] = 0x30 + (TYPEFLAGS[h.type] ?? 0);
  if (h.linkname) buf.write(h.linkname, off + 157, 'latin1');
  buf.write('ustar\x0000', off + 257, 'latin1');
  writeOctal(buf, off + 329, h.devmajor, 6);
  writeOctal(buf, off + 337, h.devminor, 6);
  if (prefix) buf.write(prefix, off + 345, 'latin1');
  // The checksum counts its own field as eight spaces; the rest of the block is zeros except the
  // ranges written above, so only those are summed (a 512-byte loop per header showed in profiles).
  let sum = 8 * 0x20;
  sum += byteSum(buf, off, off + name.length);
  sum += byteSum(buf, off + 100, off + 148);
  sum += byteSum(buf, off + 156, off + 157 + (h.linkname?.length ?? 0));
  sum += byteSum(buf, off + 257, off + 265);
  sum += byteSum(buf, off + 329, off + 345 + prefix.length);
  writeOctal(buf, off + 148, sum, 6);
  return true;
}
