// PAX extended header records (POSIX.1-2001 pax format) for what a ustar header cannot hold: long or
// non-ASCII names and link targets, sizes of 8 GiB and more, large ids, sub-second or pre-1970 mtimes,
// and extended attributes as `SCHILY.xattr.<name>` (the GNU tar / bsdtar / Go / Docker convention).
// tar-stream's own PAX encoder only takes string values, so binary xattr values (security.capability)
// would be mangled; this one writes raw bytes. Records are written in a fixed order: same entry, same bytes.
import type { LayerEntry } from './layer-entry.js';

const MAX_OCTAL_11 = 0o77777777777;
const MAX_OCTAL_7 = 0o7777777;

const ASCII = /^[\x00-\x7f]*$/;
/** Printable ASCII: what a ustar fallback name keeps as it is. */
export const PRINTABLE = /^[\x20-\x7e]*$/;

/** True when tar-stream's ustar encoder can store `name` (ASCII, split into prefix ≤ 155 and name ≤ 100). */
export function fitsUstarName(name: string): boolean {
  if (!ASCII.test(name)) return false;
  if (name.length <= 100) return true;
  // tar-stream moves leading components into the 155-byte prefix until the rest fits in 100 bytes.
  let rest = name;
  let prefix = '';
  while (rest.length > 100) {
    const i = rest.indexOf('/');
    if (i === -1) return false;
    prefix += prefix ? `/${rest.slice(0, i)}` : rest.slice(0, i);
    rest = rest.slice(i + 1);
  }
  return prefix.length <= 155;
}

function fitsUstarLink(linkname: string): boolean {
  return linkname.length <= 100 && ASCII.test(linkname);
}

/** `sec.nsec` with trailing zeros dropped, exact for times before 1970 too. */
export function formatPaxTime(sec: number, nsec: number): string {
  if (nsec === 0) return String(sec);
  let s = sec;
  let n = nsec;
  let sign = '';
  if (s < 0) {
    // -1.5 s is stored as sec = -2, nsec = 5e8.
    sign = '-';
    s = -(s + 1);
    n = 1_000_000_000 - n;
  }
  return `${sign}${s}.${String(n).padStart(9, '0').replace(/0+$/, '')}`;
}

/** The records of one entry: text ones (one string), then binary xattr records (raw bytes). */
export interface PaxBlock {
  text: string;
  /** UTF-8 bytes of `text`. */
  textBytes: number;
  /** `SCHILY.xattr.*` records, raw: values may be any bytes (security.capability). */
  binary: Buffer | undefined;
  /** textBytes + binary's length: the size of the PAX header's body. */
  size: number;
}

/** `len key=value\n`, the length counting itself: grow it until the digit count settles. */
function recordLength(bodyBytes: number): number {
  let len = bodyBytes + 1;
  while (String(len).length + bodyBytes !== len) len = String(len).length + bodyBytes;
  return len;
}

/** A record with a text value. Strings, not Buffers: on 100,000 small files (each has an mtime record)
 * five small Buffers per record showed in diff's profile. */
function textRecord(key: string, value: string, ascii: boolean): string {
  const body = ` ${key}=${value}\n`;
  return `${recordLength(ascii ? body.length : Buffer.byteLength(body))}${body}`;
}

function binaryRecord(key: string, value: Buffer): Buffer {
  const head = ` ${key}=`;
  const headBytes = Buffer.byteLength(head);
  const len = recordLength(headBytes + value.length + 1);
  const digits = String(len);
  const out = Buffer.allocUnsafe(len);
  out.write(digits, 0, 'latin1');
  out.write(head, digits.length, 'utf8');
  value.copy(out, digits.length + headBytes);
  out[len - 1] = 0x0a;
  return out;
}

/**
 * The PAX records `entry` needs (with `fullName`, its name as written; `nameFits`: whether ustar holds
 * it, when the caller knows), or undefined when a plain ustar header holds everything.
 */
export function paxRecords(
  entry: LayerEntry,
  fullName: string,
  nameFits = fitsUstarName(fullName),
): PaxBlock | undefined {
  let text = '';
  if (!nameFits) text += textRecord('path', fullName, ASCII.test(fullName));
  if (entry.linkname !== undefined && !fitsUstarLink(entry.linkname))
    text += textRecord('linkpath', entry.linkname, ASCII.test(entry.linkname));
  if (entry.size > MAX_OCTAL_11) text += textRecord('size', String(entry.size), true);
  if (entry.uid > MAX_OCTAL_7) text += textRecord('uid', String(entry.uid), true);
  if (entry.gid > MAX_OCTAL_7) text += textRecord('gid', String(entry.gid), true);
  const { sec, nsec } = entry.mtime;
  if (nsec !== 0 || sec < 0 || sec > MAX_OCTAL_11)
    text += textRecord('mtime', formatPaxTime(sec, nsec), true);
  let binary: Buffer | undefined;
  if (entry.xattrs !== undefined && entry.xattrs.length > 0) {
    binary = Buffer.concat(entry.xattrs.map(([name, value]) => binaryRecord(`SCHILY.xattr.${name}`, value)));
  }
  if (text === '' && binary === undefined) return undefined;
  const textBytes = ASCII.test(text) ? text.length : Buffer.byteLength(text);
  return { text, textBytes, binary, size: textBytes + (binary?.length ?? 0) };
}

/** A name ustar can hold, for the header that follows PAX records carrying the real one. */
export function ustarFallbackName(fullName: string): string {
  const ascii = fullName.replace(/[^\x20-\x7e]/g, '_');
  return fitsUstarName(ascii) ? ascii : ascii.slice(-100);
}

export function ustarFallbackLink(linkname: string): string {
  return linkname.replace(/[^\x20-\x7e]/g, '_').slice(0, 100);
}

export function clampOctal(value: number, max: 'id' | 'time'): number {
  const top = max === 'id' ? MAX_OCTAL_7 : MAX_OCTAL_11;
  return Math.min(Math.max(value, 0), top);
}
