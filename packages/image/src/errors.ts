/**
 * Every failure of @ovl/image is an `ImageError` with a stable `code`, the blob or file it concerns, and the
 * underlying error as `cause`. Messages say what went wrong and what to do next.
 */
export type ImageErrorCode =
  /** A blob's bytes do not hash to the digest that names it (manifest, config, index or layer). */
  | 'ERR_OVL_BAD_DIGEST'
  /** A layer's uncompressed bytes do not hash to the DiffID the image config lists for it. */
  | 'ERR_OVL_BAD_DIFFID'
  /** A blob the image refers to is not in the layout or archive. */
  | 'ERR_OVL_MISSING_BLOB'
  /** A layer cannot be decompressed: truncated or corrupt gzip/zstd. */
  | 'ERR_OVL_BAD_LAYER'
  /** A descriptor has a media type this package does not read. */
  | 'ERR_OVL_UNSUPPORTED_MEDIA_TYPE'
  /** No manifest in the image matches the wanted platform. */
  | 'ERR_OVL_NO_MATCHING_PLATFORM'
  /** Nothing exists at the path given as the image. */
  | 'ERR_OVL_IMAGE_NOT_FOUND'
  /** The path is not an OCI layout, an OCI layout tar or a docker save archive, or its JSON is malformed. */
  | 'ERR_OVL_BAD_IMAGE'
  /** No image in the layout or archive carries the requested ref (tag / ref.name annotation). */
  | 'ERR_OVL_REF_NOT_FOUND'
  /** Several images match and nothing says which one is meant. */
  | 'ERR_OVL_AMBIGUOUS_IMAGE';

export interface ImageErrorOptions {
  /** The digest of the blob the error is about. */
  digest?: string;
  /** The file (or member of the archive) the error is about. */
  path?: string;
  cause?: unknown;
}

export class ImageError extends Error {
  override name = 'ImageError';
  readonly code: ImageErrorCode;
  readonly digest: string | undefined;
  readonly path: string | undefined;

  constructor(code: ImageErrorCode, message: string, options: ImageErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.digest = options.digest;
    this.path = options.path;
  }
}

export function isImageError(err: unknown, code?: ImageErrorCode): err is ImageError {
  return err instanceof ImageError && (code === undefined || err.code === code);
}
