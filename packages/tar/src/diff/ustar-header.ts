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
  // Digit by digit from the right: no string per field (a header has seven of them). Below 2^32 (every
  // mode, id and checksum, and times until 2106) with integer shifts, else with float division.
  let v = value;
  if (v >= 0 && v <= 0xffff_ffff) {
    let u = v >>> 0;
    for (let i = digits - 1; i >= 0; i--) {
      buf[off + i] = 0x30 + (u & 7);
      u >>>= 3;
    }
    if (u !== 0) for (let i = 0; i < digits; i++) buf[off + i] = 0x37; // did not fit: all 7s
  } else {
    if (v >= 8 ** digits) v = 8 ** digits - 1;
    for (let i = digits - 1; i >= 0; i--) {
      buf[off + i] = 0x30 + (v % 8);
      v = Math.floor(v / 8);
    }
  }
  buf[off + digits] = 0x20;
}

/** Size: 11 octal digits, or base-256 (GNU) when it needs more (≥ 8 GiB; PAX carries it too). */
function writeSize(buf: Buffer, off: number, size: number): void {
  if (size <= MAX_OCTAL_11) {
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

const MAX_OCTAL_11 = 0o77777777777;

/**
 * Writes `text` as latin1 (each UTF-16 unit's low byte, as Buffer.write does) and returns the sum of the
 * bytes, for the checksum. A loop here, not Buffer.write: names are short, and the native call cost
 * more than the copy (a header has up to three of them).
 */
function writeLatin1(buf: Buffer, off: number, text: string): number {
  let sum = 0;
  for (let i = 0; i < text.length; i++) {
    const b = text.charCodeAt(i) & 0xff;
    buf[off + i] = b;
    sum += b;
  }
  return sum;
}

function byteSum(buf: Buffer, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += buf[i]!;
  return sum;
}

/** An empty block with the constant fields: magic `ustar\0` and version `00`. */
const TEMPLATE = Buffer.alloc(BLOCK);
TEMPLATE.write('ustar\x0000', 257, 'latin1');
/** The checksum's own field counts as eight spaces; the magic and version count as they are. */
const TEMPLATE_SUM = 8 * 0x20 + byteSum(TEMPLATE, 257, 265);

/**
 * Writes the header of `h` at `buf[off..off+512)`. Returns false (nothing usable written) when the name
 * or link name does not fit ustar — callers put those in PAX records first, so that is a bug upstream.
 */
export function writeUstarHeader(buf: Buffer, off: number, h: UstarFields): boolean {
  return writeUstarBlock(
    buf,
    off,
    h.name,
    h.type,
    h.mode,
    h.uid,
    h.gid,
    h.size,
    h.mtime,
    h.linkname,
    h.devmajor,
    h.devminor,
  );
}

/** `writeUstarHeader` with the fields as arguments: no object per header on the hot path. */
export function writeUstarBlock(
  buf: Buffer,
  off: number,
  fullName: string,
  type: string,
  mode: number,
  uid: number,
  gid: number,
  size: number,
  mtime: number,
  linkname: string | undefined,
  devmajor: number,
  devminor: number,
): boolean {
  let name = fullName;
  let prefix = '';
  while (name.length > 100) {
    const i = name.indexOf('/');
    if (i === -1) return false;
    prefix += prefix ? `/${name.slice(0, i)}` : name.slice(0, i);
    name = name.slice(i + 1);
  }
  if (prefix.length > 155 || (linkname !== undefined && linkname.length > 100)) return false;

  TEMPLATE.copy(buf, off);
  // The rest of the block is zeros but for the fields written here: the checksum sums what they wrote.
  let sum = TEMPLATE_SUM + writeLatin1(buf, off, name);
  writeOctal(buf, off + 100, mode & 0o7777, 6);
  writeOctal(buf, off + 108, uid, 6);
  writeOctal(buf, off + 116, gid, 6);
  writeSize(buf, off + 124, size);
  writeOctal(buf, off + 136, mtime, 11);
  sum += byteSum(buf, off + 100, off + 148);
  const flag = 0x30 + (TYPEFLAGS[type] ?? 0);
  buf[off + 156] = flag;
  sum += flag;
  if (linkname) sum += writeLatin1(buf, off + 157, linkname);
  writeOctal(buf, off + 329, devmajor, 6);
  writeOctal(buf, off + 337, devminor, 6);
  sum += byteSum(buf, off + 329, off + 345);
  if (prefix) sum += writeLatin1(buf, off + 345, prefix);
  writeOctal(buf, off + 148, sum, 6);
  return true;
}
