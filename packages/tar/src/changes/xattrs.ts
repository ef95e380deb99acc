// Extended attributes of one path, split into the content a layer carries and overlayfs' private
// bookkeeping (trusted.overlay.*, or user.overlay.* with userxattr), which must never leak into a layer.
import { fgetxattr, flistxattr, lgetxattr, llistxattr } from '@ovl/syscall';
import { OVERLAY_USER_XATTR_PREFIX, OVERLAY_XATTR_PREFIX } from '../whiteouts.js';

export interface PathXattrs {
  /** Content xattrs, sorted by name (security.capability, user.*, ...). */
  content: Array<[name: string, value: Buffer]>;
  /** overlayfs' own xattrs by name, with the namespace prefix removed (`opaque`, `redirect`, ...). */
  overlay: Map<string, Buffer>;
}

const EMPTY: PathXattrs = { content: [], overlay: new Map() };

export function readXattrs(path: string, userxattr = false): PathXattrs {
  return readXattrsWith(path, llistxattr, lgetxattr, userxattr);
}

/**
 * `readXattrs` of an open file: on the descriptor a diff reads the content from, no second lookup of its
 * path (on the rootfs, one `llistxattr` by path per file was the walk's most frequent call).
 */
export function readXattrsFd(fd: number, userxattr = false): PathXattrs {
  return readXattrsWith(fd, flistxattr, fgetxattr, userxattr);
}

function readXattrsWith<T>(
  file: T,
  list: (file: T) => string[],
  get: (file: T, name: string) => Buffer | Uint8Array | undefined,
  userxattr: boolean,
): PathXattrs {
  let names: string[];
  try {
    names = list(file);
  } catch (err) {
    // File systems without xattr support (or a file that vanished) have none to carry.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOENT') return EMPTY;
    throw err;
  }
  if (names.length === 0) return EMPTY;
  const values: Array<[string, Uint8Array]> = [];
  for (const name of names) {
    const value = get(file, name);
    if (value !== undefined) values.push([name, value]);
  }
  return splitXattrs(values, userxattr);
}

/**
 * Sorts a file's xattrs by name and splits off overlayfs' own (`trusted.overlay.*`, or `user.overlay.*`
 * with userxattr) from the content a layer carries. Values may be any Uint8Array (from a worker).
 */
export function splitXattrs(
  list: ReadonlyArray<readonly [string, Uint8Array]>,
  userxattr = false,
): PathXattrs {
  if (list.length === 0) return EMPTY;
  const content: Array<[string, Buffer]> = [];
  const overlay = new Map<string, Buffer>();
  for (const [name, raw] of [...list].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const value = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    const ovlPrefix = name.startsWith(OVERLAY_XATTR_PREFIX)
      ? OVERLAY_XATTR_PREFIX
      : userxattr && name.startsWith(OVERLAY_USER_XATTR_PREFIX)
        ? OVERLAY_USER_XATTR_PREFIX
        : undefined;
    if (ovlPrefix) overlay.set(name.slice(ovlPrefix.length), value);
    else content.push([name, value]);
  }
  return { content, overlay };
}

/** True when two content xattr lists hold the same names and values. */
export function sameXattrs(a: PathXattrs['content'], b: PathXattrs['content']): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x[0] !== y[0] || !x[1].equals(y[1])) return false;
  }
  return true;
}

/** True when an overlay opaque xattr says `y` (`x` marks a directory with xwhiteouts, not an opaque one). */
export function isOpaqueValue(value: Buffer | undefined): boolean {
  return value !== undefined && value.length === 1 && value[0] === 0x79;
}
