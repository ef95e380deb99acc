// PAX extended header records (POSIX.1-2001 pax format) for what a ustar header cannot hold: long or
// non-ASCII names and link targets, sizes of 8 GiB and more, large ids, sub-second or pre-1970 mtimes,
// and extended attributes as `SCHILY.xattr.<name>` (the GNU tar / bsdtar / Go / Docker convention).
// tar-stream's own PAX encoder only takes string values, so binary xattr values (security.capability)
// would be mangled; this one writes raw bytes. Records are written in a fixed order: same entry, same bytes.
import type { LayerEntry } from './layer-entry.js';

const MAX_OCTAL_11 = 0o77777777777;
const MAX_OCTAL_7 = 0o7777777;

/** True when tar-stream's ustar encoder can store `name` (ASCII, split into prefix ≤ 155 and name ≤ 100). */
export function fitsUstarName(name: string): boolean {
  if (!/^[\x00-\x7f]*$/.test(name)) return false;
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
  return linkname.length <= 100 && /^[\x00-\x7f]*$/.test(linkname);
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

function record(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  // The length prefix counts itself: grow it until the digit count settles.
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/**
 * The PAX records `entry` needs (with `fullName`, its name as written), or undefined when a plain ustar
 * header holds everything.
 */
export function paxRecords(entry: LayerEntry, fullName: string): Buffer | undefined {
  const parts: Buffer[] = [];
  if (!fitsUstarName(fullName)) parts.push(record('path', Buffer.from(fullName)));
  if (entry.linkname !== undefined && !fitsUstarLink(entry.linkname))
    parts.push(record('linkpath', Buffer.from(entry.linkname)));
  if (entry.size > MAX_OCTAL_11) parts.push(record('size', Buffer.from(String(entry.size))));
  if (entry.uid > MAX_OCTAL_7) parts.push(record('uid', Buffer.from(String(entry.uid))));
  if (entry.gid > MAX_OCTAL_7) parts.push(record('gid', Buffer.from(String(entry.gid))));
  const { sec, nsec } = entry.mtime;
  if (nsec !== 0 || sec < 0 || sec > MAX_OCTAL_11)
    parts.push(record('mtime', Buffer.from(formatPaxTime(sec, nsec))));
  for (const [name, value] of entry.xattrs ?? []) parts.push(record(`SCHILY.xattr.${name}`, value));
  return parts.length > 0 ? Buffer.concat(parts) : undefined;
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
