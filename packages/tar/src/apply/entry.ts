/** One tar entry → the target: whiteouts by format, then by entry type. */
import type { Header } from 'tar-stream';
import { TarError } from '../errors.js';
import { WHITEOUT_META_PREFIX, WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from '../whiteouts.js';
import { copyRange } from './copy-range.js';
import { cleanEntryName, splitPath } from './entry-name.js';
import type { BodyBypass } from './file-feed.js';
import { type EntryMeta, entryMeta } from './metadata.js';
import type { ApplyOptions } from './options.js';
import { writeFailed } from './resolver.js';
import { applyOpaque, applyWhiteout } from './whiteout-apply.js';
import { INLINE_MAX } from './write-threads.js';
import type { EntryWriter } from './writer.js';

/**
 * Bodies from this size on, read from a layer file, go to an idle writer thread (starting the threads
 * when the apply has none): the thread copies the body from the layer file while the main thread goes
 * on with the next entries, so big files are written side by side — a layer of big files is memory
 * bandwidth, and one thread (as `cp`) uses one core of it. Measured on tmpfs, two threads writing two
 * 128 MiB files took half the time of one writing both; two writing halves of one file, no less (they
 * take turns on its inode lock).
 */
export const BIG_BODY = 8 << 20;

/** The body of an entry as tar-stream hands it over (a streamx Readable). */
export interface EntryBody {
  on(event: 'data', fn: (chunk: Uint8Array) => void): unknown;
  on(event: 'end' | 'error', fn: (err?: unknown) => void): unknown;
  resume(): unknown;
}

/**
 * Applies one entry. `done` is called exactly once, when the entry is fully written or has failed;
 * `onContent` counts file bytes as they are written. `bypass`, for a regular file read from a layer
 * file, asks the feeder to skip the rest of the body in the file, to be copied file to file here;
 * `after` is what the layer file holds after this body then.
 */
export function applyEntry(
  w: EntryWriter,
  header: Header,
  records: Map<string, Buffer> | undefined,
  body: EntryBody,
  options: ApplyOptions,
  onContent: (n: number) => void,
  done: (err?: unknown) => void,
  bypass?: () => BodyBypass | undefined,
  after = 0,
): void {
  const entry = header.name;
  const rel = cleanEntryName(entry);
  const [parent, base] = splitPath(rel);
  const size = header.size ?? 0;
  const hasBody = size > 0 && header.type !== 'directory';

  if (w.format !== 'aufs' && base.startsWith(WHITEOUT_PREFIX)) {
    // Whiteouts remove and list what is there: the writer threads finish what they have first.
    w.threads?.barrier();
    if (base === WHITEOUT_OPAQUE) applyOpaque(w, parent, entry, options.userxattr ?? false);
    else if (!base.startsWith(WHITEOUT_META_PREFIX)) {
      applyWhiteout(
        w,
        parent,
        base.slice(WHITEOUT_PREFIX.length),
        entryMeta(header, records, options, entry),
        entry,
      );
    } // else aufs metadata (.wh..wh.plnk, .wh..wh.aufs, ...): never layer content, skipped as Docker does
    drain(body, hasBody, done);
    return;
  }

  const type: string = header.type ?? 'unknown';
  if (rel === '' && type !== 'directory') {
    throw new TarError('ERR_OVL_UNSAFE_PATH', `entry '${entry}' (${type}) would replace the target itself`, {
      entry,
    });
  }
  if ((type === 'character-device' || type === 'block-device') && options.noDevices) {
    throw new TarError(
      'ERR_OVL_DEVICE_REFUSED',
      `entry '${entry}' is a ${type} and noDevices is set; drop noDevices to allow device nodes`,
      { entry },
    );
  }
  const meta = entryMeta(header, records, options, entry);

  switch (type) {
    case 'file':
    case 'contiguous-file': {
      const p = w.placeClean(rel, entry)!;
      // A big body in a layer file: a thread can copy it from there while this one goes on.
      const big = bypass !== undefined && size >= BIG_BODY;
      // Threads started now are ready only after this body (this thread copies it meanwhile), and then
      // take only big bodies: none can follow when less than one is left. Starting them anyway held the
      // process's exit ~100 ms for nothing (the rootfs's one 50 MB file is its 6,745th of 6,768 entries).
      if (big && w.threads === undefined && after >= BIG_BODY) w.wantThreads?.();
      const flags = w.dispatch(p, meta, big);
      if (flags >= 0) {
        const at = (header as { byteOffset?: unknown }).byteOffset;
        const bodyAt =
          typeof at === 'number' && w.layerFd !== undefined && at + size <= w.layerSize ? at : undefined;
        threadedFile(
          w,
          p.realParent,
          p.base,
          entry,
          meta,
          flags,
          size,
          body,
          onContent,
          done,
          bypass,
          big,
          bodyAt,
        );
        return;
      }
      const fd = w.openFile(p, entry, meta.mode);
      if (!hasBody) {
        w.finishFile(fd, p, meta, entry);
        done();
        return;
      }
      // Called before any body byte arrives: the feeder decides now what it still reads itself.
      const skip = bypass?.();
      // Bytes the parser delivers that belong in the file; with a bypass, the zeros after them do not.
      let inline = skip ? skip.inline : size;
      let failed = false;
      body.on('error', () => {});
      body.on('data', (chunk) => {
        if (failed || inline === 0) return;
        try {
          const part = chunk.length <= inline ? chunk : chunk.subarray(0, inline);
          w.writeChunk(fd, part, entry, p.abs);
          inline -= part.length;
          onContent(part.length);
        } catch (err) {
          failed = true;
          done(err);
        }
      });
      body.on('end', () => {
        if (failed) return;
        try {
          if (skip) {
            let n: number;
            try {
              n = copyRange(w.sys, skip.fd, skip.from, fd, skip.inline, skip.length);
            } catch (cause) {
              throw writeFailed(entry, p.abs, 'copy the content of', cause);
            }
            if (n < skip.length) throw truncated(entry);
            onContent(n);
          }
          w.finishFile(fd, p, meta, entry);
        } catch (err) {
          done(err);
          return;
        }
        done();
      });
      return;
    }
    case 'directory':
      w.directory(w.placeClean(rel, entry)!, meta, entry);
      drain(body, false, done);
      return;
    case 'symlink':
      w.symlink(w.placeClean(rel, entry)!, header.linkname ?? '', meta, entry);
      drain(body, hasBody, done);
      return;
    case 'link':
      w.hardlink(w.placeClean(rel, entry)!, header.linkname ?? '', entry);
      drain(body, hasBody, done);
      return;
    case 'character-device':
    case 'block-device':
    case 'fifo':
      w.device(w.placeClean(rel, entry)!, header, meta, entry);
      drain(body, hasBody, done);
      return;
    default:
      throw new TarError(
        'ERR_OVL_BAD_TAR',
        `entry '${entry}' has type '${type}', which a layer cannot hold; the tar is not a container layer`,
        { entry },
      );
  }
}

/**
 * A regular file written by a writer thread (EntryWriter.dispatch said it may be). A body up to
 * INLINE_MAX is collected and handed over in one record when it ends; a bigger one goes chunk by chunk.
 * A body that bypasses the parser (a plain layer file) is copied from the layer file by the thread.
 */
function threadedFile(
  w: EntryWriter,
  realParent: string,
  base: string,
  entry: string,
  meta: EntryMeta,
  flags: number,
  size: number,
  body: EntryBody,
  onContent: (n: number) => void,
  done: (err?: unknown) => void,
  bypass: (() => BodyBypass | undefined) | undefined,
  big: boolean,
  bodyAt?: number,
): void {
  const threads = w.threads!;
  const dir = w.resolver.absDir(realParent);
  const t = threads.pick(dir, big);
  if (size === 0) {
    threads.file(t, dir, base, entry, meta, flags, NO_CHUNKS, true);
    done();
    return;
  }
  if (!big && bodyAt !== undefined && size >= RANGE_MIN && size < RANGE_MAX) {
    // The body lies in the layer file at bodyAt: the worker copies it from there, and the parser's
    // slices of it are dropped — no copy into the ring on this thread.
    try {
      const range = { fd: w.layerFd!, from: bodyAt, length: size };
      threads.file(t, dir, base, entry, meta, flags, NO_CHUNKS, true, range);
    } catch (err) {
      done(err);
      return;
    }
    body.on('error', () => {});
    body.on('data', () => {});
    body.on('end', () => {
      onContent(size);
      done();
    });
    body.resume();
    return;
  }
  const skip = bypass?.();
  const range = skip ? { fd: skip.fd, from: skip.from, length: skip.length } : undefined;
  let inline = skip ? skip.inline : size;
  const collect = inline <= INLINE_MAX;
  const chunks: Uint8Array[] = [];
  if (!collect) threads.file(t, dir, base, entry, meta, flags, NO_CHUNKS, false);
  let failed = false;
  body.on('error', () => {});
  body.on('data', (chunk) => {
    if (failed || inline === 0) return;
    const part = chunk.length <= inline ? chunk : chunk.subarray(0, inline);
    inline -= part.length;
    onContent(part.length);
    if (collect) chunks.push(part);
    else {
      try {
        threads.data(t, entry, meta, flags, part, false);
      } catch (err) {
        failed = true;
        done(err);
      }
    }
  });
  body.on('end', () => {
    if (failed) return;
    try {
      if (collect) threads.file(t, dir, base, entry, meta, flags, chunks, true, range);
      else threads.data(t, entry, meta, flags, NO_BYTES, true, range);
      if (range) onContent(range.length);
    } catch (err) {
      done(err);
      return;
    }
    done();
  });
}

const NO_CHUNKS: readonly Uint8Array[] = [];
/**
 * Bodies from RANGE_MIN to under RANGE_MAX in a plain layer file go to a writer thread as a range of
 * that file, which the worker copies itself (`sendfile`/`copy_file_range`), instead of being copied
 * into the ring here. Where the threads take every file this thread is the bottleneck, and the copy
 * was its largest single cost (`memmove`, ~6% of its samples on the rootfs): the rootfs with
 * `threads: 2` in a warm process, 218 → 192 ms (medians of 15, tmpfs; GNU tar ~234 ms). Smaller bodies
 * stay in the ring: a copy per file on the workers, which are the bottleneck with small files, made
 * 100,000 files of 0–4 KiB slower (1.146 → 1.196 s, 7 rounds). From RANGE_MAX on, a body's rest
 * bypasses the parser anyway (file-feed.ts) and the worker copies that part.
 */
const RANGE_MIN = 16 << 10;
const RANGE_MAX = 256 << 10;
const NO_BYTES = new Uint8Array(0);

function truncated(entry: string): TarError {
  return new TarError('ERR_OVL_BAD_TAR', `entry '${entry}': the layer file ends inside its content`, {
    entry,
  });
}

function drain(body: EntryBody, hasBody: boolean, done: (err?: unknown) => void): void {
  if (!hasBody) {
    done();
    return;
  }
  body.on('error', () => {});
  body.on('end', () => done());
  body.resume();
}
