/**
 * What `apply` reads: a stream, or a layer file given by path or descriptor. A plain (uncompressed) tar
 * file is read with synchronous positional reads (`file-feed.ts`), so big bodies can be copied file to
 * file; a compressed one is read through a `ReadStream` of 1 MiB chunks into the decompressor.
 */
import { closeSync, constants, createReadStream, fstatSync, open, openSync, read, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { sniffCompression } from '../decompress.js';
import { TarError } from '../errors.js';
import { FileFeed } from './file-feed.js';

/** fs calls for a ReadStream over a caller's descriptor: its close leaves the descriptor open. */
const KEEP_OPEN_FS = { open, read, close: (_fd: number, cb: (err: null) => void) => cb(null) };

/** A layer: a stream of tar bytes (plain, gzip or zstd), a path to a layer file, or an open descriptor. */
export type LayerInput = Readable | AsyncIterable<Uint8Array> | string | number;

export type LayerSource =
  | {
      kind: 'stream';
      stream: Readable | AsyncIterable<Uint8Array>;
      /** A compressed layer file opened here: a decoder may read it itself (decompress's `file`). */
      file?: number;
      close(): void;
    }
  | { kind: 'file'; feed: FileFeed; close(): void };

/**
 * Opens `layer`. A path is opened here and closed by `close()`; a descriptor stays the caller's (never
 * closed, its position never used or moved: reads are positional, from offset 0). Anything but a
 * regular file (a pipe, a socket) is read as a stream.
 */
export function openLayerSource(layer: LayerInput): LayerSource {
  if (typeof layer !== 'string' && typeof layer !== 'number') {
    return { kind: 'stream', stream: layer, close() {} };
  }
  const owned = typeof layer === 'string';
  let fd = -1;
  try {
    fd = owned ? openSync(layer, constants.O_RDONLY) : layer;
    const st = fstatSync(fd);
    if (st.isFile()) {
      const head = Buffer.alloc(6);
      const n = readSync(fd, head, 0, head.length, 0);
      if (sniffCompression(head.subarray(0, n)) === 'none') {
        const file = fd;
        const close = () => {
          if (owned) closeSync(file);
        };
        return { kind: 'file', feed: new FileFeed(fd, st.size), close };
      }
    }
    // Compressed, or not a regular file: a ReadStream into the decompressor. It closes a descriptor it
    // owns itself once pending reads are done (closing it under a pending read could hit a reused fd).
    const stream = createReadStream('', {
      fd,
      start: st.isFile() ? 0 : undefined,
      highWaterMark: 1 << 20,
      autoClose: owned,
      // destroy() closes the descriptor whatever autoClose says: a caller's must survive it.
      fs: owned ? undefined : KEEP_OPEN_FS,
    });
    // Its file position is ours to move (all reads here are positional): offered to the zstd child.
    const file = owned && st.isFile() ? fd : undefined;
    return { kind: 'stream', stream, file, close: () => stream.destroy() };
  } catch (cause) {
    if (owned && fd >= 0) closeSync(fd);
    throw new TarError(
      'ERR_OVL_BAD_SOURCE',
      `cannot read the layer ${owned ? `file '${layer}'` : `descriptor ${layer}`}; pass a readable layer file`,
      { path: owned ? layer : undefined, cause },
    );
  }
}
