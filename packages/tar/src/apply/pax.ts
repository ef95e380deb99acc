/**
 * PAX extended-header records read from their raw bytes. tar-stream decodes every PAX value as UTF-8,
 * which corrupts binary xattr values (`security.capability` is a little-endian struct); so we keep the
 * raw record block and read the xattrs, sub-second times and large ids from it ourselves. This is not a
 * tar parser: tar-stream still splits the stream into headers and bodies.
 */
import type { Header } from 'tar-stream';

export interface PaxRecords {
  /** Record keys → raw value bytes, in order (later records override earlier ones). */
  records: Map<string, Buffer>;
}

/** Parses `"<len> <key>=<value>\n"` records. Stops at the first malformed record, as tar-stream does. */
export function parsePaxRecords(buf: Uint8Array, into: Map<string, Buffer> = new Map()): Map<string, Buffer> {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  while (pos < b.length) {
    const sp = b.indexOf(0x20, pos);
    if (sp < 0) break;
    const len = Number.parseInt(b.toString('latin1', pos, sp), 10);
    if (!(len > 0) || pos + len > b.length) break;
    const end = pos + len - 1; // drop the trailing '\n'
    const eq = b.indexOf(0x3d, sp + 1);
    if (eq < 0 || eq >= end) break;
    const key = b.toString('utf8', sp + 1, eq);
    into.set(key, Buffer.from(b.subarray(eq + 1, end)));
    pos += len;
  }
  return into;
}

const SCHILY_XATTR = 'SCHILY.xattr.';
const LIBARCHIVE_XATTR = 'LIBARCHIVE.xattr.';

/**
 * The xattrs an entry carries: `SCHILY.xattr.<name>` (GNU tar, bsdtar, Go's archive/tar) with raw
 * values, and `LIBARCHIVE.xattr.<url-encoded name>` (bsdtar) with base64 values when no SCHILY record
 * names the same attribute.
 */
export function paxXattrs(records: Map<string, Buffer> | undefined): Map<string, Buffer> | undefined {
  if (!records || records.size === 0) return undefined;
  let out: Map<string, Buffer> | undefined;
  for (const [key, value] of records) {
    if (key.startsWith(SCHILY_XATTR)) {
      out ??= new Map();
      out.set(key.slice(SCHILY_XATTR.length), value);
    }
  }
  for (const [key, value] of records) {
    if (!key.startsWith(LIBARCHIVE_XATTR)) continue;
    let name: string;
    try {
      name = decodeURIComponent(key.slice(LIBARCHIVE_XATTR.length));
    } catch {
      continue;
    }
    out ??= new Map();
    if (!out.has(name)) out.set(name, Buffer.from(value.toString('latin1'), 'base64'));
  }
  return out;
}

/**
 * A PAX value as text: from the raw records when the entry has them (its PAX block held xattrs), else
 * from tar-stream's decoded `header.pax` (the same ASCII for times and ids).
 */
function paxValue(header: Header, records: Map<string, Buffer> | undefined, key: string): string | undefined {
  if (records !== undefined) return records.get(key)?.toString('latin1');
  const v = (header.pax as Record<string, string> | null | undefined)?.[key];
  return typeof v === 'string' ? v : undefined;
}

/** A time as whole seconds (negative before 1970) and nanoseconds, 0 to 999,999,999. */
export interface EntryTime {
  sec: number;
  nsec: number;
}

/**
 * An entry's time: the PAX record (`mtime`, `atime`: decimal seconds with up to 9 — or more, cut —
 * fraction digits) to the nanosecond, else the header's whole-second mtime; undefined for a missing
 * atime. Parsed from the text: a double of seconds would round today's times to ~0.2 µs.
 */
export function entryTime(
  header: Header,
  records: Map<string, Buffer> | undefined,
  key: 'mtime' | 'atime',
): EntryTime | undefined {
  const text = paxValue(header, records, key);
  const parsed = text !== undefined ? parsePaxTime(text) : undefined;
  if (parsed) return parsed;
  if (key === 'mtime') return { sec: Math.floor((header.mtime?.getTime() ?? 0) / 1000), nsec: 0 };
  return undefined;
}

const PAX_TIME = /^\s*(-?)(\d+)(?:\.(\d*))?\s*$/;

export function parsePaxTime(text: string): EntryTime | undefined {
  const m = PAX_TIME.exec(text);
  if (!m) return undefined;
  let sec = Number(m[2]);
  let nsec = m[3] ? Number(m[3].slice(0, 9).padEnd(9, '0')) : 0;
  if (!Number.isSafeInteger(sec)) return undefined;
  if (m[1] === '-') {
    // -1.25 s is 1.25 s before the epoch: -2 s plus 0.75 s.
    if (nsec > 0) {
      sec = -sec - 1;
      nsec = 1e9 - nsec;
    } else sec = -sec;
  }
  return { sec, nsec };
}

/** uid or gid, PAX overriding the octal field (ids ≥ 2^21 need PAX). */
export function entryId(
  header: Header,
  value: number | undefined,
  records: Map<string, Buffer> | undefined,
  key: string,
) {
  const text = paxValue(header, records, key);
  if (text) {
    const n = Number.parseInt(text, 10);
    if (Number.isSafeInteger(n) && n >= 0) return n;
  }
  return value ?? 0;
}
