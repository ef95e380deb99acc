import { PassThrough, pipeline, type Readable } from 'node:stream';
import { badLayer, decompressor } from './decompress.js';
import { ImageError } from './errors.js';
import type { ImageFiles } from './image-files.js';
import type { Compression } from './media-types.js';
import { verifyStream } from './verify-stream.js';

export interface OpenLayerOptions {
  /** Aborting destroys the stream with an AbortError. */
  signal?: AbortSignal;
}

/** One layer of an image, in order from the base (index 0) up. */
export interface LayerRef {
  index: number;
  /** Digest of the blob as stored (compressed bytes). */
  digest: string;
  /** Digest of the uncompressed tar, from the image config. */
  diffId: string;
  /** Chain ID of this layer with all layers below it (see chainIds()). */
  chainId: string;
  /** Chain ID of the layer below, undefined for the base layer. */
  parentChainId: string | undefined;
  mediaType: string;
  compression: Compression;
  /** Size of the stored blob in bytes. */
  size: number;
  /** URLs of a non-distributable layer, if its descriptor lists any. */
  urls: string[] | undefined;
  /**
   * The layer's decompressed tar stream. The blob digest and the DiffID are verified while it streams; on a
   * mismatch (or a truncated / corrupt blob) the stream is destroyed with an ImageError instead of ending, so
   * write it into a staging place and keep that only after 'end'.
   */
  open(opts?: OpenLayerOptions): Readable;
  /** The stored (possibly compressed) bytes, digest-verified the same way. */
  openRaw(opts?: OpenLayerOptions): Readable;
}

export interface LayerSource {
  index: number;
  /** Where the blob lives among the image's files. */
  file: string;
  digest: string;
  diffId: string;
  chainId: string;
  parentChainId: string | undefined;
  mediaType: string;
  compression: Compression;
  size: number;
  urls: string[] | undefined;
}

/** A stream in a layer's pipeline, and how its own errors are told to the reader. */
interface Stage {
  stream: Readable;
  explain?: (err: unknown) => Error;
}

export function makeLayerRef(files: ImageFiles, src: LayerSource): LayerRef {
  const what = `layer ${src.index} blob ${src.digest}`;
  const raw = (): Stage[] => [
    { stream: files.stream(src.file), explain: (err) => missingExplained(err, src) },
    { stream: verifyStream({ digest: src.digest, size: src.size, what }) },
  ];
  return {
    index: src.index,
    digest: src.digest,
    diffId: src.diffId,
    chainId: src.chainId,
    parentChainId: src.parentChainId,
    mediaType: src.mediaType,
    compression: src.compression,
    size: src.size,
    urls: src.urls,
    openRaw(opts) {
      return chain(raw(), opts?.signal);
    },
    open(opts) {
      const stages = raw();
      const { compression } = src;
      if (compression !== 'none') {
        stages.push({
          stream: decompressor(compression),
          explain: (err) => badLayer(err, compression, src.digest),
        });
      }
      // An uncompressed blob whose DiffID is its digest (every layer of `docker save`) was just checked
      // against that digest, byte for byte: a second hash of the same bytes (~120 ms per 200 MB here, on the
      // thread that applies the layer) could only give the same verdict.
      if (compression !== 'none' || src.diffId !== src.digest) {
        stages.push({
          stream: verifyStream({
            digest: src.diffId,
            code: 'ERR_OVL_BAD_DIFFID',
            what: `layer ${src.index} (blob ${src.digest}, DiffID ${src.diffId})`,
          }),
        });
      }
      return chain(stages, opts?.signal);
    },
  };
}

/** A non-distributable layer that is not in the layout: say where its descriptor says it lives. */
function missingExplained(err: unknown, src: LayerSource): Error {
  if (err instanceof ImageError && err.code === 'ERR_OVL_MISSING_BLOB' && src.urls?.length) {
    return new ImageError(
      'ERR_OVL_MISSING_BLOB',
      `layer ${src.index} blob ${src.digest} is non-distributable and not in the image; fetch it from ${src.urls.join(' or ')} into ${src.file}`,
      { digest: src.digest, path: src.file, cause: err },
    );
  }
  return err as Error;
}

/**
 * Pipes the stages into the PassThrough the caller reads. The first error of any stage, explained by that
 * stage (a zlib error becomes ERR_OVL_BAD_LAYER), is what the output is destroyed with — not a later
 * "premature close" from a neighbour being torn down.
 */
function chain(stages: Stage[], signal?: AbortSignal): Readable {
  const out = new PassThrough();
  let first: Error | undefined;
  for (const { stream, explain } of stages) {
    stream.once('error', (err) => {
      first ??= explain ? explain(err) : err;
    });
  }
  const streams = stages.map((s) => s.stream);
  pipeline(streams as unknown as [Readable, PassThrough], (err) => {
    if (err) out.destroy(first ?? err);
  });
  streams[streams.length - 1]!.pipe(out);
  // A reader that gives up early (out.destroy()) must not leave the blob's file descriptor open.
  out.once('close', () => {
    for (const s of streams) if (!s.destroyed) s.destroy();
  });
  if (signal) {
    const abort = () => {
      const reason = signal.reason ?? new Error('aborted');
      first ??= reason;
      out.destroy(reason);
      streams[0]!.destroy(reason);
    };
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
    out.once('close', () => signal.removeEventListener('abort', abort));
  }
  return out;
}
