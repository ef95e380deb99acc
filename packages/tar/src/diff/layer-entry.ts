// One entry of a layer tarball as diff writes it: everything the header says, and where the content is.
// Built from lstat results with fixed, deterministic fields: no user/group names, no atime/ctime, device
// numbers only on devices, whiteouts in the one shape Docker and containers/storage write.
import { readlinkSync } from 'node:fs';
import { WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from '../whiteouts.js';
import type { SourceAt } from './dir-handle.js';
import {
  type EntryStat,
  isBlockDevice,
  isCharDevice,
  isDirectory,
  isFifo,
  isRegular,
  isSymlink,
} from './entry-stat.js';

export type LayerEntryType =
  | 'file'
  | 'directory'
  | 'symlink'
  | 'link'
  | 'character-device'
  | 'block-device'
  | 'fifo';

export interface LayerEntry {
  /** Path inside the layer, no leading `/` or `./`, no trailing `/` (the writer adds it to directories). */
  name: string;
  type: LayerEntryType;
  /** Permission bits with setuid/setgid/sticky (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  mtime: { sec: number; nsec: number };
  /** Content bytes (regular files only). */
  size: number;
  /** Symlink target, or for 'link' the name of the first entry of the hardlink group. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, sorted by name, written as `SCHILY.xattr.<name>` PAX records. */
  xattrs?: ReadonlyArray<readonly [string, Buffer]>;
  /** Where to read a regular file's content. */
  source?: string;
  /**
   * The same file as a name in an open directory of the walk, when there is one: opened relative to it.
   * The entry holds the directory until the encoder releases it (releaseSource).
   */
  sourceAt?: SourceAt;
  /**
   * Xattrs still to be read (`xattrs` is then unset): the upper walk leaves them to whoever reads the
   * content — the content reader lists them on the descriptor it reads from, else the encoder by path.
   */
  pendingXattrs?: PendingXattrs;
}

export interface PendingXattrs {
  /** The file whose xattrs the entry carries. */
  path: string;
  userxattr: boolean;
  /** An overlay upper: overlayfs' redirect/metacopy xattrs make it one diff cannot read natively. */
  native: boolean;
}

function typeOf(st: EntryStat): LayerEntryType | undefined {
  if (isRegular(st)) return 'file';
  if (isDirectory(st)) return 'directory';
  if (isSymlink(st)) return 'symlink';
  if (isCharDevice(st)) return 'character-device';
  if (isBlockDevice(st)) return 'block-device';
  if (isFifo(st)) return 'fifo';
  return undefined; // sockets are not layer content (GNU tar and Docker skip them too)
}

/** The entry for `abs` (already stat-ed), or undefined for sockets. */
export function entryFromStat(
  name: string,
  abs: string,
  st: EntryStat,
  xattrs: LayerEntry['xattrs'],
): LayerEntry | undefined {
  const type = typeOf(st);
  if (!type) return undefined;
  const entry: LayerEntry = {
    name,
    type,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    mtime: st.mtime,
    size: type === 'file' ? st.size : 0,
  };
  if (xattrs && xattrs.length > 0) entry.xattrs = xattrs;
  if (type === 'file') entry.source = abs;
  else if (type === 'symlink') entry.linkname = readlinkSync(abs);
  else if (type === 'character-device' || type === 'block-device') {
    entry.devmajor = st.rdevMajor;
    entry.devminor = st.rdevMinor;
  }
  return entry;
}

/** `dir` + `name` as a layer path ('' is the layer root). */
export function joinName(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/**
 * The whiteout that deletes `name` in `dir`: an empty regular file `.wh.<name>`, mode 0, owned by 0:0,
 * as Docker and containers/storage write them; `mtime` is the deletion's time as far as it is known.
 */
export function whiteoutEntry(dir: string, name: string, mtime: LayerEntry['mtime']): LayerEntry {
  return {
    name: joinName(dir, WHITEOUT_PREFIX + name),
    type: 'file',
    mode: 0,
    uid: 0,
    gid: 0,
    mtime,
    size: 0,
  };
}

/**
 * The opaque marker of directory entry `dir`: an empty regular file carrying the directory's permission
 * bits, owner and mtime, as Docker's overlay whiteout converter writes it.
 */
export function opaqueEntry(dir: Pick<LayerEntry, 'name' | 'mode' | 'uid' | 'gid' | 'mtime'>): LayerEntry {
  return {
    name: joinName(dir.name, WHITEOUT_OPAQUE),
    type: 'file',
    mode: dir.mode & 0o777,
    uid: dir.uid,
    gid: dir.gid,
    mtime: dir.mtime,
    size: 0,
  };
}

/**
 * Turns later members of a hardlink group into 'link' entries naming the first member written, as
 * GNU tar and Docker do. Only entries written into the same layer count.
 */
export class HardlinkTracker {
  private readonly first = new Map<string, string>();

  apply(entry: LayerEntry, st: EntryStat): LayerEntry {
    if (st.nlink < 2 || entry.type === 'directory') return entry;
    const key = `${st.devMajor}:${st.devMinor}:${st.ino}`;
    const target = this.first.get(key);
    if (target === undefined) {
      this.first.set(key, entry.name);
      return entry;
    }
    const { source: _source, ...rest } = entry;
    return { ...rest, type: 'link', size: 0, linkname: target, devmajor: undefined, devminor: undefined };
  }
}
