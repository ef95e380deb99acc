/**
 * Failures of the aufs driver itself are `AufsError`s with a stable `code`, the layer or path they concern
 * and the underlying error as `cause`; messages say what to do next. Layer bookkeeping errors
 * (ERR_OVL_LAYER_NOT_FOUND, ERR_OVL_LAYER_EXISTS, ERR_OVL_BAD_LAYER_ID, ERR_OVL_MAX_DEPTH) come from
 * @ovl/store as its `StoreError`s, with the same `code` property.
 */
export type AufsErrorCode =
  /** The running kernel has no aufs (nor can `modprobe aufs` load it). */
  | 'ERR_OVL_NOT_SUPPORTED'
  /** A mount plan step failed; what was mounted has been unmounted again. */
  | 'ERR_OVL_MOUNT_FAILED'
  /** Unmounting a layer failed (it stays mounted and counted). */
  | 'ERR_OVL_UNMOUNT_FAILED'
  /** An option this driver cannot honour (e.g. extra mount options). */
  | 'ERR_OVL_BAD_OPTION';

export interface AufsErrorOptions {
  id?: string;
  path?: string;
  /** ERR_OVL_MOUNT_FAILED: index of the plan step that failed */
  step?: number;
  cause?: unknown;
}

export class AufsError extends Error {
  override name = 'AufsError';
  readonly code: AufsErrorCode;
  readonly id: string | undefined;
  readonly path: string | undefined;
  readonly step: number | undefined;

  constructor(code: AufsErrorCode, message: string, options: AufsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.id = options.id;
    this.path = options.path;
    this.step = options.step;
  }
}

export function isAufsError(err: unknown, code?: AufsErrorCode): err is AufsError {
  return err instanceof AufsError && (code === undefined || err.code === code);
}
