import { Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import { ImageError } from './errors.js';
import type { Compression } from './media-types.js';

/**
 * Output chunk of gunzip. zlib's default (16 KiB) is a round trip through the libuv pool for every
 * 16 KiB of tar, each waiting for the main thread (which hashes, and usually also writes the layer).
 */
const GUNZIP_CHUNK = 1 << 20;

/**
 * A decompressing Transform for a layer blob. zstd uses Node's own zlib binding when present (Node ≥ 22.15)
 * and the pure-JS fzstd otherwise. Its errors are raw zlib/fzstd errors; `badLayer` turns them into the
 * ImageError a caller sees.
 */
export function decompressor(compression: Exclude<Compression, 'none'>): Transform {
  if (compression === 'gzip') return zlib.createGunzip({ chunkSize: GUNZIP_CHUNK });
  const native = (zlib as { createZstdDecompress?: () => Transform }).createZstdDecompress;
  return typeof native === 'function' ? native() : fzstdTransform();
}

export function badLayer(cause: unknown, compression: Compression, digest: string): ImageError {
  if (cause instanceof ImageError) return cause;
  return new ImageError(
    'ERR_OVL_BAD_LAYER',
    `layer blob ${digest} cannot be decompressed as ${compression} (${(cause as Error)?.message ?? cause}); ` +
      'it is truncated or corrupt — fetch the image again',
    { digest, cause },
  );
}

function fzstdTransform(): Transform {
  let out: Transform;
  const z = new Decompress((data) => {
    // fzstd may reuse its window buffer; copy before handing the bytes on.
    if (data.length) out.push(Buffer.from(data));
  });
  out = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        z.push(chunk);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        z.push(new Uint8Array(0), true);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
  return out;
}
