/** Stable error codes of @ovl/store. */
export type StoreErrorCode =
  | 'ERR_OVL_BAD_LAYER_ID'
  | 'ERR_OVL_LAYER_NOT_FOUND'
  | 'ERR_OVL_LAYER_EXISTS'
  | 'ERR_OVL_MAX_DEPTH'
  | 'ERR_OVL_LOCK_TIMEOUT'
  | 'ERR_OVL_STORE_CORRUPT';

/** Every error the store throws: a stable `code`, the path or layer it concerns, and the `cause`. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  /** the layer ID or file the error is about */
  readonly path?: string;

  constructor(code: StoreErrorCode, message: string, opts: { path?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'StoreError';
    this.code = code;
    if (opts.path !== undefined) this.path = opts.path;
  }
}

/** True for Node fs errors with the given errno code (ENOENT, EEXIST, ...). */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
