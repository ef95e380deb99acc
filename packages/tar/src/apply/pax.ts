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

/** Seconds since the epoch, with the PAX sub-second part when there is one. */
export function entryTime(header: Header, records: Map<string, Buffer> | undefined, key: string): number {
  const raw = records?.get(key);
  if (raw) {
    const t = Number.parseFloat(raw.toString('latin1'));
    if (Number.isFinite(t)) return t;
  }
  if (key === 'mtime') return (header.mtime?.getTime() ?? 0) / 1000;
  return Number.NaN;
}

/** uid or gid, PAX overriding the octal field (ids ≥ 2^21 need PAX). */
export function entryId(value: number | undefined, records: Map<string, Buffer> | undefined, key: string) {
  const raw = records?.get(key);
  if (raw) {
    const n = Number.parseInt(raw.toString('latin1'), 10);
    if (Number.isSafeInteger(n) && n >= 0) return n;
  }
  return value ?? 0;
}
