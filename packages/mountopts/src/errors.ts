// One error class for everything the planners refuse. The `code` is stable so callers can branch on it;
// the message says what to do next.

export type MountOptsErrorCode =
  /** a path the kernel (or the chosen strategy) cannot take: empty, relative, NUL, an empty component */
  | 'ERR_OVL_BAD_PATH'
  /** no plan keeps every mount(2) data string under one page, or an fsconfig value over 255 bytes */
  | 'ERR_OVL_DATA_TOO_LONG'
  /** an option the kernel or the driver would refuse, or an unknown driver option key */
  | 'ERR_OVL_BAD_OPTION'
  /** more lower layers than the filesystem stacks (overlay: 500) */
  | 'ERR_OVL_MAX_DEPTH';

export interface MountOptsErrorDetails {
  /** the failing path, when one path is to blame */
  path?: string;
  /** the failing option key, for ERR_OVL_BAD_OPTION */
  option?: string;
  /** for ERR_OVL_DATA_TOO_LONG: bytes of the shortest data string the planner could make */
  dataBytes?: number;
  /** for ERR_OVL_DATA_TOO_LONG: the page size the data had to fit in */
  pageSize?: number;
  /** for ERR_OVL_MAX_DEPTH: how many layers were asked for, and the limit */
  depth?: number;
  maxDepth?: number;
  cause?: unknown;
}

export class MountOptsError extends Error {
  readonly code: MountOptsErrorCode;
  declare readonly path?: string;
  declare readonly option?: string;
  declare readonly dataBytes?: number;
  declare readonly pageSize?: number;
  declare readonly depth?: number;
  declare readonly maxDepth?: number;

  constructor(code: MountOptsErrorCode, message: string, details: MountOptsErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'MountOptsError';
    this.code = code;
    if (details.path !== undefined) this.path = details.path;
    if (details.option !== undefined) this.option = details.option;
    if (details.dataBytes !== undefined) this.dataBytes = details.dataBytes;
    if (details.pageSize !== undefined) this.pageSize = details.pageSize;
    if (details.depth !== undefined) this.depth = details.depth;
    if (details.maxDepth !== undefined) this.maxDepth = details.maxDepth;
  }
}
