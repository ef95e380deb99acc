/**
 * Every failure of @ovl/tar is a `TarError` with a stable `code`, the entry (or path) it concerns, and the
 * underlying error as `cause`. Messages say what went wrong and what to do next.
 */
export type TarErrorCode =
  /** An entry would write, delete or change something outside the target (../, absolute escape, symlink). */
  | 'ERR_OVL_UNSAFE_PATH'
  /** The stream is not a tar, is truncated, or a header lies (size, checksum, kind). */
  | 'ERR_OVL_BAD_TAR'
  /** A device node entry met `noDevices: true`. */
  | 'ERR_OVL_DEVICE_REFUSED'
  /** A hardlink names a file that does not exist (in this layer, or below in 'flatten'). */
  | 'ERR_OVL_BAD_LINK'
  /** The input uses a compression this package cannot read. */
  | 'ERR_OVL_UNSUPPORTED_COMPRESSION'
  /** A uid/gid has no mapping in the given uidMap/gidMap. */
  | 'ERR_OVL_UNMAPPED_ID'
  /** Writing an entry failed at the file-system level (ENOSPC, EACCES, ...); see `cause`. */
  | 'ERR_OVL_WRITE_FAILED'
  /** A source directory for diff/changes is missing or not a directory. */
  | 'ERR_OVL_BAD_SOURCE'
  /** The operation was aborted through its AbortSignal. */
  | 'ERR_OVL_ABORTED';

export interface TarErrorOptions {
  /** The tar entry name (as it appears in the archive) the error is about. */
  entry?: string;
  /** The file-system path the error is about. */
  path?: string;
  cause?: unknown;
}

export class TarError extends Error {
  override name = 'TarError';
  readonly code: TarErrorCode;
  readonly entry: string | undefined;
  readonly path: string | undefined;

  constructor(code: TarErrorCode, message: string, options: TarErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.entry = options.entry;
    this.path = options.path;
  }
}

export function isTarError(err: unknown, code?: TarErrorCode): err is TarError {
  return err instanceof TarError && (code === undefined || err.code === code);
}
