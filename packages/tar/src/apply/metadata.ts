/** Ownership, permission bits, times and xattrs of one entry, read from its header and PAX records. */
import type { Header } from 'tar-stream';
import { OVERLAY_USER_XATTR_PREFIX, OVERLAY_XATTR_PREFIX } from '../whiteouts.js';
import { mapId } from './id-map.js';
import type { ApplyOptions } from './options.js';
import { entryId, entryTime, paxXattrs } from './pax.js';

export interface EntryMeta {
  uid: number;
  gid: number;
  /** Permission bits with setuid/setgid/sticky (mode & 07777). */
  mode: number;
  /** Whole seconds since the epoch (negative before 1970), with the nanoseconds apart: ns-exact. */
  atime: number;
  atimeNsec: number;
  mtime: number;
  mtimeNsec: number;
  xattrs: Map<string, Buffer> | undefined;
}

export function entryMeta(
  header: Header,
  records: Map<string, Buffer> | undefined,
  options: ApplyOptions,
  entry: string,
): EntryMeta {
  const mtime = entryTime(header, records, 'mtime')!;
  let at = entryTime(header, records, 'atime');
  // Docker's rule: an access time before the modification time is replaced by it.
  if (!at || at.sec < mtime.sec || (at.sec === mtime.sec && at.nsec < mtime.nsec)) at = mtime;
  let xattrs = paxXattrs(records);
  if (xattrs) {
    // overlayfs' private attributes (opaque, redirect, metacopy, origin) are never layer content: a layer
    // that carries them could forge what overlay shows from lower layers.
    for (const name of xattrs.keys()) {
      if (name.startsWith(OVERLAY_XATTR_PREFIX) || name.startsWith(OVERLAY_USER_XATTR_PREFIX))
        xattrs.delete(name);
    }
    if (xattrs.size === 0) xattrs = undefined;
  }
  return {
    uid: mapId(entryId(header, header.uid, records, 'uid'), options.uidMap, 'uid', entry),
    gid: mapId(entryId(header, header.gid, records, 'gid'), options.gidMap, 'gid', entry),
    mode: (header.mode ?? 0o644) & 0o7777,
    atime: at.sec,
    atimeNsec: at.nsec,
    mtime: mtime.sec,
    mtimeNsec: mtime.nsec,
    xattrs,
  };
}
