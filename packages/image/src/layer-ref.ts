import { PassThrough, pipeline, type Readable } from 'node:stream';
import { decompressor } from './decompress.js';
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

export function makeLayerRef(files: ImageFiles, src: LayerSource): LayerRef {
  const what = `layer ${src.index} blob ${src.digest}`;
  const raw = (_opts?: OpenLayerOptions) => [
    files.stream(src.file),
    verifyStream({ digest: src.digest, size: src.size, what }),
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
      return chain(raw(opts), opts?.signal);
    },
    open(opts) {
      const stages = raw(opts);
      if (src.compression !== 'none') stages.push(decompressor(src.compression, src.digest));
      stages.push(
        verifyStream({
          digest: src.diffId,
          code: 'ERR_OVL_BAD_DIFFID',
          what: `layer ${src.index} (blob ${src.digest}, DiffID ${src.diffId})`,
        }),
      );
      return chain(stages, opts?.signal);
    },
  };
}

/**
 * Pipes the stages into a PassThrough the caller reads. The first error of any stage destroys the output with
 * that error (not a later "premature close"), and a missing non-distributable blob says where it should come from.
 */
function chain(stages: Readable[], signal?: AbortSignal): Readable {
  const out = new PassThrough();
  let first: Error | undefined;
  for (const s of stages) s.once('error', (err) => (first ??= err));
  pipeline([...stages, out] as unknown as [Readable, PassThrough], (err) => {
    if (err) out.destroy(first instanceof ImageError ? first : (first ?? err));
  });
  if (signal) {
    const abort = () => out.destroy(signal.reason ?? new Error('aborted'));
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
    out.once('close', () => signal.removeEventListener('abort', abort));
  }
  return out;
}
