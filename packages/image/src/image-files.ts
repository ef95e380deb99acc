import { createReadStream } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { Readable } from 'node:stream';
import { ImageError } from './errors.js';
import { indexTar, normalizeMemberName, resolveMember, type TarMember } from './tar-index.js';

/**
 * Read size for blob streams. fs's default (64 KiB) is a thread-pool round trip for every 64 KiB of a
 * layer, each waiting for the main thread, which also hashes and applies it.
 */
const READ_CHUNK = 1 << 20;

/**
 * The files of an image, wherever they live: a directory, or the members of a tar archive. Names are relative
 * (`index.json`, `blobs/sha256/<hex>`, `<id>/layer.tar`). Nothing here holds a descriptor open between calls.
 */
export interface ImageFiles {
  /** The path the image was opened from, for messages. */
  readonly location: string;
  readonly kind: 'directory' | 'tar';
  /** Size in bytes, or undefined when the file is not there. */
  size(name: string): Promise<number | undefined>;
  /** Bytes `[start, start + length)` (fewer at the end of the file). */
  read(name: string, start: number, length: number): Promise<Buffer>;
  /** A stream of the whole file; a missing file errors on the stream. */
  stream(name: string): Readable;
}

export async function openImageFiles(path: string): Promise<ImageFiles> {
  const st = await stat(path).catch((cause) => {
    if (cause?.code === 'ENOENT')
      throw new ImageError(
        'ERR_OVL_IMAGE_NOT_FOUND',
        `there is no image at ${path} (no such file or directory)`,
        {
          path,
          cause,
        },
      );
    throw new ImageError('ERR_OVL_BAD_IMAGE', `cannot open image ${path}: ${cause.message}`, { path, cause });
  });
  if (st.isDirectory()) return new DirectoryFiles(await realpath(path));
  return new TarFiles(path, await indexTar(path));
}

class DirectoryFiles implements ImageFiles {
  readonly kind = 'directory';
  constructor(readonly location: string) {}

  /** Resolves a name inside the directory; symlinks may not lead outside it. */
  private async resolve(name: string): Promise<string | undefined> {
    const rel = normalizeMemberName(name);
    if (rel === '' || rel.startsWith('../')) return undefined;
    try {
      const real = await realpath(join(this.location, rel));
      return real.startsWith(this.location + sep) ? real : undefined;
    } catch {
      return undefined;
    }
  }

  async size(name: string) {
    const file = await this.resolve(name);
    if (!file) return undefined;
    const st = await stat(file);
    return st.isFile() ? st.size : undefined;
  }

  async read(name: string, start: number, length: number) {
    const file = await this.resolve(name);
    if (!file) throw missing(this.location, name);
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, start);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  stream(name: string): Readable {
    // Resolution is async; a PassThrough-like wrapper keeps stream() synchronous for callers.
    const files = this;
    return Readable.from(
      (async function* () {
        const file = await files.resolve(name);
        if (!file) throw missing(files.location, name);
        yield* createReadStream(file, { highWaterMark: READ_CHUNK });
      })(),
      { objectMode: false },
    );
  }
}

class TarFiles implements ImageFiles {
  readonly kind = 'tar';
  constructor(
    readonly location: string,
    private readonly members: Map<string, TarMember>,
  ) {}

  async size(name: string) {
    return resolveMember(this.members, name)?.size;
  }

  async read(name: string, start: number, length: number) {
    const m = resolveMember(this.members, name);
    if (!m) throw missing(this.location, name);
    const len = Math.max(0, Math.min(length, m.size - start));
    const fh = await open(this.location, 'r');
    try {
      const buf = Buffer.alloc(len);
      let done = 0;
      while (done < len) {
        const { bytesRead } = await fh.read(buf, done, len - done, m.offset + start + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buf.subarray(0, done);
    } finally {
      await fh.close();
    }
  }

  /** A ranged read of the archive file: the member's bytes, never the whole archive in memory. */
  stream(name: string): Readable {
    const m = resolveMember(this.members, name);
    if (!m) {
      const r = new Readable({ read() {} });
      process.nextTick(() => r.destroy(missing(this.location, name)));
      return r;
    }
    if (m.size === 0) return Readable.from([], { objectMode: false });
    return createReadStream(this.location, {
      start: m.offset,
      end: m.offset + m.size - 1,
      highWaterMark: READ_CHUNK,
    });
  }
}

function missing(location: string, name: string): ImageError {
  return new ImageError('ERR_OVL_MISSING_BLOB', `${name} is missing from ${location}`, { path: name });
}
