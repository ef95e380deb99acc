import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import { ImageError } from './errors.js';

/** One member of a tar archive: where its data starts and how long it is. */
export interface TarMember {
  name: string;
  /** Byte offset of the member's data in the archive file. */
  offset: number;
  size: number;
  /** tar typeflag: '0' file, '1' hardlink, '2' symlink, '5' directory, ... */
  type: string;
  linkname: string;
}

const BLOCK = 512;

/**
 * Reads only the headers of a tar file (seeking over member data), so indexing a multi-gigabyte image archive
 * costs one 512-byte read per member instead of a pass over all its bytes. Handles ustar prefixes, PAX `path`,
 * `linkpath` and `size` records and GNU long names, which is what docker, skopeo and GNU tar write.
 */
export async function indexTar(file: string): Promise<Map<string, TarMember>> {
  const members = new Map<string, TarMember>();
  const fh = await open(file, 'r').catch((cause) => {
    throw new ImageError('ERR_OVL_BAD_IMAGE', `cannot open ${file}: ${cause.message}`, { path: file, cause });
  });
  try {
    const { size: fileSize } = await fh.stat();
    const header = Buffer.alloc(BLOCK);
    let pos = 0;
    let pax: Record<string, string> = {};
    let longName: string | undefined;
    let longLink: string | undefined;
    while (pos + BLOCK <= fileSize) {
      await readFully(fh, header, pos);
      if (header.every((b) => b === 0)) break;
      if (!checksumOk(header)) {
        throw new ImageError(
          'ERR_OVL_BAD_IMAGE',
          `${file} is not a tar archive (bad header checksum at byte ${pos}); give an OCI layout directory or tar, or a docker save archive`,
          { path: file },
        );
      }
      const type = String.fromCharCode(header[156] || 0x30);
      let size = parseNumber(header.subarray(124, 136));
      if (pax.size !== undefined) size = Number(pax.size);
      const dataOffset = pos + BLOCK;
      const next = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
      if (dataOffset + size > fileSize) {
        throw new ImageError(
          'ERR_OVL_BAD_IMAGE',
          `${file} is truncated: member at byte ${pos} runs past the end`,
          {
            path: file,
          },
        );
      }
      if (type === 'x' || type === 'L' || type === 'K') {
        const data = Buffer.alloc(size);
        await readFully(fh, data, dataOffset);
        if (type === 'x') pax = parsePax(data);
        else if (type === 'L') longName = cString(data);
        else longLink = cString(data);
        pos = next;
        continue;
      }
      if (type !== 'g') {
        const name = pax.path ?? longName ?? ustarName(header);
        const linkname = pax.linkpath ?? longLink ?? cString(header.subarray(157, 257));
        const key = normalizeMemberName(name);
        if (key !== '') members.set(key, { name: key, offset: dataOffset, size, type, linkname });
      }
      pax = {};
      longName = undefined;
      longLink = undefined;
      pos = next;
    }
  } finally {
    await fh.close();
  }
  return members;
}

/** `./blobs/sha256/x`, `blobs//sha256/x/` and `blobs/sha256/x` all name the same member. */
export function normalizeMemberName(name: string): string {
  const n = posix.normalize(`/${name}`).slice(1);
  return n.endsWith('/') ? n.slice(0, -1) : n;
}

/**
 * Follows hardlinks and symlinks inside the archive to the member holding the bytes (older `docker save`
 * writes a repeated layer as a symlink `<id>/layer.tar -> ../<other>/layer.tar`).
 */
export function resolveMember(members: Map<string, TarMember>, name: string): TarMember | undefined {
  let current = members.get(normalizeMemberName(name));
  for (let hops = 0; current && hops < 16; hops++) {
    if (current.type === '1') current = members.get(normalizeMemberName(current.linkname));
    else if (current.type === '2') {
      const target = current.linkname.startsWith('/')
        ? current.linkname
        : posix.join(posix.dirname(current.name), current.linkname);
      current = members.get(normalizeMemberName(target));
    } else return current.type === '0' || current.type === '7' ? current : undefined;
  }
  return undefined;
}

async function readFully(fh: import('node:fs/promises').FileHandle, buf: Buffer, position: number) {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

function checksumOk(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  return parseNumber(header.subarray(148, 156)) === sum;
}

/** Octal, or GNU base-256 (high bit set) for sizes of 8 GiB and more. */
function parseNumber(field: Buffer): number {
  if (field[0]! & 0x80) {
    let n = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const text = cString(field).trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end === -1 ? buf.length : end);
}

function ustarName(header: Buffer): string {
  const name = cString(header.subarray(0, 100));
  // Only POSIX ustar ("ustar\0") has a prefix field; old GNU headers use those bytes for times.
  const isUstar = header.toString('latin1', 257, 263) === 'ustar\0';
  const prefix = isUstar ? cString(header.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const len = Number.parseInt(data.toString('latin1', pos, space), 10);
    if (!(len > 0)) break;
    const record = data.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}
