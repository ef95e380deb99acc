/** Stable error codes of @ovl/overlay (layer-store codes come through from @ovl/store). */
export type OverlayErrorCode =
  | 'ERR_OVL_NOT_SUPPORTED'
  | 'ERR_OVL_INCOMPATIBLE_FS'
  | 'ERR_OVL_LAYER_NOT_FOUND'
  | 'ERR_OVL_READ_ONLY_LAYER'
  | 'ERR_OVL_MOUNT_FAILED';

/** Every error the driver throws itself: a stable `code`, the path concerned, and the `cause`. */
export class OverlayError extends Error {
  readonly code: OverlayErrorCode;
  readonly path?: string;

  constructor(code: OverlayErrorCode, message: string, opts: { path?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'OverlayError';
    this.code = code;
    if (opts.path !== undefined) this.path = opts.path;
  }
}
