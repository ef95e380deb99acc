import { Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import { ImageError } from './errors.js';
import type { Compression } from './media-types.js';

/**
 * A decompressing Transform for a layer blob; corrupt or truncated input becomes ERR_OVL_BAD_LAYER naming the
 * blob. zstd uses Node's own zlib binding when present (Node ≥ 22.15) and the pure-JS fzstd otherwise.
 */
export function decompressor(compression: Compression, digest: string): Transform {
  const wrap = (cause: unknown) =>
    new ImageError(
      'ERR_OVL_BAD_LAYER',
      `layer blob ${digest} cannot be decompressed as ${compression} (${(cause as Error)?.message ?? cause}); it is truncated or corrupt — fetch the image again`,
      { digest, cause },
    );
  if (compression === 'none') return new Transform({ transform: (c, _e, cb) => cb(null, c) });
  const inner: Transform =
    compression === 'gzip'
      ? zlib.createGunzip()
      : typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === 'function'
        ? (zlib as unknown as { createZstdDecompress(): Transform }).createZstdDecompress()
        : fzstdTransform();
  return wrapErrors(inner, wrap);
}

/** Re-emits a stream's error as an ImageError while keeping the stream itself. */
function wrapErrors(stream: Transform, wrap: (cause: unknown) => Error): Transform {
  const destroy = stream.destroy.bind(stream);
  stream.destroy = (err?: Error) => destroy(err && !(err instanceof ImageError) ? wrap(err) : err);
  // zlib reports some failures by emitting 'error' directly rather than via destroy().
  const emit = stream.emit.bind(stream);
  stream.emit = ((event: string, ...args: unknown[]) =>
    event === 'error' && !(args[0] instanceof ImageError)
      ? emit('error', wrap(args[0]))
      : emit(event, ...args)) as typeof stream.emit;
  return stream;
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
