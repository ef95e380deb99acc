// What a layer entry needs of a file's stat, as plain numbers: `lstatx` (statx(2) through
// @ovl/syscall) where the kernel has it, Node's `lstat` (bigint) where it does not. The walk of a diff
// stats every entry, and Node's BigIntStats (~15 BigInts a call) cost more than the call itself: over
// the 100,100 paths of the small-files bench 175–183 ms this way against 249–303 ms.
import { type BigIntStats, constants, lstatSync } from 'node:fs';
import { lstatx, lstatxAt, splitDev } from '@ovl/syscall';
import { mtimeOf } from '../changes/fs-entry.js';

export interface EntryStat {
  /** st_mode: type and permission bits. */
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  mtime: { sec: number; nsec: number };
  rdevMajor: number;
  rdevMinor: number;
  /** The file system's device and the inode: who shares content with whom (hardlinks). */
  devMajor: number;
  devMinor: number;
  ino: bigint;
}

/** STATX_TYPE | MODE | NLINK | UID | GID | MTIME | INO | SIZE: what an entry is built from. */
const NEEDED = 0x35f;
/** Once statx is refused (an old kernel, a seccomp filter), lstat serves. */
let noStatx = false;

/** The stat of `path` itself (not a symlink's target); undefined when it (or a parent) is missing. */
export function lstatEntry(path: string): EntryStat | undefined {
  return lstatEntryAt(-1, path, path);
}

/**
 * `lstatEntry` of `name` in the open directory `dirfd` (a walk's directory: no lookup of its parents);
 * `path` is the same file's full path, for Node's lstat where statx is refused. A `dirfd` of -1 means
 * `path` alone.
 */
export function lstatEntryAt(dirfd: number, name: string, path: string): EntryStat | undefined {
  if (!noStatx) {
    try {
      const x = dirfd < 0 ? lstatx(path) : lstatxAt(dirfd, name);
      if ((x.mask & NEEDED) === NEEDED) {
        return {
          mode: x.mode,
          nlink: x.nlink,
          uid: x.uid,
          gid: x.gid,
          size: x.size,
          mtime: { sec: x.mtimeSec, nsec: x.mtimeNsec },
          rdevMajor: x.rdevMajor,
          rdevMinor: x.rdevMinor,
          devMajor: x.devMajor,
          devMinor: x.devMinor,
          ino: x.ino,
        };
      }
      // A file system that leaves a field out: lstat says what it can.
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      if (code === 'ENOSYS' || code === 'EPERM') noStatx = true;
      else throw err;
    }
  }
  let st: BigIntStats;
  try {
    st = lstatSync(path, { bigint: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  return entryStatOf(st);
}

/** An EntryStat from Node's BigIntStats. */
export function entryStatOf(st: BigIntStats): EntryStat {
  const rdev = splitDev(Number(st.rdev));
  const dev = splitDev(Number(st.dev));
  return {
    mode: Number(st.mode),
    nlink: Number(st.nlink),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: Number(st.size),
    mtime: mtimeOf(st),
    rdevMajor: rdev.major,
    rdevMinor: rdev.minor,
    devMajor: dev.major,
    devMinor: dev.minor,
    ino: st.ino,
  };
}

const S_IFMT = constants.S_IFMT;

export const isRegular = (st: EntryStat) => (st.mode & S_IFMT) === constants.S_IFREG;
export const isDirectory = (st: EntryStat) => (st.mode & S_IFMT) === constants.S_IFDIR;
export const isSymlink = (st: EntryStat) => (st.mode & S_IFMT) === constants.S_IFLNK;
export const isCharDevice = (st: EntryStat) => (st.mode & S_IFMT) === constants.S_IFCHR;
export const isBlockDevice = (st: EntryStat) => (st.mode & S_IFMT) === constants.S_IFBLK;
export const isFifo = (st: EntryStat) => (st.mode & S_IFMT) === constants.S_IFIFO;

/** An overlayfs whiteout: a character device with device number 0/0. */
export function isWhiteoutEntryStat(st: EntryStat): boolean {
  return isCharDevice(st) && st.rdevMajor === 0 && st.rdevMinor === 0;
}
